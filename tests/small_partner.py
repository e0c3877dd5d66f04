"""A small file partner (CSV, semicolon) in a temporary project, for tests of whole deliveries: write a CSV with
``deliver``, run the real stages with ``run``. Used by test_delivery_guards.py and test_quarantine_replay.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml
from regiowerk import pipeline
from regiowerk.errors import DeliveryError
from regiowerk.pseudonymise import elfproef

PARTNER_ID = "klein_gemeente"
PARTNER = {
    "partner_id": PARTNER_ID, "naam": "Kleine gemeente (tests)", "kind": "gemeente", "regio_code": "AM21",
    "gemeente_code": "GM0503", "contact": "x@example.org", "schedule": "0 7 * * *",
    "connector": {"type": "file", "format": "csv", "delimiter": ";"},
    "datasets": {"werkzoekenden": {
        "source": "clienten_*.csv", "ignore_columns": ["naam"],
        "columns": {"bsn": "bsn", "gemeente_code": "gemeente", "postcode": "postcode",
                    "geboortedatum": "geboortedatum", "regeling": "regeling", "status": "status",
                    "peildatum": "peildatum"},
        "values": {"regeling": {"PW": "participatiewet", "IOAW": "ioaw"}, "status": {"actief": "actief"}}}},
}
HEADER = "bsn;naam;gemeente;postcode;geboortedatum;regeling;status;peildatum"


def bsns(n: int, start: int = 100_000_000) -> list[str]:
    """``n`` distinct BSNs that pass the elfproef."""
    return list(itertools.islice((f"{i:09d}" for i in itertools.count(start) if elfproef(f"{i:09d}")), n))


def row(bsn: str, regeling: str = "PW", naam: str = "Jan Janssen", peildatum: str = "2026-10-31") -> str:
    return f"{bsn};{naam};GM0503;2611AB;1990-05-01;{regeling};actief;{peildatum}"


class SmallPartner:
    def __init__(self, root: Path, monkeypatch):
        self.root = root
        for name in ("partners", f"drop/{PARTNER_ID}", "data"):
            (root / name).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(root / "partners"))
        monkeypatch.setenv("REGIOWERK_DROP_DIR", str(root / "drop"))
        monkeypatch.setenv("REGIOWERK_DATA_DIR", str(root / "data"))
        monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(root / "warehouse.duckdb"))
        self.write_partner()

    def write_partner(self, **dataset_changes) -> None:
        data = yaml.safe_load(yaml.safe_dump(PARTNER))
        for key, value in dataset_changes.items():
            if isinstance(value, dict) and isinstance(data["datasets"]["werkzoekenden"].get(key), dict):
                data["datasets"]["werkzoekenden"][key].update(value)
            else:
                data["datasets"]["werkzoekenden"][key] = value
        (self.root / "partners" / f"{PARTNER_ID}.yml").write_text(yaml.safe_dump(data), encoding="utf-8")

    def deliver(self, rows: list[str]) -> None:
        """The partner's current export (replaces the previous one in the drop zone)."""
        folder = self.root / "drop" / PARTNER_ID
        for old in folder.glob("*.csv"):
            old.unlink()
        (folder / "clienten_2026-10-31.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    def run(self) -> dict | DeliveryError:
        """extract -> pseudonymise -> validate -> load, recording a rejection as the DAG does."""
        try:
            d = pipeline.extract(PARTNER_ID, "werkzoekenden")
            return pipeline.load(pipeline.validate(pipeline.pseudonymise(d)))
        except DeliveryError as e:
            pipeline.record_rejection(PARTNER_ID, "werkzoekenden", e)
            return e

"""Schema drift at the door (regiowerk.drift): unexpected columns reject a delivery unless the partner file
lists them in ignore_columns, and ignored columns (names, addresses) never reach staging, landing, the warehouse
or the quarantine."""

from __future__ import annotations

import pytest
import yaml
from regiowerk import drift, pipeline, warehouse
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner, RegistryError, load_partner

PARTNER = {
    "partner_id": "drift_gemeente", "naam": "Drift gemeente", "kind": "gemeente", "regio_code": "AM21",
    "gemeente_code": "GM0503", "contact": "x@example.org", "schedule": "0 7 * * *",
    "connector": {"type": "file", "format": "csv", "delimiter": ";"},
    "datasets": {"werkzoekenden": {
        "source": "clienten_*.csv", "ignore_columns": ["naam", "adres"],
        "columns": {"bsn": "bsn", "gemeente_code": "gemeente", "postcode": "postcode",
                    "geboortedatum": "geboortedatum", "regeling": "regeling", "status": "status",
                    "peildatum": "peildatum"},
        "values": {"regeling": {"PW": "participatiewet"}, "status": {"actief": "actief"}}}},
}
HEADER = ["_bron_rij", "bsn", "naam", "adres", "gemeente", "postcode", "geboortedatum", "regeling", "status",
          "peildatum"]


def _partner(**dataset_overrides) -> Partner:
    data = yaml.safe_load(yaml.safe_dump(PARTNER))
    data["datasets"]["werkzoekenden"].update(dataset_overrides)
    return Partner.model_validate(data)


def test_known_columns_pass():
    drift.check_columns(HEADER, _partner(), "werkzoekenden", "f.csv")


def test_unexpected_column_rejects_by_default_and_names_partner_file_and_column():
    with pytest.raises(DeliveryError) as e:
        drift.check_columns([*HEADER, "telefoon"], _partner(), "werkzoekenden", "clienten_1.csv")
    msg = str(e.value)
    assert e.value.column == "telefoon"
    assert "partner drift_gemeente, dataset werkzoekenden, source clienten_1.csv, column 'telefoon'" in msg
    assert "ignore_columns" in msg


def test_strict_columns_false_allows_unknown_columns():
    drift.check_columns([*HEADER, "telefoon"], _partner(strict_columns=False), "werkzoekenden", "f.csv")


def test_rename_is_named():
    renamed = [("Post code" if c == "postcode" else c) for c in HEADER]
    with pytest.raises(DeliveryError) as e:
        drift.check_columns(renamed, _partner(), "werkzoekenden", "f.csv")
    assert "'Post code' looks like a rename of 'postcode'" in str(e.value)
    assert e.value.column == "postcode"


def test_extra_column_close_to_an_ignored_one_is_named():
    with pytest.raises(DeliveryError) as e:
        drift.check_columns([*HEADER, "Adres "], _partner(), "werkzoekenden", "f.csv")
    assert "'Adres ' looks like a rename of 'adres'" in str(e.value)


def test_ignored_and_mapped_column_is_a_registry_error(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(PARTNER))
    data["datasets"]["werkzoekenden"]["ignore_columns"] = ["naam", "bsn"]
    f = tmp_path / "drift_gemeente.yml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"ignore_columns\.bsn: also mapped in columns"):
        load_partner(f)


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("partners", "drop/drift_gemeente", "data"):
        (tmp_path / name).mkdir(parents=True)
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    (tmp_path / "partners" / "drift_gemeente.yml").write_text(yaml.safe_dump(PARTNER), encoding="utf-8")
    return tmp_path


def test_ignored_personal_columns_are_never_stored(env):
    rows = ["bsn;naam;adres;gemeente;postcode;geboortedatum;regeling;status;peildatum",
            "100000010;Zwaantje Zonderland;Kerkstraat 99;GM0503;2611AB;1990-05-01;PW;actief;2026-10-31",
            "100000022;Xander Xylofoon;Dorpsweg 77;GM0503;2611AB;1990-05-01;ONBEKEND;actief;2026-10-31"]
    (env / "drop" / "drift_gemeente" / "clienten_1.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    d = pipeline.extract("drift_gemeente", "werkzoekenden")
    staged = pipeline._fernet("AM21").decrypt(pipeline._staging_file(pipeline.Delivery.from_xcom(d)).read_bytes())
    for clear in (b"Zonderland", b"Kerkstraat", b"Xylofoon", b"naam", b"adres"):
        assert clear not in staged  # dropped before the (encrypted) hand-over
    d = pipeline.load(pipeline.validate(pipeline.pseudonymise(d)))
    assert (d["rows_loaded"], d["rows_quarantined"]) == (1, 1)
    stored = [p for p in (env / "data").rglob("*") if p.is_file()] + [env / "warehouse.duckdb"]
    for path in stored:
        data = path.read_bytes()
        for clear in (b"Zonderland", b"Kerkstraat", b"Xylofoon", b"Dorpsweg", b"100000010"):
            assert clear not in data, f"{clear!r} in {path}"
    con = warehouse.connect(read_only=True)
    try:
        q = con.execute("SELECT waarden FROM audit.quarantine").fetchall()
    finally:
        con.close()
    assert len(q) == 1 and "Xylofoon" not in q[0][0]

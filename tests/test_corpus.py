"""The bad-input corpus (tests/corpus/cases.yml) through the real stages extract -> pseudonymise -> validate -> load.

Every case gets its own partners dir (the case's partner template, with overrides), drop zone, data dir and
warehouse. A case is either rejected as a whole (audit.deliveries says so, nothing reaches raw or quarantine) or
loaded with exactly the expected rows quarantined for the expected reasons, and the counts reconcile:
received = loaded + quarantined.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from regiowerk import canonical, pipeline, warehouse
from regiowerk.errors import DeliveryError

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = yaml.safe_load((CORPUS / "cases.yml").read_text(encoding="utf-8"))
CASES = MANIFEST["cases"]
API_SECRET = "corpus-secret"


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def partner_yaml(case: dict) -> dict:
    data = yaml.safe_load((CORPUS / "partners" / f"{case['partner']}.yml").read_text(encoding="utf-8"))
    overrides = dict(case.get("overrides") or {})
    dataset = case.get("dataset", "werkzoekenden")
    if "connector" in overrides:
        data["connector"] = _merge(data["connector"], overrides.pop("connector"))
    data["datasets"] = {dataset: _merge(data["datasets"][dataset], overrides)}
    return data


def big_field_csv(megabytes: int) -> bytes:
    """ok.csv with a huge unmapped value in row 2 (loaded: the column is dropped) and in a mapped one in row 3."""
    lines = (CORPUS / "files" / "ok.csv").read_text(encoding="utf-8").splitlines()
    huge = "x" * (megabytes * 1024 * 1024)
    row2 = lines[1].split(";")
    row2[1] = huge
    row3 = lines[2].split(";")
    row3[5] = huge
    return "\n".join([lines[0], ";".join(row2), ";".join(row3), lines[3]]).encode() + b"\n"


def write_xlsx(path: Path, spec: dict) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = spec.get("sheet", "Sheet1")
    for row in spec["rows"]:
        ws.append(list(row))
    for cells in spec.get("merge", []):
        ws.merge_cells(cells)
    wb.save(path)
    if spec.get("tamper") or spec.get("pad_mb"):
        _tamper_xlsx(path, spec.get("tamper"), spec.get("pad_mb", 0))


def _tamper_xlsx(path: Path, tamper: str | None, pad_mb: int) -> None:
    """Rewrite a saved workbook: an external entity or broken XML in the first sheet, or an extra zip member of
    ``pad_mb`` MB (zeros: tiny packed, big unpacked)."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            if info.filename == "xl/worksheets/sheet1.xml" and tamper == "external_entity":
                body = data.decode("utf-8")
                body = body.split("?>", 1)[1] if body.startswith("<?xml") else body
                data = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
                        + body.replace("<v>", "<v>&leak;", 1)).encode("utf-8")
            elif info.filename == "xl/worksheets/sheet1.xml" and tamper == "broken_xml":
                data = data[: len(data) // 2]
            zout.writestr(info, data)
        if pad_mb:
            zout.writestr("xl/media/padding.bin", b"\0" * (pad_mb * 1024 * 1024))


def write_sqlite(path: Path, spec: dict) -> None:
    columns = spec["columns"]
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(f"CREATE TABLE {spec['table']} ({', '.join(columns)})")
        db.executemany(f"INSERT INTO {spec['table']} VALUES ({', '.join('?' * len(columns))})",
                       [tuple(r) for r in spec["rows"]])


@pytest.fixture
def corpus_env(tmp_path, monkeypatch):
    for name in ("partners", "drop", "data"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp_path / "drop"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)  # these assertions read the DuckDB warehouse
    return tmp_path


def stage_input(case: dict, partner: dict, tmp: Path, monkeypatch, servers: list) -> None:
    kind = case["connector"]
    dataset = case.get("dataset", "werkzoekenden")
    if kind in ("file", "xlsx"):
        folder = tmp / "drop" / (partner["connector"].get("directory") or partner["partner_id"])
        folder.mkdir(parents=True)
        glob = partner["datasets"][dataset]["source"]
        target = folder / glob.replace("*", "2026-10-31")
        spec = case["input"]
        if kind == "xlsx":
            write_xlsx(target, spec)
        elif isinstance(spec, dict):
            assert spec["generate"] == "big_field"
            target.write_bytes(big_field_csv(spec["megabytes"]))
        else:
            shutil.copyfile(CORPUS / "files" / spec, target)
    elif kind == "rest":
        from regiowerk.demo.uwv_api import UwvApiServer

        records = json.loads((CORPUS / "rest" / case["input"]).read_text(encoding="utf-8"))
        api = UwvApiServer(records, client_secret=API_SECRET).start()
        servers.append(api)
        for fault in case.get("faults", []):
            api.faults.append(tuple(fault))
        monkeypatch.setenv(f"AIRFLOW_CONN_{partner['connector']['conn_id'].upper()}", json.dumps(
            {"conn_type": "http", "host": api.url, "login": "regiowerk-demo", "password": API_SECRET}))
    elif kind == "sql":
        db = tmp / "partner.sqlite"
        write_sqlite(db, case["input"])
        monkeypatch.setenv(f"AIRFLOW_CONN_{partner['connector']['conn_id'].upper()}", f"sqlite:///{db}")
    else:
        raise AssertionError(f"unknown connector {kind}")


def run_stages(partner_id: str, dataset: str) -> DeliveryError | dict:
    try:
        d = pipeline.extract(partner_id, dataset)
        d = pipeline.pseudonymise(d)
        d = pipeline.validate(d)
        return pipeline.load(d)
    except DeliveryError as e:
        pipeline.record_rejection(partner_id, dataset, e)
        return e


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, corpus_env, monkeypatch):
    tmp = corpus_env
    partner = partner_yaml(case)
    partner_id = partner["partner_id"]
    dataset = case.get("dataset", "werkzoekenden")
    (tmp / "partners" / f"{partner_id}.yml").write_text(yaml.safe_dump(partner, sort_keys=False), encoding="utf-8")
    servers: list = []
    try:
        stage_input(case, partner, tmp, monkeypatch, servers)
        outcome = run_stages(partner_id, dataset)
    finally:
        for api in servers:
            api.stop()
    expected = case["expected"]

    con = warehouse.connect(read_only=True)
    try:
        deliveries = con.execute("SELECT status, message, rows_received, rows_loaded, rows_quarantined "
                                 "FROM audit.deliveries WHERE partner_id = ? AND dataset = ?",
                                 [partner_id, dataset]).fetchall()
        quarantine = con.execute("SELECT bron_rij, redenen, waarden FROM audit.quarantine WHERE partner_id = ? "
                                 "ORDER BY bron_rij", [partner_id]).fetchall()
        raw = con.execute(f"SELECT * FROM {warehouse.raw_table(dataset)} WHERE partner_id = ?",
                          [partner_id]).fetchdf()
    finally:
        con.close()
    assert len(deliveries) == 1, deliveries
    status, message, received, loaded, quarantined = deliveries[0]

    if "rejected" in expected:
        assert isinstance(outcome, DeliveryError), f"expected a rejection, got {outcome}"
        assert status == "rejected"
        assert expected["rejected"] in message, message
        assert f"partner {partner_id}, dataset {dataset}" in message
        assert (received, loaded, quarantined) == (0, 0, 0)
        assert quarantine == [] and raw.empty
        return

    assert not isinstance(outcome, DeliveryError), f"unexpected rejection: {outcome}"
    assert status == "loaded", message
    assert (received, loaded, quarantined) == (expected["received"], expected["loaded"],
                                               len(expected["quarantined"]))
    assert received == loaded + quarantined
    assert len(raw) == loaded
    assert outcome["rows_received"] == received
    got = {int(bron_rij): redenen for bron_rij, redenen, _ in quarantine}
    assert set(got) == {int(k) for k in expected["quarantined"]}, got
    for bron_rij, substrings in expected["quarantined"].items():
        for text in substrings:
            assert text in got[int(bron_rij)], f"row {bron_rij}: {text!r} not in {got[int(bron_rij)]!r}"
    for column, values in expected.get("raw_values", {}).items():
        assert set(values) <= set(raw[column]), list(raw[column])
    # Formula-like text is never quoted bare in a reason: a quoted value starting with = + @ gets a leading '.
    for redenen in got.values():
        assert not re.search(r"(?:: |code )'[=+@]", redenen), redenen
    # Nothing personal in clear: the quarantine keeps canonical (pseudonymised, minimised) values only.
    ds = canonical.dataset(dataset)
    for _, _, waarden in quarantine:
        assert set(json.loads(waarden)) <= set(ds.stored_names)
    if case["connector"] == "sql":
        with closing(sqlite3.connect(tmp / "partner.sqlite")) as db:  # the partner's table is untouched
            n = db.execute(f"SELECT count(*) FROM {case['input']['table']}").fetchone()[0]
        assert n == len(case["input"]["rows"])


def test_corpus_is_broad():
    """The corpus covers every connector and both outcomes, and names are unique."""
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 25
    assert {c["connector"] for c in CASES} == {"file", "xlsx", "rest", "sql"}
    assert sum("rejected" in c["expected"] for c in CASES) >= 8
    assert sum(bool(c["expected"].get("quarantined")) for c in CASES) >= 8

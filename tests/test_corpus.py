"""The bad-input corpus (tests/corpus/cases.yml) through the real stages extract -> pseudonymise -> validate -> load.

Every case gets its own partners dir (the case's partner template, with overrides), drop zone, data dir and
warehouse. A case is either rejected as a whole (audit.deliveries says so, nothing reaches raw or quarantine) or
loaded with exactly the expected rows quarantined for the expected reasons, and the counts reconcile:
received = loaded + quarantined.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
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


def write_case_partner(case: dict, tmp: Path, partner_id: str | None = None) -> dict:
    """The case's partner (template with the case's overrides) written into ``tmp/partners``: the one way both
    the per-case run and the whole-corpus run build it. ``partner_id`` renames the partner (the whole-corpus
    run gives every case its own, so a case's file is never taken for another case's delivery that is already
    loaded in the shared warehouse: the same bytes would be recognised by fingerprint and not read again, and
    the case's overrides would never apply)."""
    partner = partner_yaml(case)
    if partner_id is not None:
        partner["partner_id"] = partner_id
    (tmp / "partners" / f"{partner['partner_id']}.yml").write_text(yaml.safe_dump(partner, sort_keys=False),
                                                                    encoding="utf-8")
    return partner


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
    if spec.get("generate") == "broken_sheet_xml":  # the sheet's XML cut in half: a parser error, not a zip error
        import zipfile

        original = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(path, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    data = data[: len(data) // 2]
                zout.writestr(info, data)
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
        folder.mkdir(parents=True, exist_ok=True)
        glob = partner["datasets"][dataset]["source"]
        target = folder / (case.get("input_name") or glob.replace("*", "2026-10-31"))
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


def stage_previous(case: dict, partner: dict, tmp: Path) -> int:
    """Drop the case's ``previous`` file under the dataset's usual name; returns its data rows."""
    folder = tmp / "drop" / partner["partner_id"]
    folder.mkdir(parents=True, exist_ok=True)
    source = CORPUS / "files" / case["previous"]
    shutil.copyfile(source, folder / "clienten_2026-10-31.csv")
    return len(source.read_text(encoding="utf-8").splitlines()) - 1


def alert_text(error: DeliveryError, partner_id: str, dataset: str) -> str:
    """The failure alert the partner DAG's callback would log and post for this rejection."""
    from regiowerk import alerts

    return alerts.build_alert({"exception": error, "dag_id": f"partner_{partner_id}", "run_id": "corpus"}).text()


def self_check(case: dict, partner: dict, tmp: Path, dataset: str, capsys) -> str:
    """``regiowerk check`` on the case's file (terminal and HTML): a rejected delivery exits 2 with one line and
    no traceback; the output is returned for the personal-value scan."""
    from regiowerk import selfcheck

    folder = tmp / "drop" / (partner["connector"].get("directory") or partner["partner_id"])
    name = case.get("input_name") or partner["datasets"][dataset]["source"].replace("*", "2026-10-31")
    html_path = tmp / "data" / "check.html"
    capsys.readouterr()
    code = selfcheck.main([str(folder / name), "--partner", partner["partner_id"], "--dataset", dataset,
                           "--html", str(html_path)])
    out, err = capsys.readouterr()
    if "rejected" in case["expected"]:
        assert code == 2, out + err
        assert "Traceback" not in out + err
        reason = [line for line in out.splitlines() if line.startswith("reden: ")]
        assert len(reason) == 1 and case["expected"]["rejected"] in reason[0], out
    else:
        assert code in (0, 1), out + err
    return out + err + html_path.read_text(encoding="utf-8")


# What must never be found after a case: a BSN (8 or 9 digits or a display form, passing the elfproef), a full
# postcode, a birth date (the corpus's persons are born 1900-2009; every other date in it lies in 2025-2030).
_BIRTH_DATE = re.compile(r"(?<![0-9])(?:(?:19[0-9]{2}|200[0-9])[-/.][0-9]{1,2}[-/.][0-9]{1,2}|"
                         r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.](?:19[0-9]{2}|200[0-9]))(?![0-9])")
_POSTCODE_ANY = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{3} ?[A-Za-z]{2}(?![0-9A-Za-z])")


def personal_values_in(text: str) -> list[str]:
    from regiowerk import masking

    found = [m.group(0) for m in masking.BSN_IN_TEXT.finditer(text)
             if masking.elfproef_digits(re.sub(r"[^0-9]", "", m.group(0)))]
    found += [m.group(0) for m in _POSTCODE_ANY.finditer(text) if masking.is_postcode(m.group(0))
              and (m.group(0)[4] != " " or m.group(0)[5:].isupper())]
    found += [m.group(0) for m in _BIRTH_DATE.finditer(text)]
    return found


def assert_nothing_personal(tmp: Path, texts: list[str]) -> None:
    """Every output of the case holds no BSN, full postcode or birth date: the warehouse tables, every file in
    the data folder (landing Parquet, validation reports, markers, staging leftovers), logs, alert and check
    output."""
    import duckdb
    import pyarrow.parquet as pq

    outputs = list(texts)
    if (tmp / "warehouse.duckdb").exists():
        con = duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True)
        try:
            tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            for schema, table in tables:
                rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                outputs.append(f"{schema}.{table}: " + " | ".join(map(str, rows)))
        finally:
            con.close()
    for path in (tmp / "data").rglob("*"):
        if not path.is_file() or path.suffix == ".enc":  # encrypted staging: no clear text to find
            continue
        if path.suffix == ".parquet":
            outputs.append(f"{path}: {pq.read_table(path).to_pylist()}")
        else:
            outputs.append(f"{path}: {path.read_text(encoding='utf-8', errors='replace')}")
    for text in outputs:
        found = personal_values_in(text)
        assert not found, f"personal values {found[:5]} in {text[:300]}"


def test_scan_finds_what_it_must():
    """The scan itself is not blind: each kind of planted value is found, the masked forms are not."""
    assert personal_values_in("x 100000010 y") == ["100000010"]
    assert personal_values_in("1000.00.010, 2611AB, 2611 AB, 1990-05-01, 01-05-1990") == [
        "1000.00.010", "2611AB", "2611 AB", "1990-05-01", "01-05-1990"]
    assert personal_values_in("(value masked) 100000011 2026-10-31 row 1500 at 0a100000010b") == []


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, corpus_env, monkeypatch, caplog, capsys):
    tmp = corpus_env
    partner = write_case_partner(case, tmp)
    partner_id = partner["partner_id"]
    dataset = case.get("dataset", "werkzoekenden")
    servers: list = []
    caplog.set_level(logging.DEBUG)
    previous_rows = 0
    try:
        if case.get("previous"):  # an earlier delivery, loaded before the one under test
            first = stage_previous(case, partner, tmp)
            assert run_stages(partner_id, dataset)["status"] == "loaded"
            previous_rows = first
            os.utime(tmp / "drop" / partner_id / "clienten_2026-10-31.csv", ns=(10**18, 10**18))
        stage_input(case, partner, tmp, monkeypatch, servers)
        if case.get("previous"):  # the new file is modified after the loaded one
            later = 10**18 + 10**9
            os.utime(tmp / "drop" / partner_id / case["input_name"], ns=(later, later))
        outcome = run_stages(partner_id, dataset)
    finally:
        for api in servers:
            api.stop()
    expected = case["expected"]
    texts = [caplog.text]
    if isinstance(outcome, DeliveryError):
        texts.append(alert_text(outcome, partner_id, dataset))
    if case["connector"] in ("file", "xlsx") and case.get("check") != "pipeline_only":
        texts.append(self_check(case, partner, tmp, dataset, capsys))
    assert_nothing_personal(tmp, texts)

    con = warehouse.connect(read_only=True)
    try:
        deliveries = con.execute("SELECT status, message, rows_received, rows_loaded, rows_quarantined "
                                 "FROM audit.deliveries WHERE partner_id = ? AND dataset = ? ORDER BY received_at",
                                 [partner_id, dataset]).fetchall()
        quarantine = con.execute("SELECT bron_rij, redenen, waarden FROM audit.quarantine WHERE partner_id = ? "
                                 "ORDER BY bron_rij", [partner_id]).fetchall()
        raw = con.execute(f"SELECT * FROM {warehouse.raw_table(dataset)} WHERE partner_id = ?",
                          [partner_id]).fetchdf()
    finally:
        con.close()
    if case.get("previous"):  # the previous delivery loaded; the one under test is the second row
        assert len(deliveries) == 2 and deliveries[0][0] == "loaded", deliveries
        deliveries = deliveries[1:]
    assert len(deliveries) == 1, deliveries
    status, message, received, loaded, quarantined = deliveries[0]

    if "rejected" in expected:
        assert isinstance(outcome, DeliveryError), f"expected a rejection, got {outcome}"
        assert status == "rejected"
        assert expected["rejected"] in message, message
        assert f"partner {partner_id}, dataset {dataset}" in message
        assert (received, loaded, quarantined) == (0, 0, 0)
        assert quarantine == [] and len(raw) == previous_rows
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


def test_whole_corpus_on_postgres_leaves_nothing_personal(tmp_path, monkeypatch, caplog):
    """The whole corpus into one PostgreSQL warehouse (a real server), then every table of it is scanned: no BSN,
    full postcode or birth date anywhere, and every case that must be rejected left its own `rejected` row."""
    import psycopg2
    from pg_server import fresh_database

    url = fresh_database("rw_corpus")
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", url)
    caplog.set_level(logging.DEBUG)
    rejected_cases = 0
    for number, case in enumerate(CASES):
        tmp = tmp_path / case["id"]
        for name in ("partners", "drop", "data"):
            (tmp / name).mkdir(parents=True)
        monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp / "partners"))
        monkeypatch.setenv("REGIOWERK_DROP_DIR", str(tmp / "drop"))
        monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp / "data"))
        partner = write_case_partner(case, tmp, partner_id=f"{case['partner']}_c{number:03d}")
        dataset = case.get("dataset", "werkzoekenden")
        servers: list = []
        try:
            if case.get("previous"):
                stage_previous(case, partner, tmp)
                run_stages(partner["partner_id"], dataset)
                os.utime(tmp / "drop" / partner["partner_id"] / "clienten_2026-10-31.csv", ns=(10**18, 10**18))
            stage_input(case, partner, tmp, monkeypatch, servers)
            if case.get("previous"):
                later = 10**18 + 10**9
                os.utime(tmp / "drop" / partner["partner_id"] / case["input_name"], ns=(later, later))
            outcome = run_stages(partner["partner_id"], dataset)
        finally:
            for api in servers:
                api.stop()
        expected = case["expected"]
        if "rejected" in expected:
            assert isinstance(outcome, DeliveryError), (case["id"], outcome)
            assert expected["rejected"] in str(outcome), (case["id"], str(outcome))
            rejected_cases += 1
        else:  # loaded as in the per-case run: read (not taken for another case's delivery), same counts
            assert not isinstance(outcome, DeliveryError), (case["id"], str(outcome))
            assert outcome["status"] == "loaded", (case["id"], outcome)
            assert (outcome["rows_received"], outcome["rows_loaded"], outcome["rows_quarantined"]) == (
                expected["received"], expected["loaded"], len(expected["quarantined"])), (case["id"], outcome)
        assert_nothing_personal(tmp, [])  # landing files and reports of this case
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM audit.deliveries WHERE status = 'rejected'")
            assert cur.fetchone()[0] == rejected_cases
            cur.execute("SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
            tables = cur.fetchall()
            assert ("audit", "quarantine") in tables and ("raw", "werkzoekenden") in tables
            texts = [caplog.text]
            for schema, table in tables:
                cur.execute(f'SELECT * FROM "{schema}"."{table}"')
                texts.append(f"{schema}.{table}: " + " | ".join(map(str, cur.fetchall())))
    finally:
        conn.close()
    for text in texts:
        found = personal_values_in(text)
        assert not found, f"personal values {found[:5]} in {text[:300]}"

"""Delivery-level guards that need the warehouse: a row count that drops too far (max_row_drop) rejects a full
delivery, a delivery already loaded is recognised right after extract and not processed again, and rejections
are recorded in audit.deliveries on DuckDB and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
from pg_server import fresh_database
from regiowerk import pipeline, warehouse
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner
from small_partner import PARTNER_ID, SmallPartner, bsns, row


@pytest.fixture
def small(tmp_path, monkeypatch):
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    return SmallPartner(tmp_path, monkeypatch)


def _duck(sql: str, params=()):
    con = warehouse.connect(read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_row_drop_rejects_the_delivery_and_keeps_the_last_good_data(small):
    people = bsns(10)
    small.deliver([row(b) for b in people])
    first = small.run()
    assert first["status"] == "loaded" and first["rows_loaded"] == 10

    small.deliver([row(b, peildatum="2026-11-15") for b in people[:4]])  # 60% fewer rows
    outcome = small.run()
    assert isinstance(outcome, DeliveryError)
    message = str(outcome)
    assert f"partner {PARTNER_ID}, dataset werkzoekenden, source " in message and "clienten_2026-10-31.csv" in message
    assert "row count dropped from 10" in message and "to 4 (60% fewer)" in message
    assert first["delivery_id"] in message
    assert "max_row_drop 0.5" in message and f"partners/{PARTNER_ID}.yml" in message
    # nothing of it loaded, the last good delivery stays, the rejection is recorded
    assert _duck("SELECT delivery_id, count(*) FROM raw.werkzoekenden GROUP BY 1") == [(first["delivery_id"], 10)]
    statuses = sorted(r[0] for r in _duck("SELECT status FROM audit.deliveries"))
    assert statuses == ["loaded", "rejected"]
    assert _duck("SELECT count(*) FROM audit.quarantine") == [(0,)]

    small.write_partner(max_row_drop=None)  # switched off: the smaller delivery loads
    again = small.run()
    assert again["status"] == "loaded" and again["rows_loaded"] == 4


def test_a_drop_within_the_setting_loads(small):
    people = bsns(10)
    small.deliver([row(b) for b in people])
    small.run()
    small.deliver([row(b, peildatum="2026-11-15") for b in people[:6]])  # 40% fewer: within 0.5
    assert small.run()["status"] == "loaded"


def _delivery(full: bool, rows: int) -> pipeline.Delivery:
    return pipeline.Delivery(partner_id=PARTNER_ID, dataset="werkzoekenden", delivery_id=f"d{rows}{full}",
                             regio_code="AM21", source="api", fingerprint="f", received_at="2026-11-01T00:00:00",
                             rows_received=rows, full=full)


def test_row_drop_check_applies_to_full_deliveries_only_unless_configured(small):
    from small_partner import PARTNER

    con = warehouse.connect()
    try:
        warehouse.ensure_schema(con)
        warehouse.insert_delivery(con, partner_id=PARTNER_ID, dataset="werkzoekenden", delivery_id="prev",
                                  regio_code="AM21", source="api", fingerprint="p", received_at="2026-10-01",
                                  loaded_at="2026-10-01", rows_received=1000, rows_loaded=1000, rows_quarantined=0,
                                  status="loaded", volledig=True)
        partner = Partner.model_validate(PARTNER)
        pipeline.check_row_drop(con, _delivery(full=False, rows=3), partner)  # a delta: never compared
        with pytest.raises(DeliveryError, match="row count dropped from 1000"):
            pipeline.check_row_drop(con, _delivery(full=True, rows=3), partner)
        data = {**PARTNER, "datasets": {"werkzoekenden": {**PARTNER["datasets"]["werkzoekenden"],
                                                           "row_drop_check": "all"}}}
        with pytest.raises(DeliveryError, match="row count dropped from 1000"):
            pipeline.check_row_drop(con, _delivery(full=False, rows=3), Partner.model_validate(data))
    finally:
        con.close()


def test_incremental_extract_after_a_watermark_is_not_full(tmp_path, monkeypatch):
    """A sql dataset with a watermark_column: the first extract is full, the next ones are deltas."""
    import sqlite3
    from contextlib import closing

    import yaml

    db = tmp_path / "sis.sqlite"
    with closing(sqlite3.connect(db)) as c, c:
        c.execute("CREATE TABLE deelnemers (BSN, WOONGEMEENTE, BRIN, CREBO, NIVEAU, LEERWEG, STARTDATUM, STATUS, "
                  "PEILDATUM, GEWIJZIGD_OP)")
        c.execute("INSERT INTO deelnemers VALUES (?, 'GM0503', '25LJ', '25180', 2, 'BOL', '2026-09-01', 'ING', "
                  "'2026-10-31', '2026-10-01 10:00:00')", (bsns(1)[0],))
    partner = yaml.safe_load(Path("tests/corpus/partners/corpus_mbo.yml").read_text(encoding="utf-8"))
    partner["datasets"] = {"mbo_inschrijvingen": {**partner["datasets"]["mbo_inschrijvingen"],
                                                  "watermark_column": "GEWIJZIGD_OP"}}
    (tmp_path / "partners").mkdir()
    (tmp_path / "partners" / "corpus_mbo.yml").write_text(yaml.safe_dump(partner), encoding="utf-8")
    monkeypatch.setenv("REGIOWERK_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("REGIOWERK_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_CORPUS_MBO", f"sqlite:///{db}")
    first = pipeline.extract("corpus_mbo", "mbo_inschrijvingen")
    assert first["full"] is True
    pipeline.load(pipeline.validate(pipeline.pseudonymise(first)))
    assert _duck("SELECT volledig FROM audit.deliveries") == [(True,)]
    second = pipeline.extract("corpus_mbo", "mbo_inschrijvingen")
    assert second["full"] is False


def test_unchanged_delivery_is_recognised_after_extract_and_not_reprocessed(small, monkeypatch):
    small.deliver([row(b) for b in bsns(5)] + [row(bsns(1, 200_000_000)[0], regeling="XX")])
    first = small.run()
    assert (first["status"], first["rows_loaded"], first["rows_quarantined"]) == ("loaded", 5, 1)

    def must_not_run(*args, **kwargs):
        raise AssertionError("an already loaded delivery was processed again")

    import regiowerk.connectors.file
    import regiowerk.validation

    monkeypatch.setattr(pipeline, "map_to_canonical", must_not_run)
    monkeypatch.setattr(regiowerk.validation, "validate", must_not_run)
    monkeypatch.setattr(regiowerk.connectors.file, "read_delivery_file", must_not_run)  # not even parsed
    d = pipeline.extract(PARTNER_ID, "werkzoekenden")
    assert d["status"] == "already_loaded" and d["delivery_id"] == first["delivery_id"]
    assert d["rows_received"] == 6
    assert not list((small.root / "data").rglob("*.arrow.enc"))  # nothing staged
    d = pipeline.load(pipeline.validate(pipeline.pseudonymise(d)))
    assert (d["status"], d["rows_loaded"], d["rows_quarantined"]) == ("already_loaded", 5, 1)
    assert set(d["seconds"]) == {"extract", "load"}
    assert _duck("SELECT count(*) FROM audit.deliveries") == [(1,)]
    assert _duck("SELECT count(*) FROM raw.werkzoekenden") == [(5,)]


def test_guards_and_rejections_on_postgresql(small, monkeypatch):
    url = fresh_database("rw_guard")
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", url)
    people = bsns(10)
    small.deliver([row(b) for b in people])
    first = small.run()
    assert first["status"] == "loaded"
    d = pipeline.extract(PARTNER_ID, "werkzoekenden")  # unchanged: recognised in PostgreSQL
    assert d["status"] == "already_loaded"
    small.deliver([row(b, peildatum="2026-11-15") for b in people[:2]])
    outcome = small.run()
    assert isinstance(outcome, DeliveryError) and "row count dropped from 10" in str(outcome)
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT status, rows_received, message FROM audit.deliveries ORDER BY status")
            rows = cur.fetchall()
            cur.execute("SELECT delivery_id, count(*) FROM raw.werkzoekenden GROUP BY 1")
            raw = cur.fetchall()
    finally:
        conn.close()
    assert [r[:2] for r in rows] == [("loaded", 10), ("rejected", 0)]
    assert "row count dropped from 10" in rows[1][2]
    assert raw == [(first["delivery_id"], 10)]
    assert not (small.root / "warehouse.duckdb").exists()  # everything went to PostgreSQL


def test_validation_report_is_kept_with_the_run_without_clear_values(small):
    people = bsns(3)
    bad_bsn = "123456780"  # fails the elfproef: its reason is masked
    small.deliver([row(people[0]), row(people[1], regeling='=HYPERLINK("http://x.example","klik")'),
                   row(bad_bsn), row(people[2], naam="Zwaantje Zonderland")])
    d = small.run()
    report = small.root / "data" / "runs" / d["received_at"][:10] / d["delivery_id"] / "validation.html"
    assert d["report_path"] == str(report) and report.exists()
    assert _duck("SELECT report_path FROM audit.deliveries") == [(str(report),)]
    text = report.read_text(encoding="utf-8")
    assert f"Delivery {d['delivery_id']}" in text and "rows to quarantine</th><td>2" in text
    assert "bsn: fails the elfproef (value masked)" in text
    assert "local code &#x27;&#x27;=HYPERLINK" in text  # quoted and inert: '=HYPERLINK... never starts a cell
    for clear in [*people, bad_bsn, "Zonderland"]:
        assert clear not in text


def test_a_stale_loaded_marker_fails_cleanly_and_heals(small):
    """DuckDB: extract trusts the load stage's marker; the load stage confirms it in the warehouse."""
    small.deliver([row(b) for b in bsns(3)])
    assert small.run()["status"] == "loaded"
    (small.root / "warehouse.duckdb").unlink()  # the warehouse was replaced, data/state was not
    outcome = small.run()
    assert isinstance(outcome, DeliveryError) and "is not in the warehouse" in str(outcome)
    d = small.run()  # the marker is gone: processed and loaded again
    assert (d["status"], d["rows_loaded"]) == ("loaded", 3)

"""Retention (regiowerk.retention): a dry run changes nothing, --apply purges exactly what is due, on DuckDB and a
real PostgreSQL; audit.purges keeps counts only."""

import os
import time
from datetime import datetime, timedelta

import duckdb
import pandas as pd
import psycopg2
import pytest
from pg_server import fresh_database
from regiowerk import pg, retention, warehouse
from regiowerk.cli import main
from regiowerk.errors import ConfigurationError

DAY = 86400
SECRET_VALUE = "4f1c0ffee"  # stands for a quarantined value; must never reach audit.purges


def age(path, days):
    t = time.time() - days * DAY
    os.utime(path, (t, t))


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    """Runtime files of two partners: old and fresh landing files, a staging leftover, report folders."""
    data = tmp_path / "data"
    monkeypatch.setenv("REGIOWERK_DATA_DIR", str(data))
    monkeypatch.delenv(retention.DAYS_ENV, raising=False)
    land = data / "landing" / "gemeente_delft" / "werkzoekenden"
    land.mkdir(parents=True)
    pd.DataFrame({"persoon_id": ["a", "b", "c"]}).to_parquet(land / "old.parquet")
    pd.DataFrame({"persoon_id": ["d"]}).to_parquet(land / "fresh.parquet")
    age(land / "old.parquet", 40)
    uwv = data / "landing" / "uwv_haaglanden" / "werkzoekenden"
    uwv.mkdir(parents=True)
    pd.DataFrame({"persoon_id": ["e", "f"]}).to_parquet(uwv / "old.parquet")
    age(uwv / "old.parquet", 100)
    staging = data / "staging" / "gemeente_delft" / "werkzoekenden"
    staging.mkdir(parents=True)
    (staging / "left.arrow.enc").write_bytes(b"x" * 10)
    (staging / "running.arrow.enc").write_bytes(b"y")
    age(staging / "left.arrow.enc", 2)  # older than a day: a leftover, whatever the retention
    runs = data / "runs"
    (runs / "gemeente_delft" / "2026-01-01").mkdir(parents=True)
    (runs / "gemeente_delft" / "2026-01-01" / "validation.html").write_text("<html/>")
    age(runs / "gemeente_delft" / "2026-01-01" / "validation.html", 50)
    age(runs / "gemeente_delft" / "2026-01-01", 50)
    (runs / "today").mkdir()
    (runs / "today" / "validation.html").write_text("<html/>")
    return data


QUARANTINE = [  # (partner, status, days ago)
    ("gemeente_delft", "open", 100), ("gemeente_delft", "resolved", 100), ("gemeente_delft", "replayed", 60),
    ("gemeente_delft", "resolved", 5), ("uwv_haaglanden", "replayed", 40), ("uwv_haaglanden", "open", 1),
]


def quarantine_rows(now):
    return [(p, "werkzoekenden", f"{p}.d{i}", i, "bsn: fails the elfproef", f'{{"x": "{SECRET_VALUE}"}}',
             now - timedelta(days=d), s) for i, (p, s, d) in enumerate(QUARANTINE)]


def check_plan_and_apply(con, rows, data_dir, capsys):
    # dry run (the CLI default) shows per partner/dataset what is due and changes nothing
    assert main(["retention"]) == 0
    out = capsys.readouterr().out
    assert "would purge" in out and "dry run" in out
    assert (data_dir / "landing" / "gemeente_delft" / "werkzoekenden" / "old.parquet").exists()
    assert rows() == len(QUARANTINE)

    result = retention.purge(apply=False, con=con)
    assert result["days"] == 35 and not result["applied"]
    got = {(f["kind"], f["partner_id"], f["dataset"]): (f["items"], f["rows"]) for f in result["purged"]}
    assert got == {
        ("landing", "gemeente_delft", "werkzoekenden"): (1, 3),
        ("landing", "uwv_haaglanden", "werkzoekenden"): (1, 2),
        ("quarantine", "gemeente_delft", "werkzoekenden"): (2, 2),  # resolved 100 d, replayed 60 d
        ("quarantine", "uwv_haaglanden", "werkzoekenden"): (1, 1),
        ("staging", "gemeente_delft", "werkzoekenden"): (1, 0),
        ("reports", "gemeente_delft", "-"): (1, 0),
    }

    result = retention.purge(apply=True, con=con)
    assert result["applied"]
    assert not (data_dir / "landing" / "gemeente_delft" / "werkzoekenden" / "old.parquet").exists()
    assert (data_dir / "landing" / "gemeente_delft" / "werkzoekenden" / "fresh.parquet").exists()
    assert not (data_dir / "staging" / "gemeente_delft" / "werkzoekenden" / "left.arrow.enc").exists()
    assert (data_dir / "staging" / "gemeente_delft" / "werkzoekenden" / "running.arrow.enc").exists()
    assert not (data_dir / "runs" / "gemeente_delft" / "2026-01-01").exists()
    assert (data_dir / "runs" / "today").exists()
    assert rows() == 3  # both open rows (one 100 days old) and the recently resolved one stay
    # nothing is due any more
    assert retention.purge(apply=True, con=con)["purged"] == []


def test_retention_on_duckdb(tmp_path, data_dir, monkeypatch, capsys):
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(path))
    monkeypatch.delenv(pg.URL_ENV, raising=False)
    con = duckdb.connect(str(path))
    warehouse.ensure_schema(con)
    con.executemany("INSERT INTO audit.quarantine (partner_id, dataset, delivery_id, bron_rij, redenen, waarden, "
                    "quarantined_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", quarantine_rows(datetime.now()))
    con.close()  # the CLI opens the file itself
    con = duckdb.connect(str(path))
    try:
        check_plan_and_apply(con, lambda: con.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0],
                             data_dir, capsys)
        purges = con.execute("SELECT * FROM audit.purges").fetchall()
    finally:
        con.close()
    assert len(purges) == 6
    assert SECRET_VALUE not in str(purges) and "old.parquet" not in str(purges)


def test_retention_on_postgres(data_dir, monkeypatch, capsys):
    url = fresh_database("rw_retention")
    monkeypatch.setenv(pg.URL_ENV, url)
    con = psycopg2.connect(url)
    try:
        pg.ensure_schema(con)
        with con.cursor() as cur:
            cur.executemany("INSERT INTO audit.quarantine (partner_id, dataset, delivery_id, bron_rij, redenen, "
                            "waarden, quarantined_at, status) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                            quarantine_rows(datetime.now()))
        con.commit()

        def rows():
            with con.cursor() as cur:
                cur.execute("SELECT count(*) FROM audit.quarantine")
                n = cur.fetchone()[0]
            con.rollback()
            return n

        check_plan_and_apply(con, rows, data_dir, capsys)
        with con.cursor() as cur:
            cur.execute("SELECT kind, partner_id, items, rows_purged, retention_days FROM audit.purges ORDER BY 1, 2")
            purges = cur.fetchall()
    finally:
        con.close()
    assert ("quarantine", "gemeente_delft", 2, 2, 35) in purges and len(purges) == 6


def test_retention_days_from_option_env_or_default(monkeypatch):
    monkeypatch.delenv(retention.DAYS_ENV, raising=False)
    assert retention.retention_days() == retention.DEFAULT_DAYS
    monkeypatch.setenv(retention.DAYS_ENV, "90")
    assert retention.retention_days() == 90
    assert retention.retention_days(7) == 7
    monkeypatch.setenv(retention.DAYS_ENV, "ninety")
    with pytest.raises(ConfigurationError, match=retention.DAYS_ENV):
        retention.retention_days()
    with pytest.raises(ConfigurationError, match="positive"):
        retention.retention_days(0)

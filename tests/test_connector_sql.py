"""SQL connector against a real SQLite database."""

from __future__ import annotations

import sqlite3

import pytest
from regiowerk.connectors import extract
from regiowerk.connectors.sql import build_query
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner
from regiowerk.watermarks import WatermarkStore

COLUMNS = {"bsn": "BSN", "brin": "BRIN", "crebo": "CREBO", "niveau": "NIVEAU", "leerweg": "LEERWEG",
           "startdatum": "STARTDATUM", "status": "STATUS", "peildatum": "PEILDATUM"}


def sql_partner(source: str = "deelnemers", watermark_column: str | None = "GEWIJZIGD_OP") -> Partner:
    return Partner.model_validate({
        "partner_id": "mbo_roc_mondriaan", "naam": "ROC Mondriaan", "kind": "mbo", "regio_code": "AM21",
        "contact": "im@example.org", "schedule": "15 4 * * *",
        "connector": {"type": "sql", "conn_id": "sis_test"},
        "datasets": {"mbo_inschrijvingen": {"source": source, "columns": COLUMNS,
                                            "watermark_column": watermark_column}},
    })


@pytest.fixture
def sis(tmp_path, monkeypatch):
    path = tmp_path / "sis.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE deelnemers (BSN TEXT, BRIN TEXT, CREBO TEXT, NIVEAU INTEGER, LEERWEG TEXT, "
               "STARTDATUM DATE, STATUS TEXT, PEILDATUM DATE, UREN REAL, GEWIJZIGD_OP TEXT)")
    db.executemany("INSERT INTO deelnemers VALUES (?,?,?,?,?,?,?,?,?,?)", [
        ("123456782", "25LJ", "25180", 2, "BOL", "2025-09-01", "ING", "2026-01-31", 16.0, "2026-01-10 08:00:00"),
        ("111222333", "25LJ", "25655", 4, "BBL", "2024-09-01", "GED", "2026-01-31", None, "2026-01-12 09:30:00"),
    ])
    db.commit()
    db.close()
    monkeypatch.setenv("AIRFLOW_CONN_SIS_TEST", f"sqlite:///{path}")
    return path


def add_row(path, bsn: str, changed: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO deelnemers VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (bsn, "25LJ", "25180", 3, "BOL", "2025-09-01", "   ", "2026-02-28", 7.5, changed))
    db.close()


def test_full_extract_converts_values_to_text(sis, tmp_path):
    ex = extract(sql_partner(watermark_column=None), "mbo_inschrijvingen", watermarks=WatermarkStore(tmp_path))
    frame = ex.frame
    assert frame["BSN"].tolist() == ["123456782", "111222333"]
    assert frame["NIVEAU"].tolist() == ["2", "4"]
    assert frame["UREN"].tolist() == ["16", None]
    assert frame["_bron_rij"].tolist() == [1, 2]
    assert ex.source == "table deelnemers via conn sis_test"
    assert ex.watermark is None
    again = extract(sql_partner(watermark_column=None), "mbo_inschrijvingen", watermarks=WatermarkStore(tmp_path))
    assert again.fingerprint == ex.fingerprint


def test_incremental_by_watermark(sis, tmp_path):
    store = WatermarkStore(tmp_path)
    first = extract(sql_partner(), "mbo_inschrijvingen", watermarks=store)
    assert len(first.frame) == 2
    assert first.watermark == "2026-01-12 09:30:00"
    store.set("mbo_roc_mondriaan", "mbo_inschrijvingen", first.watermark)

    unchanged = extract(sql_partner(), "mbo_inschrijvingen", watermarks=store)
    assert len(unchanged.frame) == 0
    assert unchanged.watermark == first.watermark  # nothing new: keep the stored watermark

    add_row(sis, "222333444", "2026-02-01 07:00:00")
    second = extract(sql_partner(), "mbo_inschrijvingen", watermarks=store)
    assert second.frame["BSN"].tolist() == ["222333444"]
    assert second.frame["STATUS"].tolist() == [None]
    assert second.watermark == "2026-02-01 07:00:00"
    assert second.fingerprint != first.fingerprint


@pytest.mark.parametrize("source", ["deelnemers; DROP TABLE deelnemers", "deelnemers WHERE 1=1",
                                    "x' OR '1'='1", "a.b.c", "1tabel"])
def test_injection_in_table_name_is_refused(sis, tmp_path, source):
    with pytest.raises(DeliveryError, match="not a plain table name"):
        extract(sql_partner(source=source), "mbo_inschrijvingen", watermarks=WatermarkStore(tmp_path))
    with sqlite3.connect(sis) as db:
        assert db.execute("SELECT count(*) FROM deelnemers").fetchone() == (2,)
    db.close()


def test_watermark_is_a_bound_parameter():
    query, params = build_query("main.deelnemers", "GEWIJZIGD_OP", "x' OR '1'='1")
    assert str(query) == "SELECT * FROM main.deelnemers WHERE GEWIJZIGD_OP > :watermark ORDER BY GEWIJZIGD_OP"
    assert params == {"watermark": "x' OR '1'='1"}


def test_sql_error_is_a_delivery_error(sis, tmp_path):
    with pytest.raises(DeliveryError, match="SQL error: no such table: leerlingen") as info:
        extract(sql_partner(source="leerlingen"), "mbo_inschrijvingen", watermarks=WatermarkStore(tmp_path))
    assert info.value.source == "table leerlingen via conn sis_test"

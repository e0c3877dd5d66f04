"""History of the candidate profile and werkfit status: dbt snapshot snap_kandidaat_status (strategy check)
and the month-on-month trend kpi_werkfit_status_maand built on it.

Builds the hand-made warehouse of test_dbt_project, backdates the first snapshot to January 2026 (as if the
warehouse had been built then), delivers a change for one person and builds again. The monthly trend follows the
deliveries' peildatum (int_werkzoekende_maandstand), not the build times, so the backdating moves no month.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_dbt_project import DEN_HAAG, GEM, P, _insert, _rows, make_warehouse, run_dbt, wz

SELECT: list[str] = []  # the full build (tests need every seed they compare with)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    import duckdb

    tmp = tmp_path_factory.mktemp("dbt_history")
    path = tmp / "warehouse.duckdb"
    make_warehouse(path)
    first = run_dbt(["build", *SELECT], tmp, path)
    assert first.returncode == 0, first.stdout[-8000:] + first.stderr[-4000:]

    con = duckdb.connect(str(path))
    try:
        con.execute("update snapshots.snap_kandidaat_status set dbt_valid_from = timestamp '2026-01-15 12:00:00',"
                    " dbt_updated_at = timestamp '2026-01-15 12:00:00'")
        # tien_uur now has 20 hours: werkfit_met_ondersteuning -> werkfit under the adopted version 2026.1;
        # werkfit gets a new delivery with the same content (only peildatum changes: no new version)
        _insert(con, "raw.werkzoekenden", [
            wz(GEM, "dh-2026-04", "tien_uur", "2026-04-30", uren_beschikbaar_per_week=20, participatieladder=6,
               instrument_datum="2026-03-01"),
            wz(GEM, "dh-2026-04", "werkfit", "2026-04-30", uren_beschikbaar_per_week=20, participatieladder=6,
               instrument_datum="2026-03-01", rijbewijzen="B, AM", beroepswensen="5321,9112"),
        ])
    finally:
        con.close()

    second = run_dbt(["build", *SELECT], tmp, path)
    assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-4000:]
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_snapshot_keeps_previous_status(history):
    rows = _rows(history, "select * from snapshots.snap_kandidaat_status where persoon_id = ?"
                          " order by dbt_valid_from", P["tien_uur"])
    assert [r["werkfit_status"] for r in rows] == ["werkfit_met_ondersteuning", "werkfit"]
    assert rows[0]["dbt_valid_to"] is not None and rows[1]["dbt_valid_to"] is None
    assert rows[0]["dbt_valid_to"] == rows[1]["dbt_valid_from"]


def test_snapshot_ignores_unchanged_redelivery(history):
    rows = _rows(history, "select * from snapshots.snap_kandidaat_status where persoon_id = ?", P["werkfit"])
    assert len(rows) == 1 and rows[0]["dbt_valid_to"] is None
    total = history.execute("select count(*) from snapshots.snap_kandidaat_status").fetchone()[0]
    assert total == len(P) + 1


def test_month_on_month_trend(history):
    """The month rule (int_werkzoekende_maandstand): months from the region's first to its latest peildatum month
    (February-April), each status version counted from the month of its peildatum on, carried into later months
    until the next version; no status before the history's first peildatum (March)."""
    rows = _rows(history, "select maand, werkfit_status, aantal_werkzoekenden from marts.kpi_werkfit_status_maand"
                          " where gemeente_code = ? and doelgroep = 'participatiewet'", DEN_HAAG)
    by = {(r["maand"], r["werkfit_status"]): r["aantal_werkzoekenden"] for r in rows}
    maart, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    assert sorted({r["maand"] for r in rows}) == [maart, april]
    # March: werkfit + dertien_uur werkfit, tien_uur with support
    assert by[(maart, "werkfit")] == 2 and by[(maart, "werkfit_met_ondersteuning")] == 1
    # April: tien_uur is werkfit (delivered with peildatum 30 April); dertien_uur's March state carries forward
    assert by[(april, "werkfit")] == 3 and (april, "werkfit_met_ondersteuning") not in by
    # the same stock in the same month as kpi_regio_maand
    regio = _rows(history, "select maand, sum(aantal_werkfit) as werkfit, sum(aantal_werkzoekenden) as totaal"
                           " from marts.kpi_regio_maand where gemeente_code = ? and doelgroep = 'participatiewet'"
                           " group by maand", DEN_HAAG)
    regio_by = {r["maand"]: r for r in regio}
    assert regio_by[april]["werkfit"] == 3 and regio_by[maart]["werkfit"] == 2
    assert regio_by[dt.date(2026, 2, 1)]["totaal"] == 1  # February: the stock of the February delivery

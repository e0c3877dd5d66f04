"""Incremental staging models: a daily `dbt run` after new deliveries gives the same tables as a full refresh.

Builds the hand-made warehouse of test_dbt_project, then loads a day's deliveries: a newer row for one person,
a *late* re-delivery with an older peildatum (loaded later, so it has a newer geladen_op, but must not win),
a new person and a changed vacancy. The incremental run must only rank the touched keys, and every staging,
intermediate and mart table must equal what `dbt run --full-refresh` builds from the same raw tables.
"""

from __future__ import annotations

import pytest
from test_dbt_project import GEM, UWV, P, _insert, make_warehouse, run_dbt, vac, wz

STAGING = ["stg_gemeente__werkzoekenden", "stg_uwv__werkzoekenden", "stg_uwv__vacatures",
           "stg_mbo__inschrijvingen", "stg_mbo__diplomas"]
COMPARED = [f"staging.{m}" for m in STAGING] + [
    "intermediate.int_kandidaat_bronnen", "intermediate.int_personen_samengevoegd", "marts.dim_kandidaat",
    "marts.dim_vacature", "marts.fct_werkfit_beoordeling", "marts.kpi_regio_maand"]


def _tables(path) -> dict[str, list[tuple]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in COMPARED}
    finally:
        con.close()


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    import duckdb

    tmp = tmp_path_factory.mktemp("dbt_incremental")
    path = tmp / "warehouse.duckdb"
    make_warehouse(path)
    first = run_dbt(["build"], tmp, path)
    assert first.returncode == 0, first.stdout[-8000:] + first.stderr[-4000:]
    con = duckdb.connect(str(path))
    try:
        _insert(con, "raw.werkzoekenden", [
            wz(GEM, "dh-2026-04", "werkfit", "2026-04-30", uren_beschikbaar_per_week=32, participatieladder=6,
               instrument_datum="2026-04-01"),
            # late re-delivery of January: loaded now (newer geladen_op), older peildatum: March stays latest
            wz(GEM, "dh-2026-01-laat", "dertien_uur", "2026-01-31", uren_beschikbaar_per_week=2,
               geladen_op="2026-05-02 06:00:00"),
            wz(UWV, "uwv-2026-04", "alleen_uwv", "2026-04-30", regeling="ww", uren_beschikbaar_per_week=36),
        ])
        _insert(con, "raw.vacatures", [vac("V1", "uwv-vac-04", "2026-04-30", uren_per_week=12)])
    finally:
        con.close()
    incremental = run_dbt(["run"], tmp, path)
    assert incremental.returncode == 0, incremental.stdout[-8000:] + incremental.stderr[-4000:]
    after_incremental = _tables(path)
    model = ("regiowerk", "models", "staging", "gemeente", "stg_gemeente__werkzoekenden.sql")
    compiled = (tmp.joinpath("target", "compiled", *model).read_text(encoding="utf-8")
                + tmp.joinpath("target", "run", *model).read_text(encoding="utf-8"))
    full = run_dbt(["run", "--full-refresh"], tmp, path)
    assert full.returncode == 0, full.stdout[-8000:] + full.stderr[-4000:]
    return after_incremental, _tables(path), compiled


def test_incremental_run_ranks_only_touched_keys(day):
    _, _, compiled = day
    assert "nieuw.geladen_op >" in compiled  # the second run really was incremental
    assert "delete from" in compiled.lower() and "insert into" in compiled.lower()


@pytest.mark.parametrize("table", COMPARED)
def test_incremental_equals_full_refresh(day, table):
    after_incremental, after_full, _ = day
    assert after_incremental[table] == after_full[table]


def test_late_redelivery_does_not_win_and_new_rows_arrive(day):
    after_incremental, _, _ = day
    rows = after_incremental["staging.stg_gemeente__werkzoekenden"]
    flat = [r for r in rows if P["dertien_uur"] in r]
    assert len(flat) == 1 and "dh-2026-01-laat" not in flat[0]
    werkfit = [r for r in rows if P["werkfit"] in r]
    assert len(werkfit) == 1 and "dh-2026-04" in werkfit[0]
    assert any(P["alleen_uwv"] in r for r in after_incremental["staging.stg_uwv__werkzoekenden"])
    assert any("uwv-vac-04" in r for r in after_incremental["staging.stg_uwv__vacatures"])

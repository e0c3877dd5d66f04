"""The production warehouse DAG on PostgreSQL, end to end: `regiowerk demo` with REGIOWERK_WAREHOUSE_URL as the
only setting, on an empty database, runs the partner DAGs and the warehouse DAG with one Cosmos task per model
(TestBehavior.AFTER_EACH) to success; then the warehouse DAG runs again on the loaded warehouse.

Before the tests of several nodes got tasks of their own, the first run failed in the seed's test task
(``relation "marts.dim_kandidaat" does not exist``).
"""

import pytest
from pg_server import fresh_database
from regiowerk import warehouse_conn
from regiowerk.dag_factory import WAREHOUSE_DAG_ID
from regiowerk.demo.run import MARTS, mart_counts

PARTNER_ROLE = "regiowerk_partner_gemeente_delft"


@pytest.fixture(scope="module")
def pg_demo(tmp_path_factory, dbt_manifest):
    from regiowerk.demo.run import demo, run_dags

    tmp = tmp_path_factory.mktemp("pg_demo")
    mp = pytest.MonkeyPatch()
    for name in ("REGIOWERK_DBT_TARGET", "REGIOWERK_PG_HOST", "REGIOWERK_PG_PORT", "REGIOWERK_PG_USER",
                 "REGIOWERK_PG_PASSWORD", "REGIOWERK_PG_DATABASE", "REGIOWERK_PG_SCHEMA"):
        mp.delenv(name, raising=False)
    mp.setenv("REGIOWERK_WAREHOUSE_URL", fresh_database("rw_dagpg"))
    # its own data folder: the loaded markers and watermarks of other tests must not make these deltas
    mp.setenv("REGIOWERK_DATA_DIR", str(tmp / "data"))
    mp.setenv("REGIOWERK_WAREHOUSE", str(tmp / "unused.duckdb"))
    lines: list[str] = []
    try:
        states = demo(out=lines.append)
        with warehouse_conn.connection() as con:
            first = mart_counts(con)
        again = run_dags([WAREHOUSE_DAG_ID], progress=lines.append)
        with warehouse_conn.connection() as con:
            yield {"states": states, "again": again, "first": first, "lines": lines, "con": con}
    finally:
        mp.undo()


def _rows(con, sql, params=()):
    return warehouse_conn.execute(con, sql, params)


def test_demo_on_postgres_succeeds_with_per_model_tasks(pg_demo):
    assert all("success" in s for s in pg_demo["states"].values()), pg_demo["states"]
    assert WAREHOUSE_DAG_ID in pg_demo["states"]
    out = "\n".join(pg_demo["lines"])
    assert "PostgreSQL database rw_dagpg_" in out and "Marts (row counts)" in out
    con = pg_demo["con"]
    # the per-model Cosmos tasks ran dbt against PostgreSQL: the marts are tables there, with rows
    assert all(pg_demo["first"][m] > 0 for m in MARTS), pg_demo["first"]
    kinds = dict(_rows(con, "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = "
                            "'marts'"))
    assert kinds["dim_kandidaat"] == "BASE TABLE"


def test_every_delivered_row_is_loaded_or_quarantined_on_postgres(pg_demo):
    rows = _rows(pg_demo["con"], "SELECT partner_id, dataset, rows_received, rows_loaded, rows_quarantined, status "
                                 "FROM audit.deliveries")
    assert rows and all(r[5] == "loaded" for r in rows), rows
    assert all(r[2] == r[3] + r[4] for r in rows)
    assert {r[0] for r in rows} == {"gemeente_delft", "gemeente_den_haag", "gemeente_westland", "uwv_haaglanden",
                                    "mbo_roc_mondriaan"}


def test_partner_roles_get_row_level_security(pg_demo):
    con = pg_demo["con"]
    assert _rows(con, "SELECT relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = 'marts' AND c.relname = 'dim_kandidaat'") == [(True,)]
    total = _rows(con, "SELECT count(*) FROM marts.dim_kandidaat")[0][0]
    _rows(con, f"SET ROLE {PARTNER_ROLE}")
    try:
        own = _rows(con, "SELECT count(*) FROM marts.dim_kandidaat")[0][0]
        gemeenten = _rows(con, "SELECT DISTINCT gemeente_code FROM marts.dim_kandidaat")
    finally:
        con.rollback()
        _rows(con, "RESET ROLE")
    assert 0 < own < total
    assert ("GM0503",) in gemeenten


def test_warehouse_dag_runs_again_on_the_loaded_warehouse(pg_demo):
    assert pg_demo["again"] == {WAREHOUSE_DAG_ID: pg_demo["again"][WAREHOUSE_DAG_ID]}
    assert "success" in pg_demo["again"][WAREHOUSE_DAG_ID]
    assert mart_counts(pg_demo["con"]) == pg_demo["first"]  # same deliveries: the same marts


def test_deliveries_command_reads_the_postgres_warehouse(pg_demo, capsys):
    from regiowerk import cli

    assert cli.main(["deliveries"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(_rows(pg_demo["con"], "SELECT 1 FROM audit.deliveries"))
    assert any(line.startswith("gemeente_delft  werkzoekenden") for line in lines)

"""`regiowerk airflow up`: a real Airflow 3 deployment (api-server, scheduler, dag-processor, LocalExecutor).

Every partner DAG is triggered through the REST API; the scheduler starts the warehouse DAG from the partners'
Asset events (not dag.test()); the warehouse then holds every partner's delivery. The deployment is shared with
test_airflow_browser.py (fixtures in tests/conftest.py) and stopped by ``down()``, which must leave no process behind.
"""

from __future__ import annotations

import json

import duckdb
from airflow_fixture import WAREHOUSE_DAG
from regiowerk import airflow_local
from regiowerk.registry import load_registry


def test_up_records_processes_and_is_healthy(airflow_deployment):
    d = airflow_deployment
    state = json.loads((d.home / airflow_local.PID_FILE).read_text())
    assert set(airflow_local.COMPONENTS) <= set(state["processes"]), state["processes"]
    for name, entry in state["processes"].items():
        assert airflow_local.alive(entry["pid"]), name
        assert entry["pgid"] == entry["pid"], f"{name} leads its own process group"
    health = airflow_local.health(d.url)
    for component in ("metadatabase", "scheduler", "dag_processor"):
        assert health[component]["status"] == "healthy", health
    assert d.url.startswith("http://127.0.0.1:")
    assert (d.home / airflow_local.PASSWORDS_FILE).exists()
    pools = {p["name"]: p["slots"] for p in d.get("/pools")["pools"]}
    assert pools.get(airflow_local.WAREHOUSE_POOL) == 1


def test_partner_runs_trigger_the_warehouse_through_the_scheduler(airflow_deployment, airflow_runs):
    d = airflow_deployment
    runs = airflow_runs
    expected = {p.dag_id for p in load_registry().values()}
    assert set(runs["partners"]) == expected
    mine = [r for r in runs["partner_runs"] if r["dag_run_id"] in runs["triggered"].values()]
    assert {r["dag_id"] for r in mine} == expected
    assert all(r["state"] == "success" and r["run_type"] == "manual" for r in mine), mine
    wh = runs["warehouse_run"]
    assert wh["dag_id"] == WAREHOUSE_DAG and wh["state"] == "success" and wh["run_type"] == "asset_triggered"
    tis = d.get(f"/dags/{WAREHOUSE_DAG}/dagRuns/{wh['dag_run_id']}/taskInstances")["task_instances"]
    assert {t["task_id"]: t["state"] for t in tis} == {"prepare_warehouse": "success", "source_freshness": "success",
                                                       "dbt_build": "success"}
    # the DuckDB writers ran in the one-slot pool (one writer on the warehouse file)
    tis = d.get("/dags/~/dagRuns/~/taskInstances", limit=500)["task_instances"]
    loads = [t for t in tis if t["task_id"].endswith(".load")]
    assert loads and {t["pool"] for t in loads} == {airflow_local.WAREHOUSE_POOL}


def test_warehouse_holds_every_partner(airflow_deployment, airflow_runs):
    d = airflow_deployment
    con = duckdb.connect(str(d.warehouse), read_only=True)
    try:
        loaded = con.execute("SELECT partner_id, dataset, sum(rows_loaded) FROM audit.deliveries "
                             "WHERE status = 'loaded' GROUP BY 1, 2").fetchall()
        kandidaten = con.execute("SELECT count(*) FROM marts.dim_kandidaat").fetchone()[0]
    finally:
        con.close()
    expected = {(p.partner_id, ds) for p in load_registry().values() for ds in p.datasets}
    assert {(p, ds) for p, ds, _ in loaded} == expected
    assert all(n > 0 for _, _, n in loaded), loaded
    assert kandidaten > 0

"""DAG integrity: the DAG files import quickly and cleanly, follow the policy, and touch nothing at import."""

import subprocess
import sys
import textwrap
import time

import pytest

from regiowerk.airflow_env import WAREHOUSE_POOL
from regiowerk.dag_factory import WAREHOUSE_DAG_ID, dataset_asset
from regiowerk.registry import load_registry
from regiowerk.settings import paths

STAGES = ("extract", "pseudonymise", "validate", "load")


@pytest.fixture(scope="session")
def dagbag(dbt_manifest):
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(paths().dags))
    bag.parse_seconds = time.perf_counter() - started
    return bag


def test_no_import_errors_and_fast(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.parse_seconds < 30, f"parsing the DAG folder took {dagbag.parse_seconds:.1f}s"


def test_one_dag_per_partner_plus_warehouse(dagbag):
    partners = load_registry()
    expected = {p.dag_id for p in partners.values()} | {WAREHOUSE_DAG_ID}
    assert set(dagbag.dag_ids) == expected


def test_policy_owner_tags_retries_callback(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert "regiowerk" in dag.tags, dag_id
        assert dag.catchup is False and dag.max_active_runs == 1, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)
            assert t.on_failure_callback, (dag_id, t.task_id)


def test_partner_dag_shape_and_assets(dagbag):
    for p in load_registry().values():
        dag = dagbag.dags[p.dag_id]
        assert dag.doc_md and p.contact in dag.doc_md
        for ds in p.datasets:
            ids = [f"{ds}.{s}" for s in STAGES]
            for upstream, downstream in zip(ids, ids[1:]):
                assert downstream in dag.get_task(upstream).downstream_task_ids
            assert dag.get_task(f"{ds}.load").pool == WAREHOUSE_POOL  # one writer on the DuckDB warehouse
            outlets = dag.get_task(f"{ds}.load").outlets
            assert [o.uri for o in outlets] == [dataset_asset(p.partner_id, ds).uri]


def _uris(condition) -> set[str]:
    if hasattr(condition, "uri"):
        return {condition.uri}
    return set().union(*(_uris(o) for o in condition.objects))


def test_warehouse_dag_is_scheduled_on_every_partner_asset(dagbag):
    dag = dagbag.dags[WAREHOUSE_DAG_ID]
    expected = {dataset_asset(p.partner_id, ds).uri for p in load_registry().values() for ds in p.datasets}
    assert _uris(dag.timetable.asset_condition) == expected
    build = dag.get_task("dbt_build")
    assert type(build).__module__.startswith("cosmos.")
    assert "prepare_warehouse" in build.upstream_task_ids
    assert build.pool == WAREHOUSE_POOL


def test_dag_files_touch_no_database_or_network_at_import(dbt_manifest):
    """Build every DAG in a child process where sockets and database connects raise."""
    code = textwrap.dedent("""
        import socket, sqlite3, duckdb
        def refuse(*a, **k):
            raise AssertionError("DAG building touched a database or the network")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        sqlite3.connect = refuse
        duckdb.connect = refuse
        import runpy
        ns = runpy.run_path(%r)
        print(len([v for v in ns.values() if type(v).__name__ == "DAG"]))
    """ % str(paths().dags / "regiowerk_dags.py"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip().splitlines()[-1]) == len(load_registry()) + 1

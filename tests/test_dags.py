"""DAG integrity: the DAG files import quickly and cleanly, follow the policy, and touch nothing at import."""

import subprocess
import sys
import textwrap
import time

import pytest
from regiowerk.airflow_env import WAREHOUSE_POOL
from regiowerk.dag_factory import OPERATIONS_DAG_ID, WAREHOUSE_DAG_ID, dataset_asset
from regiowerk.dbt_runner import PRODUCTION_DBT_FLAGS
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
    expected = {p.dag_id for p in partners.values()} | {WAREHOUSE_DAG_ID, OPERATIONS_DAG_ID}
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
            for upstream, downstream in zip(ids, ids[1:], strict=False):
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
    # landing schemas first, then the freshness check (it reads raw), then dbt (its operations models read it)
    assert dag.get_task("prepare_warehouse").downstream_task_ids == {"source_freshness"}
    assert "source_freshness" in build.upstream_task_ids
    assert build.pool == WAREHOUSE_POOL
    # production: no dbt unit tests (CI runs them, tests/test_dbt_project.py)
    assert build.dbt_cmd_flags == ["--exclude-resource-type", "unit_test"] == PRODUCTION_DBT_FLAGS
    assert "apply_roles" not in dag.task_ids  # PostgreSQL only


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
        ns = runpy.run_path({!r})
        print(len([v for v in ns.values() if type(v).__name__ == "DAG"]))
    """.format(str(paths().dags / "regiowerk_dags.py")))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.strip().splitlines()[-1]) == len(load_registry()) + 2  # + warehouse, operations


# --- the dbt part of the warehouse DAG, per dbt target ---------------------------------------------------------

_DAGBAG_DUMP = textwrap.dedent("""
    import json, sys, time
    from regiowerk import airflow_env
    airflow_env.configure()
    from airflow.dag_processing.dagbag import DagBag
    from regiowerk.settings import paths
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(paths().dags))
    seconds = time.perf_counter() - started
    dag = bag.dags.get(%r)
    tasks = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} if dag else {}
    print(json.dumps({"errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "seconds": seconds,
                      "tasks": tasks, "excludes": {t.task_id: str(getattr(t, "exclude", None)) for t in dag.tasks
                                                   if t.task_id.endswith(".test")} if dag else {}}))
""")


def warehouse_tasks_for_target(target: str) -> dict:
    """Parse dags/ in a child process whose warehouse is of the engine ``target`` (read at DAG build; parsing
    never connects, so the PostgreSQL URL needs no server)."""
    import json
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("REGIOWERK_WAREHOUSE_URL", "REGIOWERK_DBT_TARGET")}
    if target == "postgres":
        env["REGIOWERK_WAREHOUSE_URL"] = "postgresql://regiowerk@localhost:5432/regiowerk"
    done = subprocess.run([sys.executable, "-c", _DAGBAG_DUMP % WAREHOUSE_DAG_ID], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def postgres_warehouse_dag(dbt_manifest):
    return warehouse_tasks_for_target("postgres")


def _manifest_nodes(manifest_file) -> dict:
    import json

    return json.loads(manifest_file.read_text())["nodes"]


def test_postgres_target_renders_every_model_with_its_tests(postgres_warehouse_dag, dbt_manifest):
    assert postgres_warehouse_dag["errors"] == {}
    tasks = postgres_warehouse_dag["tasks"]
    nodes = _manifest_nodes(dbt_manifest)
    verbs = {"model": "run", "seed": "seed", "snapshot": "snapshot"}
    tested = {n.get("attached_node") for n in nodes.values() if n["resource_type"] == "test"}
    # a node with tests is a task group (dbt.<name>.run + dbt.<name>.test); one without is a single dbt.<name>_run
    expected_runs = {f"dbt.{n['name']}{'.' if uid in tested else '_'}{verbs[n['resource_type']]}"
                     for uid, n in nodes.items() if n["resource_type"] in verbs}
    assert len(expected_runs) >= 25
    assert expected_runs <= set(tasks), sorted(expected_runs - set(tasks))
    for uid, n in nodes.items():
        if n["resource_type"] == "model" and uid in tested:
            # TestBehavior.AFTER_EACH: the model's tests run right after it, before anything downstream
            assert f"dbt.{n['name']}.test" in tasks[f"dbt.{n['name']}.run"], n["name"]
    # the dbt graph becomes the task graph: a staging model's tests gate the intermediate model that uses it
    assert "dbt.int_kandidaat_bronnen.run" in tasks["dbt.stg_gemeente__werkzoekenden.test"]
    assert "dbt_build" not in tasks
    # production: every model's test task leaves out the dbt unit tests (CI runs them)
    excludes = postgres_warehouse_dag["excludes"]
    assert excludes and all("resource_type:unit_test" in e for e in excludes.values()), excludes
    # apply_roles after the last dbt tasks: new tables get their grants and row-level security
    leaves = {t for t, down in tasks.items() if t.startswith("dbt.") and not any(d.startswith("dbt.") for d in down)}
    assert leaves and {t for t, down in tasks.items() if "apply_roles" in down} == leaves
    assert tasks["apply_roles"] == []
    assert "dbt.versheid_per_partner.run" in tasks and "dbt.dagelijkse_samenvatting.run" in tasks
    assert tasks["prepare_warehouse"] == ["source_freshness"]
    assert {t for t in tasks["source_freshness"]} and all(t.startswith("dbt.") for t in tasks["source_freshness"])


def _ancestors(tasks: dict, task_id: str) -> set[str]:
    upstream: dict[str, set[str]] = {}
    for t, downs in tasks.items():
        for d in downs:
            upstream.setdefault(d, set()).add(t)
    seen, todo = set(), [task_id]
    while todo:
        for u in upstream.get(todo.pop(), ()):
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return seen


def test_postgres_tests_of_several_nodes_run_after_all_of_them(postgres_warehouse_dag, dbt_manifest):
    """A test that reads several nodes (a relationships test from a mart to a seed) runs in a task of its own
    after every node it reads, checked against the dbt graph: in a seed's test task it would run before the mart
    exists and fail on an empty warehouse (RenderConfig(should_detach_multiple_parents_tests=True))."""
    tasks, excludes = postgres_warehouse_dag["tasks"], postgres_warehouse_dag["excludes"]
    nodes = _manifest_nodes(dbt_manifest)
    verbs = {"model": "run", "seed": "seed", "snapshot": "snapshot"}
    several = [n for n in nodes.values() if n["resource_type"] == "test" and len(set(n["depends_on"]["nodes"])) > 1]
    assert "relationships_dim_kandidaat_regio_code__regio_code__ref_ref_arbeidsmarktregio_codes_" in {
        n["name"] for n in several}
    for n in several:
        task_id = f"dbt.{n['name']}_test"
        assert task_id in tasks, n["name"]
        before = _ancestors(tasks, task_id)
        for parent in (nodes[p] for p in n["depends_on"]["nodes"] if p in nodes):
            assert f"dbt.{parent['name']}.{verbs[parent['resource_type']]}" in before, (n["name"], parent["name"])
            own_tests = f"dbt.{parent['name']}.test"
            if own_tests in excludes:  # and it is not run again inside the parent's own test task
                assert n["name"] in excludes[own_tests], (n["name"], own_tests)
        assert "apply_roles" in tasks[task_id]


def test_duckdb_target_is_one_dbt_build_task(dagbag):
    dag = dagbag.dags[WAREHOUSE_DAG_ID]
    dbt = [t.task_id for t in dag.tasks if type(t).__module__.startswith("cosmos.")]
    assert dbt == ["dbt_build"]  # one writer: no per-model tasks on the DuckDB file


def test_postgres_dag_parses_fast(postgres_warehouse_dag):
    # parsing renders the models from target/manifest.json; no dbt process runs (that would take ~8 s)
    assert postgres_warehouse_dag["seconds"] < 15, postgres_warehouse_dag["seconds"]


def test_operations_dag_is_daily_summary_then_retention(dagbag):
    dag = dagbag.dags[OPERATIONS_DAG_ID]
    assert dag.get_task("daily_summary").downstream_task_ids == {"retention_purge"}
    assert dag.get_task("retention_purge").pool == WAREHOUSE_POOL

"""Test session set-up: every test run gets its own runtime folders, warehouse and Airflow home.

Set before anything imports Airflow (it reads its configuration at import), so the project's own
data/, warehouse/ and .airflow/ are never touched by tests.
"""

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="regiowerk-tests-"))
os.environ["REGIOWERK_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["REGIOWERK_WAREHOUSE"] = str(_SESSION_DIR / "warehouse" / "regiowerk.duckdb")
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("REGIOWERK_ENV", "test")

from regiowerk import airflow_env  # noqa: E402

airflow_env.configure()


import pytest  # noqa: E402

# ---- test tiers ------------------------------------------------------------------------------------------------
# unit: no server (DuckDB in process, local stand-in HTTP servers and SQLite are fine), no dbt, no Airflow run;
#       `uv run pytest -m unit` stays under 2 minutes.
# integration: a real PostgreSQL (pgserver), dbt, Airflow DAGs parsed or run in process with dag.test().
# deployment: real Airflow processes (`regiowerk airflow up`), Celery with Redis, headless Chromium.
# A module sets its own `pytestmark`, or is listed here; a module with neither fails the collection.
TIERS = ("unit", "integration", "deployment")
MODULE_TIERS = {
    "test_access": "integration",
    "test_airflow_browser": "deployment",
    "test_airflow_celery": "deployment",
    "test_airflow_celery_settings": "unit",
    "test_airflow_deployment": "deployment",
    "test_alerts": "unit",
    "test_benchmark": "integration",
    "test_bi": "deployment",
    "test_compose": "unit",
    "test_connector_file": "unit",
    "test_connector_rest": "unit",
    "test_connector_sftp": "integration",
    "test_connector_sql": "unit",
    "test_corpus": "unit",
    "test_dag_parse_benchmark": "integration",
    "test_dags": "integration",
    "test_dbt_history": "integration",
    "test_dbt_incremental": "integration",
    "test_dbt_project": "integration",
    "test_delivery_guards": "integration",
    "test_demo_e2e": "integration",
    "test_demo_generate": "unit",
    "test_drift": "unit",
    "test_field_exports": "unit",
    "test_key_rotation": "integration",
    "test_load_atomic": "integration",  # kills a loading child process (~1 minute)
    "test_load_fixed_cost": "unit",
    "test_mapping": "unit",
    "test_masking": "unit",
    "test_match": "integration",
    "test_operations": "integration",
    "test_postgres_init": "integration",
    "test_postgres_warehouse": "integration",
    "test_pseudonymise": "unit",
    "test_quarantine_replay": "integration",
    "test_registry": "unit",
    "test_retention": "integration",
    "test_run_partner": "integration",
    "test_secret_store": "unit",
    "test_selfcheck": "unit",
    "test_selfcheck_nl": "unit",
    "test_settings": "unit",
    "test_validation": "unit",
    "test_warehouse_dag_postgres": "integration",
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    untiered = set()
    for item in items:
        if any(next(item.iter_markers(name=t), None) for t in TIERS):
            continue
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        tier = MODULE_TIERS.get(module)
        if tier is None:
            untiered.add(str(item.path))
            continue
        item.add_marker(getattr(pytest.mark, tier))
    if untiered:
        raise pytest.UsageError(f"test modules without a tier (set pytestmark = pytest.mark.unit, .integration or "
                                f".deployment, or list them in tests/conftest.py MODULE_TIERS): {sorted(untiered)}")


@pytest.fixture(scope="session")
def dbt_manifest():
    """The dbt manifest Cosmos renders the warehouse DAG from (built once if missing or stale)."""
    from regiowerk.demo.run import build_dbt_manifest

    return build_dbt_manifest()


# ---- the shared real Airflow deployment (deployment tier) --------------------------------------------------------
# One `regiowerk airflow up --demo` per session for the modules that use it (test_airflow_deployment,
# test_airflow_browser); stopped right after the last test that uses it, so it does not run beside the rest.
_airflow: dict = {"deployment": None, "last_user": None}


def pytest_collection_finish(session):
    users = [item.nodeid for item in session.items if "airflow_deployment" in getattr(item, "fixturenames", ())]
    _airflow["last_user"] = users[-1] if users else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if item.nodeid == _airflow["last_user"]:
        _stop_airflow()


def _stop_airflow() -> None:
    import shutil

    from airflow_fixture import state, stop_deployment

    d, _airflow["deployment"] = _airflow["deployment"], None
    if d is None:
        return
    stop_deployment(d)
    if d.runs and not state["error"]:  # all kept for a look at the logs when something failed
        for folder in (d.home, d.data, Path(d.warehouse).parent, d.tmp / "chromium-profile"):
            shutil.rmtree(folder, ignore_errors=True)  # the screenshot and DOM dump stay


@pytest.fixture(scope="session")
def airflow_deployment():
    from airflow_fixture import start_deployment, state

    if state["error"]:
        pytest.fail(f"the Airflow deployment did not start: {state['error']}")
    if _airflow["deployment"] is None:
        try:
            # not tmp_path_factory: pytest sessions running next to this one prune old basetemp folders
            _airflow["deployment"] = start_deployment(Path(tempfile.mkdtemp(prefix="regiowerk-airflow-")))
        except Exception as e:
            state["error"] = repr(e)[:2000]
            raise
    yield _airflow["deployment"]
    _stop_airflow()


@pytest.fixture(scope="session")
def airflow_runs(airflow_deployment):
    from airflow_fixture import trigger_and_wait

    d = airflow_deployment
    if not d.runs:
        d.runs = trigger_and_wait(d)
    return d.runs
# The demo run and its warehouse connection live here, not in a test module: a fixture that a second module
# imports (``demo_run = test_demo_e2e.demo_run``) is a second session fixture, so the demo would run again and
# its reset would delete the warehouse file under the first module's still open connection.
@pytest.fixture(scope="session")
def demo_run(dbt_manifest):
    """One `regiowerk demo` per session (Airflow's dag.test() and dbt start-up are paid once)."""
    from regiowerk.demo.run import demo

    lines: list[str] = []
    states = demo(out=lines.append)
    return states, "\n".join(lines)


@pytest.fixture(scope="session")
def wh(demo_run):
    """A connection to the session's demo warehouse (settings.paths().warehouse)."""
    from regiowerk import warehouse

    con = warehouse.connect()
    yield con
    con.close()

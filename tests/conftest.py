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


@pytest.fixture(scope="session")
def dbt_manifest():
    """The dbt manifest Cosmos renders the warehouse DAG from (built once if missing or stale)."""
    from regiowerk.demo.run import build_dbt_manifest

    return build_dbt_manifest()


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

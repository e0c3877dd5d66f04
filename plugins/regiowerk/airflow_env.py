"""A project-local Airflow: environment settings and metadata database, shared by the demo and the tests.

Must run before ``airflow`` is imported in the process: Airflow reads its configuration at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from regiowerk.settings import paths

# The one-slot Airflow pool shared by the tasks that write the DuckDB warehouse (DuckDB has one writer).
WAREHOUSE_POOL = "regiowerk_warehouse"


def configure(airflow_home: Path | None = None) -> dict[str, str]:
    """Set (without overriding what the user set) the environment of a local Airflow 3 for this project."""
    p = paths()
    home = Path(airflow_home or os.environ.get("AIRFLOW_HOME") or p.root / ".airflow")
    home.mkdir(parents=True, exist_ok=True)
    values = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(p.dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(p.root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "True",
        "GX_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        "AIRFLOW__COSMOS__ENABLE_CACHE": "False",
        "REGIOWERK_WAREHOUSE": str(p.warehouse),
    }
    for k, v in values.items():
        os.environ.setdefault(k, v)
    return {k: os.environ[k] for k in values}


def migrate_metadata_db() -> None:
    """``airflow db migrate`` in a child process (idempotent; ~7 s on SQLite the first time)."""
    airflow = Path(sys.executable).parent / "airflow"
    cmd = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    done = subprocess.run([*cmd, "db", "migrate"], env=os.environ.copy(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")

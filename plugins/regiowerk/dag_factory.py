"""Builds the Airflow DAGs from the partner registry: one DAG per partner and one warehouse DAG.

The DAG files in ``dags/`` only call :func:`build_all`. Nothing here touches a database, an API or an Airflow
Variable at import or build time: the registry is YAML on disk and the dbt manifest is a file.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Asset, AssetAny, TaskGroup, task

from regiowerk import pipeline
from regiowerk.airflow_env import WAREHOUSE_POOL
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner, load_registry
from regiowerk.settings import paths

log = logging.getLogger(__name__)

START = datetime(2026, 1, 1)
OWNER_TEAM = "regiowerk-data"
WAREHOUSE_DAG_ID = "regiowerk_warehouse"
DBT_TARGET_ENV = "REGIOWERK_DBT_TARGET"


def dataset_asset(partner_id: str, dataset: str) -> Asset:
    """The Asset a partner DAG publishes when a delivery of ``dataset`` is loaded into raw."""
    return Asset(name=f"raw.{dataset}.{partner_id}", uri=f"regiowerk://raw/{dataset}/{partner_id}",
                 group="regiowerk")


def notify_failure(context) -> None:
    """Failure callback: one log line that names the partner, the dataset and the task."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    error = context.get("exception")
    log.error("regiowerk: task %s of %s failed: %s", task_id, dag_id, error)


def _default_args(partner_owner: str) -> dict:
    return {
        "owner": partner_owner,
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "on_failure_callback": notify_failure,
    }


def _doc_md(p: Partner) -> str:
    rows = "\n".join(f"| {name} | `{m.source}` |" for name, m in p.datasets.items())
    return f"""### {p.naam} (`{p.partner_id}`)
Partner kind **{p.kind}** in arbeidsmarktregio **{p.regio_code}**{f", gemeente {p.gemeente_code}" if p.gemeente_code else ""}.
Connector: `{p.connector.type}`. Schedule: `{p.schedule}`. Defined in `partners/{p.partner_id}.yml`.

| dataset | source |
|---|---|
{rows}

**Contact:** {p.contact}

**On failure:** open the failed task's log: a rejected delivery names the partner, the source and the column.
Rows with problems are not a failure: they are in `audit.quarantine` (`regiowerk quarantine list`).
Contact the partner when the delivery itself is rejected; the last good data stays in the warehouse.
"""


def _stage(stage: str):
    """A task callable for one stage; delivery-level rejections are recorded in audit before failing."""
    func = getattr(pipeline, stage)

    def run(partner_id: str, dataset: str, delivery: dict | None = None) -> dict:
        try:
            if stage == "extract":
                return func(partner_id, dataset)
            return func(delivery)
        except DeliveryError as e:
            pipeline.record_rejection(partner_id, dataset, e)
            raise

    run.__name__ = stage
    return run


def build_partner_dag(p: Partner) -> DAG:
    with DAG(
        dag_id=p.dag_id,
        schedule=p.schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=_default_args(OWNER_TEAM),
        tags=["regiowerk", "partner", p.kind, p.regio_code],
        doc_md=_doc_md(p),
        description=f"Deliveries of {p.naam}: extract, pseudonymise, validate, load",
    ) as dag:
        for dataset in p.datasets:
            with TaskGroup(group_id=dataset):
                kwargs = {"partner_id": p.partner_id, "dataset": dataset}
                extracted = task(_stage("extract"), task_id="extract")(**kwargs)
                pseudonymised = task(_stage("pseudonymise"), task_id="pseudonymise")(**kwargs, delivery=extracted)
                validated = task(_stage("validate"), task_id="validate")(**kwargs, delivery=pseudonymised)
                task(_stage("load"), task_id="load", outlets=[dataset_asset(p.partner_id, dataset)],
                     pool=WAREHOUSE_POOL, priority_weight=100)(**kwargs, delivery=validated)
    return dag


def dbt_executable() -> str:
    found = Path(sys.executable).parent / "dbt"
    return str(found) if found.exists() else (shutil.which("dbt") or "dbt")


def manifest_path() -> Path:
    return paths().dbt_project / "target" / "manifest.json"


def build_warehouse_dag(partners: dict[str, Partner]) -> DAG:
    """dbt build of the whole project in one Cosmos task.

    DuckDB has one writer, so models cannot run as parallel tasks on it, and one ``dbt build`` process is
    several times faster than one dbt start-up per model. Per-model rendering (DbtTaskGroup from the manifest)
    is for the PostgreSQL deployment; see the README.
    """
    from cosmos import ProfileConfig
    from cosmos.operators.local import DbtBuildLocalOperator

    assets = [dataset_asset(p.partner_id, ds) for p in partners.values() for ds in p.datasets]
    project = paths().dbt_project
    env = {"REGIOWERK_WAREHOUSE": str(paths().warehouse)}
    with DAG(
        dag_id=WAREHOUSE_DAG_ID,
        schedule=AssetAny(*assets) if assets else None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=_default_args(OWNER_TEAM),
        tags=["regiowerk", "warehouse", "dbt"],
        doc_md="""### Regional warehouse
Runs when any partner delivery lands in `raw`: `dbt build` (seeds, staging, intermediate, marts, with their tests)
through Cosmos. On failure: the task log names the failing model or test; the marts keep their last good state
for every model that did not run.""",
        description="dbt build of the harmonised warehouse (Cosmos)",
    ) as dag:
        @task(task_id="prepare_warehouse", pool=WAREHOUSE_POOL)
        def prepare() -> None:
            from regiowerk import warehouse

            con = warehouse.connect()
            try:
                warehouse.ensure_schema(con)
                warehouse.refresh_partners(con, load_registry().values())
            finally:
                con.close()

        build = DbtBuildLocalOperator(
            task_id="dbt_build",
            project_dir=str(project),
            profile_config=ProfileConfig(profile_name="regiowerk",
                                         target_name=os.environ.get(DBT_TARGET_ENV, "duckdb"),
                                         profiles_yml_filepath=project / "profiles.yml"),
            dbt_executable_path=dbt_executable(),
            env=env,
            append_env=True,
            install_deps=False,
            emit_datasets=False,
            pool=WAREHOUSE_POOL,
        )
        prepare() >> build
    return dag


def build_all() -> dict[str, DAG]:
    partners = load_registry()
    dags = {p.dag_id: build_partner_dag(p) for p in partners.values()}
    dags[WAREHOUSE_DAG_ID] = build_warehouse_dag(partners)
    return dags

"""Builds the Airflow DAGs from the partner registry: one DAG per partner, the warehouse DAG and the daily
operations DAG.

The DAG files in ``dags/`` only call :func:`build_all`. Nothing here touches a database, an API or an Airflow
Variable at import or build time: the registry is YAML on disk and the dbt manifest is a file.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Asset, AssetAny, TaskGroup, task

from regiowerk import pipeline
from regiowerk.airflow_env import WAREHOUSE_POOL
from regiowerk.alerts import notify_failure
from regiowerk.dbt_runner import PRODUCTION_DBT_EXCLUDE, PRODUCTION_DBT_FLAGS
from regiowerk.errors import DeliveryError
from regiowerk.registry import Partner, load_registry
from regiowerk.settings import paths, warehouse_target

START = datetime(2026, 1, 1)
OWNER_TEAM = "regiowerk-data"
WAREHOUSE_DAG_ID = "regiowerk_warehouse"
OPERATIONS_DAG_ID = "regiowerk_operations"
OPERATIONS_SCHEDULE = "0 8 * * *"  # daily, after the partners' early-morning deliveries


def dataset_asset(partner_id: str, dataset: str) -> Asset:
    """The Asset a partner DAG publishes when a delivery of ``dataset`` is loaded into raw."""
    return Asset(name=f"raw.{dataset}.{partner_id}", uri=f"regiowerk://raw/{dataset}/{partner_id}",
                 group="regiowerk")


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
    gemeente = f", gemeente {p.gemeente_code}" if p.gemeente_code else ""
    return f"""### {p.naam} (`{p.partner_id}`)
Partner kind **{p.kind}** in arbeidsmarktregio **{p.regio_code}**{gemeente}.
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
        default_args=_default_args(p.owner),  # the owner named in the partner file
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


def prepare_warehouse() -> None:
    """Landing schemas (raw, audit) and raw.partners from the registry, on the warehouse's engine."""
    from regiowerk import warehouse_conn

    with warehouse_conn.connection() as con:
        pipeline.prepare_warehouse(con)


def dbt_target() -> str:
    """The dbt target the warehouse DAG runs: ``duckdb`` or ``postgres``, as the configured warehouse
    (:func:`regiowerk.settings.warehouse_target`; ``REGIOWERK_WAREHOUSE_URL``)."""
    return warehouse_target().dbt_target


def _dbt_profile(target: str):
    from cosmos import ProfileConfig

    return ProfileConfig(profile_name="regiowerk", target_name=target,
                         profiles_yml_filepath=paths().dbt_project / "profiles.yml")


def _dbt_env() -> dict[str, str]:
    """The dbt profile variables that may go into the DAG (serialized): the DuckDB file. PostgreSQL's hold the
    password, so they are set in the task process right before dbt runs (:func:`export_dbt_profile_env`)."""
    target = warehouse_target()
    return {} if target.is_postgres else target.dbt_env()


def export_dbt_profile_env(context=None) -> None:
    """``on_execute_callback`` of the PostgreSQL dbt tasks: the profile variables derived from
    ``REGIOWERK_WAREHOUSE_URL`` into this task process's environment, which Cosmos passes on to dbt
    (``append_env``). At run time, so the password never enters the serialized DAG."""
    os.environ.update(warehouse_target().dbt_env())


def dbt_tasks(target: str):
    """The dbt part of the warehouse DAG for ``target``; returns the task or task group to chain.

    DuckDB (one writer): one ``dbt build`` task (``dbt_build``). Per model, the ~30 seeds, models and snapshot
    plus a test task after each would run one after the other through a one-slot pool, each paying dbt's
    start-up (measured ~5.7 s per invocation against ~26 s for the whole ``dbt build``), see the README.
    PostgreSQL: a Cosmos ``DbtTaskGroup`` rendered from the pre-built manifest (``LoadMode.DBT_MANIFEST``, no
    dbt call while parsing), one task per seed/model/snapshot with its tests after it
    (``TestBehavior.AFTER_EACH``), in parallel where the dbt graph allows.
    """
    if target == "duckdb":
        from cosmos.operators.local import DbtBuildLocalOperator

        return DbtBuildLocalOperator(
            task_id="dbt_build",
            project_dir=str(paths().dbt_project),
            profile_config=_dbt_profile(target),
            dbt_executable_path=dbt_executable(),
            env=_dbt_env(),
            append_env=True,
            install_deps=False,
            emit_datasets=False,
            pool=WAREHOUSE_POOL,
            dbt_cmd_flags=list(PRODUCTION_DBT_FLAGS),  # no unit tests in production (CI runs them)
        )
    from cosmos import DbtTaskGroup, ExecutionConfig, LoadMode, ProjectConfig, RenderConfig, TestBehavior

    return DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(dbt_project_path=paths().dbt_project, manifest_path=manifest_path(),
                                     install_dbt_deps=False, env_vars=_dbt_env()),
        profile_config=_dbt_profile(target),
        execution_config=ExecutionConfig(dbt_executable_path=dbt_executable()),
        # emit_datasets=False: Cosmos's Asset URIs need a TCP host (pgserver in the tests is a unix socket)
        # exclude: no unit tests in production (CI runs them); Cosmos adds it to every model's test task
        # should_detach_multiple_parents_tests: a test of several nodes (a relationships test from a mart to a
        # seed) runs in a task of its own after all of them, not in the seed's test task before the mart exists
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_EACH,
                                   emit_datasets=False, enable_owner_inheritance=False,
                                   should_detach_multiple_parents_tests=True,
                                   exclude=list(PRODUCTION_DBT_EXCLUDE)),
        operator_args={"append_env": True, "on_execute_callback": export_dbt_profile_env},
    )


def build_warehouse_dag(partners: dict[str, Partner]) -> DAG:
    """Prepare the landing schemas, then dbt (see :func:`dbt_tasks` for DuckDB vs PostgreSQL)."""
    assets = [dataset_asset(p.partner_id, ds) for p in partners.values() for ds in p.datasets]
    target = dbt_target()
    with DAG(
        dag_id=WAREHOUSE_DAG_ID,
        schedule=AssetAny(*assets) if assets else None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=_default_args(OWNER_TEAM),
        tags=["regiowerk", "warehouse", "dbt", target],
        doc_md=f"""### Regional warehouse (dbt target `{target}`)
Runs when any partner delivery lands in `raw`: dbt (seeds, staging, intermediate, marts, with their tests)
through Cosmos: one `dbt build` task on DuckDB, one task per model with its tests on PostgreSQL. On failure: the
task log names the failing model or test; the marts keep their last good state for every model that did not run.""",
        description=f"dbt build of the harmonised warehouse (Cosmos, target {target})",
    ) as dag:
        @task(task_id="prepare_warehouse", pool=WAREHOUSE_POOL)
        def prepare() -> None:
            prepare_warehouse()

        @task(task_id="source_freshness", pool=WAREHOUSE_POOL)
        def source_freshness() -> dict:
            """dbt source freshness per partner dataset -> audit.bronversheid (a late partner is logged, not
            failed)."""
            from regiowerk import freshness

            results = freshness.check_and_store(target=target)
            return {"checked": len(results), "late": [f"{r.partner_id}/{r.dataset}" for r in results if r.late]}

        dbt = dbt_tasks(target)
        prepare() >> source_freshness() >> dbt
        if target == "postgres":
            @task(task_id="apply_roles")
            def apply_roles() -> None:
                """Grants and row-level security for the tables dbt (re)created (regiowerk.access)."""
                run_apply_roles()

            dbt >> apply_roles()
    return dag


def run_apply_roles() -> None:
    """``access.apply_roles`` on the PostgreSQL warehouse for every partner and region in the registry."""
    from regiowerk import access, pg

    partners = list(load_registry().values())
    con = pg.connect()
    try:
        access.apply_roles(con, partners, sorted({p.regio_code for p in partners}))
    finally:
        con.close()


def build_operations_dag() -> DAG:
    """Daily: the run summary of yesterday into the task log, and the retention purge."""
    with DAG(
        dag_id=OPERATIONS_DAG_ID,
        schedule=OPERATIONS_SCHEDULE,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=_default_args(OWNER_TEAM),
        tags=["regiowerk", "operations"],
        doc_md="""### Daily operations
`daily_summary` logs yesterday's run summary (`operations.dagelijkse_samenvatting`: deliveries received, loaded
and rejected, rows loaded and quarantined, late partners); the same as `regiowerk summary --date D`.
`retention_purge` removes what is past its retention period (`regiowerk.retention.purge`).""",
        description="Daily run summary and retention purge",
    ) as dag:
        @task(task_id="daily_summary")
        def daily_summary() -> dict:
            from regiowerk import summary

            rows = summary.log_daily_summary()
            return {"partner_datasets": len(rows), "late": [f"{r.partner_id}/{r.dataset}" for r in rows if r.te_laat]}

        @task(task_id="retention_purge", pool=WAREHOUSE_POOL)
        def retention_purge() -> dict:
            from regiowerk import retention

            return retention.purge(days=None, apply=True)

        daily_summary() >> retention_purge()
    return dag


def build_all() -> dict[str, DAG]:
    from regiowerk.settings import environment

    environment()  # an unknown REGIOWERK_ENV fails closed: no DAG is built
    partners = load_registry()
    dags = {p.dag_id: build_partner_dag(p) for p in partners.values()}
    dags[WAREHOUSE_DAG_ID] = build_warehouse_dag(partners)
    dags[OPERATIONS_DAG_ID] = build_operations_dag()
    return dags

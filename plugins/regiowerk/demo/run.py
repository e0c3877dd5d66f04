"""``regiowerk demo``: generate the demo partner sources, run the partner DAGs, then the warehouse DAG.

It runs the very DAGs in ``dags/`` with ``dag.test()`` against a project-local Airflow metadata database. Under
``dag.test()`` an Asset event does not start its consumer, so the demo runs the warehouse DAG itself after the
partner DAGs (the scheduler path is exercised by ``regiowerk airflow up``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from regiowerk import airflow_env, warehouse_conn
from regiowerk.errors import ConfigurationError, RegiowerkError
from regiowerk.settings import paths, warehouse_target

DEMO_CLIENT_ID = "regiowerk-demo"
DEMO_CLIENT_SECRET = "demo-secret-only-for-the-local-api"  # the local stand-in API, not a real credential
MARTS = ("dim_kandidaat", "fct_werkfit_beoordeling", "werkfit_versie_vergelijking", "dim_vacature",
         "kpi_regio_maand", "kpi_werkzoekenden_maand", "fct_plaatsing", "kpi_plaatsingen_maand", "kpi_spanning_beroep",
         "kpi_mbo_aanbod_vraag")


def _say(msg: str) -> None:
    print(msg, flush=True)


def reset_runtime_state() -> None:
    """A demo starts from nothing: warehouse, landing, staging, state and drop zone are removed. A PostgreSQL
    warehouse loses the schemas regiowerk writes (never in production)."""
    p = paths()
    for folder in (p.drop, p.landing, p.staging, p.state, p.runs, p.data / "demo"):
        shutil.rmtree(folder, ignore_errors=True)
    if warehouse_target().is_postgres:
        _drop_postgres_schemas()
        return
    for f in (p.warehouse, Path(str(p.warehouse) + ".wal")):
        f.unlink(missing_ok=True)


def _drop_postgres_schemas() -> None:
    from psycopg2 import sql

    from regiowerk import access, pg

    if os.environ.get("REGIOWERK_ENV") == "production":
        raise ConfigurationError("regiowerk demo refuses to empty a production warehouse (REGIOWERK_ENV=production);"
                                 " run it against a database of its own")
    con = pg.connect()
    try:
        with con.cursor() as cur:
            for schema in (*access.LANDING_SCHEMAS, *access.dbt_schemas(), "bi"):
                cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        con.commit()
    finally:
        con.close()


def set_demo_connections(api_url: str, sis_db: Path) -> None:
    """The partner connections of the demo, as Airflow reads them from the environment."""
    os.environ["AIRFLOW_CONN_REGIOWERK_UWV_HAAGLANDEN"] = json.dumps({
        "conn_type": "http", "host": api_url, "login": DEMO_CLIENT_ID, "password": DEMO_CLIENT_SECRET})
    os.environ["AIRFLOW_CONN_REGIOWERK_MBO_ROC_MONDRIAAN"] = json.dumps({
        "conn_type": "sqlite", "host": str(sis_db)})


def build_dbt_manifest(force: bool = False) -> Path:
    """``dbt parse`` so that Cosmos can render the warehouse DAG from target/manifest.json."""
    from regiowerk.dag_factory import manifest_path
    from regiowerk.dbt_runner import run_dbt
    from regiowerk.freshness import write_sources

    changed = write_sources()  # dbt sources for freshness, generated from the registry (only written on change)
    manifest = manifest_path()
    if changed or force or not manifest.exists() or _stale(manifest):
        run_dbt(["parse"])
    return manifest


def _stale(manifest: Path) -> bool:
    project = paths().dbt_project
    newest = max((f.stat().st_mtime for f in project.rglob("*")
                  if f.is_file() and "target" not in f.parts and "logs" not in f.parts), default=0)
    return newest > manifest.stat().st_mtime


class DemoFailed(RegiowerkError):
    """A task of a demo DAG failed; the message names the DAG, the task and the task's error."""


class _FirstFailure:
    """An extra ``on_failure_callback``: remembers the first failing task and its error."""

    def __init__(self) -> None:
        self.message: str | None = None

    def __call__(self, context) -> None:
        if self.message is None:
            ti, error = context["ti"], context.get("exception")
            self.message = f"task {ti.task_id} of DAG {ti.dag_id} failed: {type(error).__name__}: {error}"


def _fail_fast(dag, recorder: _FirstFailure) -> None:
    """No retries (a failing demo task must not wait out the production retry delays) and the recorder after the
    task's own failure callbacks."""
    for t in dag.tasks:
        t.retries = 0
        callbacks = t.on_failure_callback
        callbacks = list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks] if callbacks else []
        t.on_failure_callback = [*callbacks, recorder]


def run_dags(dag_ids: list[str] | None = None, progress: Callable[[str], None] = _say) -> dict[str, str]:
    """dag.test() each partner DAG, then the warehouse DAG, then the daily operations DAG, in this process, each
    task without retries. Stops at the first DAG run that fails, with :class:`DemoFailed` naming the failing
    task and its error. Returns dag_id -> run state."""
    from airflow.dag_processing.dagbag import DagBag

    from regiowerk.dag_factory import OPERATIONS_DAG_ID, WAREHOUSE_DAG_ID

    bag = DagBag(dag_folder=str(paths().dags))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    last = [WAREHOUSE_DAG_ID, OPERATIONS_DAG_ID]
    ids = dag_ids or sorted(d for d in bag.dag_ids if d not in last) + [d for d in last if d in bag.dag_ids]
    return {dag_id: run_dag(bag.dags[dag_id], progress) for dag_id in ids}


def run_dag(dag, progress: Callable[[str], None] = _say) -> str:
    """``dag.test()`` with every task's retries off; the run state, or :class:`DemoFailed` naming the first
    failing task and its error."""
    started = time.perf_counter()
    progress(f"  running DAG {dag.dag_id} ...")
    recorder = _FirstFailure()
    _fail_fast(dag, recorder)
    run = dag.test()
    state = str(getattr(run, "state", "unknown"))
    progress(f"  {dag.dag_id}: {state} in {time.perf_counter() - started:.1f}s")
    if "success" not in state:
        raise DemoFailed(f"demo stopped: {recorder.message or f'DAG {dag.dag_id} ended {state}'}")
    return state


def delivery_table(con) -> list[tuple]:
    return warehouse_conn.execute(
        con, "SELECT partner_id, dataset, rows_received, rows_loaded, rows_quarantined, status "
             "FROM audit.deliveries ORDER BY partner_id, dataset, received_at")


def mart_counts(con) -> dict[str, int]:
    return {m: warehouse_conn.execute(con, f"SELECT count(*) FROM marts.{m}")[0][0] for m in MARTS}


def print_report(con, out: Callable[[str], None] = _say) -> None:
    rows = delivery_table(con)
    header = ("partner", "dataset", "received", "loaded", "quarantined", "status")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(f"{{:{'<' if i < 2 or i == 5 else '>'}{w}}}" for i, w in enumerate(widths))
    out("\nDeliveries (audit.deliveries):")
    out(line.format(*header))
    for r in rows:
        out(line.format(*r))
    out("\nMarts (row counts):")
    for name, n in mart_counts(con).items():
        out(f"  marts.{name:<30} {n:>8}")
    status = warehouse_conn.execute(
        con, "SELECT werkfit_status, count(*) FROM marts.fct_werkfit_beoordeling "
             "WHERE definitie_versie = (SELECT min(definitie_versie) FROM marts.fct_werkfit_beoordeling) "
             "GROUP BY 1 ORDER BY 1")
    out("\nWerkfit status (first definition version):")
    for s, n in status:
        out(f"  {s:<30} {n:>8}")
    out("\nKPIs (kpi_werkzoekenden_maand, kpi_plaatsingen_maand, kpi_spanning_beroep, kpi_mbo_aanbod_vraag):")
    for line in headlines(con):
        out(line)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n.v.t."


def headlines(con) -> list[str]:
    """One headline per KPI mart: werkzoekenden per leeftijdsgroep, duurzame plaatsing, spanning per beroep, MBO
    aanbod tegen vraag. ``con`` is a connection to either engine (warehouse_conn.execute)."""

    def q(sql: str, params=()) -> list[tuple]:
        return warehouse_conn.execute(con, sql, params)

    month = q("SELECT max(maand) FROM marts.kpi_werkzoekenden_maand")[0][0]
    groups = dict(q(
        "SELECT leeftijdsgroep, sum(aantal_werkzoekenden) FROM marts.kpi_werkzoekenden_maand WHERE maand = ? "
        "GROUP BY leeftijdsgroep", [month]))
    order = ["tot_27", "27_54", "55_plus", "onbekend"]
    lines = [f"  werkzoekenden eind {str(month)[:7]}: {sum(groups.values())} actief; per leeftijdsgroep "
             + ", ".join(f"{g} {groups[g]}" for g in order if g in groups)]
    n, b26, d26, b52, d52, terug = q(
        "SELECT sum(aantal_plaatsingen), sum(aantal_beoordeelbaar_26w), sum(aantal_duurzaam_26w), "
        "sum(aantal_beoordeelbaar_52w), sum(aantal_duurzaam_52w), sum(aantal_terug_in_uitkering) "
        "FROM marts.kpi_plaatsingen_maand")[0]
    lines.append(f"  plaatsingen: {n or 0}; duurzaam na 26 weken {d26 or 0} van {b26 or 0} beoordeelbaar "
                 f"({_pct(d26 or 0, b26 or 0)}), na 52 weken {d52 or 0} van {b52 or 0} "
                 f"({_pct(d52 or 0, b52 or 0)}); terug in een uitkering: {terug or 0}")
    month, rows, with_ratio, kans = q(
        "SELECT max(maand), count(*), count(spanning), count(*) FILTER (WHERE kansberoep) "
        "FROM marts.kpi_spanning_beroep WHERE aantal_open_vacatures > 0 "
        "AND maand = (SELECT max(maand) FROM marts.kpi_spanning_beroep)")[0]
    top = q(
        "SELECT isco_code, aantal_open_vacatures, aantal_kandidaten, spanning FROM marts.kpi_spanning_beroep "
        "WHERE maand = ? AND spanning IS NOT NULL ORDER BY spanning DESC, isco_code LIMIT 3", [month])
    lines.append(f"  spanning {month}: {rows} beroepen met open vacatures, {with_ratio} met kandidaten, {kans} "
                 "kansberoepen; hoogst: " + ", ".join(f"{c} ({v} vac./{k} kand. = {r:.1f})" for c, v, k, r in top))
    year = q("SELECT max(schooljaar) FROM marts.kpi_mbo_aanbod_vraag")[0][0]
    sectors = q(
        "SELECT sector, sum(aantal_inschrijvingen), sum(aantal_diplomas), max(aantal_open_vacatures_sector) "
        "FROM marts.kpi_mbo_aanbod_vraag WHERE schooljaar = ? GROUP BY sector "
        "ORDER BY max(aantal_open_vacatures_sector) DESC, sector LIMIT 4", [year])
    lines.append(f"  mbo {year}: " + ", ".join(f"{s} {i} inschr./{d} dipl./{v} vac." for s, i, d, v in sectors))
    return lines


def demo(keep: bool = False, out: Callable[[str], None] = _say) -> dict[str, str]:
    from regiowerk.demo.generate import generate_demo
    from regiowerk.demo.uwv_api import UwvApiServer

    target = warehouse_target()  # a contradictory warehouse configuration stops here, before anything runs
    airflow_env.configure()
    p = paths()
    if not keep:
        reset_runtime_state()
    out(f"regiowerk demo: region AM21 Haaglanden, warehouse {target.describe()}")
    build_dbt_manifest()  # Cosmos renders the warehouse DAG from it: built when missing or stale
    out("1/4 generating demo partner sources ...")
    sis_db = p.data / "demo" / "sis.sqlite"
    sources = generate_demo(p.drop, sis_db)
    out("2/4 preparing the local Airflow metadata database ...")
    airflow_env.migrate_metadata_db()
    with UwvApiServer(records=sources.uwv_records, client_id=DEMO_CLIENT_ID,
                      client_secret=DEMO_CLIENT_SECRET) as api:
        set_demo_connections(api.url, sis_db)
        out(f"3/4 running the DAGs (UWV stand-in API on {api.url}) ...")
        states = run_dags(progress=out)
    # read-write like dbt-duckdb's connection still open in this process (DuckDB refuses a second configuration)
    with warehouse_conn.connection() as con:
        out("4/4 report")
        print_report(con, out)
    out("")
    out("Look at it:")
    out("  uv run regiowerk bi up                  # the dashboards in Apache Superset (prints URL and login)")
    out("  uv run regiowerk bi check --out bi-check  # every dashboard in headless Chromium, one PNG each")
    out("  uv run regiowerk docs --serve           # dbt docs: lineage from the partner sources to the dashboards")
    return states

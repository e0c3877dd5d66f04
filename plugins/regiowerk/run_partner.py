"""``regiowerk run --partner ID``: one partner's DAG end to end, then the warehouse DAG, on the configured warehouse.

For onboarding a new partner: after ``regiowerk check`` accepts a sample export, put the export in the partner's
drop folder (``$REGIOWERK_DROP_DIR/<directory>``, or on its SFTP server) and run this. It runs the very DAGs in
``dags/`` with ``dag.test()`` (the partner DAG ``partner_<id>``, then ``regiowerk_warehouse``, which is what the
partner's Asset would start under the scheduler) against the project-local Airflow, on the warehouse the
environment configures (the DuckDB file ``REGIOWERK_WAREHOUSE`` by default), and prints the partner's deliveries.
Nothing is reset: unlike ``regiowerk demo`` it works on the warehouse as it is.

Exit code 0 when both DAG runs succeeded, 1 otherwise (the task logs and ``regiowerk deliveries`` say why), 2
for an unknown partner.
"""

from __future__ import annotations

import argparse
import sys


def run_partner(partner_id: str, *, warehouse_dag: bool = True, out=print) -> dict[str, str]:
    """Run ``partner_<id>`` (and the warehouse DAG); dag_id -> run state."""
    from regiowerk import airflow_env
    from regiowerk.dag_factory import WAREHOUSE_DAG_ID
    from regiowerk.demo.run import build_dbt_manifest, run_dags
    from regiowerk.registry import load_registry

    partner = load_registry()[partner_id]
    airflow_env.configure()
    airflow_env.migrate_metadata_db()
    build_dbt_manifest()
    ids = [partner.dag_id] + ([WAREHOUSE_DAG_ID] if warehouse_dag else [])
    return run_dags(ids, progress=out)


def partner_deliveries(partner_id: str) -> list[tuple]:
    from regiowerk import warehouse

    # Not read-only: the DAG runs in this process leave dbt-duckdb's read-write connection open, and DuckDB refuses
    # a second connection to the same file with another configuration (the demo reads it the same way).
    con = warehouse.connect()
    try:
        return con.execute("SELECT dataset, status, rows_received, rows_loaded, rows_quarantined, received_at "
                           "FROM audit.deliveries WHERE partner_id = ? ORDER BY received_at, dataset",
                           [partner_id]).fetchall()
    finally:
        con.close()


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("run", help="run one partner's DAG end to end, then the warehouse DAG",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--partner", required=True, help="partner id (the name of its file in partners/)")
    p.add_argument("--no-warehouse", action="store_true", help="run only the partner DAG, not the warehouse DAG")
    p.set_defaults(func=_cmd_run)
    return p


def _cmd_run(args: argparse.Namespace) -> int:
    from regiowerk.registry import load_registry

    partners = load_registry()
    if args.partner not in partners:
        print(f"regiowerk run: no partner {args.partner!r}; known: {', '.join(sorted(partners))}", file=sys.stderr)
        return 2
    states = run_partner(args.partner, warehouse_dag=not args.no_warehouse)
    print(f"\ndeliveries of {args.partner} (audit.deliveries):")
    for dataset, status, received, loaded, quarantined, at in partner_deliveries(args.partner):
        print(f"  {at}  {dataset:<20} {status:<15} received {received:>7}  loaded {loaded:>7}  "
              f"quarantined {quarantined:>7}")
    failed = {d: s for d, s in states.items() if "success" not in s}
    for dag_id, state in failed.items():
        print(f"regiowerk run: DAG {dag_id} ended {state}; see its task logs and `regiowerk deliveries`",
              file=sys.stderr)
    return 1 if failed else 0

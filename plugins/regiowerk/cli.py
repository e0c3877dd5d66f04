"""The ``regiowerk`` command line. ``regiowerk --help`` lists the commands; each has its own ``--help``."""

from __future__ import annotations

import argparse
import importlib
import sys

from regiowerk import settings
from regiowerk.errors import RegiowerkError
from regiowerk.registry import RegistryError

EPILOG = """environment:
  REGIOWERK_WAREHOUSE_URL  the warehouse: a postgresql:// URL or a DuckDB file; decides loads, dbt, roles, BI
  REGIOWERK_WAREHOUSE      DuckDB warehouse file when REGIOWERK_WAREHOUSE_URL is unset
                           (default: warehouse/regiowerk.duckdb)
  REGIOWERK_DATA_DIR       runtime data: drop zone, landing, state, run reports (default: data/)
  REGIOWERK_PSEUDONYM_KEY_<REGIO>  pseudonymisation key of a region (demo key outside production)
  REGIOWERK_ENV=production refuse the demo key and other development defaults
"""


COMMAND_MODULES = (
    "regiowerk.selfcheck",  # regiowerk check FILE --partner ID
    "regiowerk.demo.national",  # regiowerk generate --scale ...
    "regiowerk.airflow_local",  # regiowerk airflow up|down|status
    "regiowerk.freshness",  # regiowerk freshness [--check]
    "regiowerk.summary",  # regiowerk summary [--date D]
    "regiowerk.keys",  # regiowerk keys status|rotate
    "regiowerk.retention",  # regiowerk retention [--days N] [--apply]
    "regiowerk.run_partner",  # regiowerk run --partner ID
    "regiowerk.matching",  # regiowerk match --vacature ID [--top N]
    "regiowerk.vum_export",  # regiowerk export vum --partner ID --out DIR
    "regiowerk.bi.cli",  # regiowerk bi up|down|check
    "regiowerk.docs",  # regiowerk docs [--out DIR] [--serve]
)


def _cmd_demo(args: argparse.Namespace) -> int:
    from regiowerk.demo.run import demo

    demo(keep=args.keep)
    return 0


def _cmd_registry(args: argparse.Namespace) -> int:
    from regiowerk.registry import load_registry

    partners = load_registry(args.partners_dir)
    for p in partners.values():
        print(f"{p.partner_id:<28} {p.kind:<9} {p.regio_code}  {p.gemeente_code or '':<7} {p.connector.type:<5} "
              f"{p.schedule:<14} {', '.join(p.datasets)}")
    print(f"{len(partners)} partner(s) valid")
    return 0


def _cmd_dbt_manifest(args: argparse.Namespace) -> int:
    from regiowerk.demo.run import build_dbt_manifest

    print(build_dbt_manifest(force=True))
    return 0


def _cmd_expectations(args: argparse.Namespace) -> int:
    from regiowerk.expectations_gen import check_suites_current, write_suites
    from regiowerk.settings import paths

    if args.check:
        diffs = check_suites_current(paths().expectations)
        for d in diffs:
            print(d)
        return 1 if diffs else 0
    write_suites(paths().expectations)
    print(f"suites written to {paths().expectations}")
    return 0


def _cmd_deliveries(args: argparse.Namespace) -> int:
    from regiowerk import warehouse_conn
    from regiowerk.demo.run import delivery_table

    with warehouse_conn.connection(read_only=True) as con:  # DuckDB or PostgreSQL (REGIOWERK_WAREHOUSE_URL)
        for row in delivery_table(con):
            print("  ".join(str(x) for x in row))
    return 0


def _cmd_quarantine_list(args: argparse.Namespace) -> int:
    from regiowerk import warehouse_conn

    with warehouse_conn.borrowed() as con:
        rows = warehouse_conn.execute(
            con, "SELECT partner_id, dataset, bron_rij, redenen FROM audit.quarantine WHERE (? IS NULL OR "
                 "partner_id = ?) AND status = 'open' ORDER BY partner_id, dataset, bron_rij",
            [args.partner, args.partner])
    for partner_id, dataset, row, reasons in rows:
        print(f"{partner_id}  {dataset}  row {row}: {reasons}")
    print(f"{len(rows)} quarantined row(s)")
    return 0


def _cmd_quarantine_replay(args: argparse.Namespace) -> int:
    from regiowerk.quarantine import replay

    summaries = replay(partner_id=args.partner, dataset=args.dataset, delivery_id=args.delivery,
                       dry_run=args.dry_run)
    for s in summaries:
        print(s.line(dry_run=args.dry_run))
    passed = sum(s.passed for s in summaries if not s.skipped)
    total = sum(s.rows for s in summaries)
    print(f"{len(summaries)} deliver{'y' if len(summaries) == 1 else 'ies'}, {total} open row(s): {passed} "
          f"{'would pass' if args.dry_run else 'loaded'}, {total - passed} still quarantined"
          + (" (dry run: nothing changed)" if args.dry_run else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regiowerk",
        description="regiowerk: the shared data platform of an arbeidsmarktregio (partner extracts, "
                    "pseudonymisation, validation, a harmonised dbt warehouse).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate demo partner sources, run the partner DAGs and the warehouse DAG",
                       description="Generates the AM21 Haaglanden demo sources (three gemeente exports, a local "
                                   "UWV API, an MBO database), runs every partner DAG, then the warehouse DAG and "
                                   "the daily operations DAG with dag.test(), and prints the deliveries and the "
                                   "mart row counts (`regiowerk summary` shows the day's run summary).")
    p.add_argument("--keep", action="store_true", help="keep the existing warehouse and state (default: start fresh)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("registry", help="validate and list the partner files")
    p.add_argument("--partners-dir", default=None, help="folder with partner YAML files (default: partners/)")
    p.set_defaults(func=_cmd_registry)

    p = sub.add_parser("dbt-manifest", help="generate the freshness sources from the registry, then parse the dbt "
                                          "project into dbt_project/target/manifest.json (dbt parse)")
    p.set_defaults(func=_cmd_dbt_manifest)

    p = sub.add_parser("expectations", help="regenerate the Great Expectations suites from the canonical contracts")
    p.add_argument("--check", action="store_true", help="only report differences; exit 1 when out of date")
    p.set_defaults(func=_cmd_expectations)

    p = sub.add_parser("deliveries", help="list audit.deliveries")
    p.set_defaults(func=_cmd_deliveries)

    q = sub.add_parser("quarantine", help="inspect and replay quarantined rows")
    qsub = q.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    p = qsub.add_parser("list", help="list open quarantined rows with their reasons")
    p.add_argument("--partner", default=None, help="only this partner id")
    p.set_defaults(func=_cmd_quarantine_list)
    p = qsub.add_parser(
        "replay", help="re-process open quarantined rows after a mapping fix",
        description="Re-maps the open quarantined rows with the CURRENT partner files (from the partner's own "
                    "values of the non-personal columns, kept as audit.quarantine.bronwaarden, and the "
                    "pseudonymised values), validates them exactly as the pipeline does, and loads the rows "
                    "that now pass into raw as a delivery with status 'replayed' (one transaction per original "
                    "delivery; audit.deliveries.replay_of names the original, whose counts move from "
                    "quarantined to loaded). Rows that still fail stay open with their current reasons. "
                    "Reasons about a BSN, postcode or birth date cannot be re-checked and stay. Running it "
                    "again changes nothing. Prints one summary per delivery.")
    p.add_argument("--partner", default=None, help="only this partner id")
    p.add_argument("--dataset", default=None, help="only this canonical dataset (e.g. werkzoekenden)")
    p.add_argument("--delivery", default=None, metavar="ID", help="only this delivery id (audit.deliveries)")
    p.add_argument("--dry-run", action="store_true", help="report what would pass; change nothing")
    p.set_defaults(func=_cmd_quarantine_replay)

    # Commands that live with their own module (each module's add_parser registers it).
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings.environment()  # an unknown REGIOWERK_ENV fails closed before any command runs
        return args.func(args)
    except (RegistryError, RegiowerkError) as e:
        print(f"regiowerk: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

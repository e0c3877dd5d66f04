"""The daily run summary: what arrived, what was quarantined, what is late (``regiowerk summary [--date D]``).

It reads the dbt model ``operations.dagelijkse_samenvatting`` (a view over ``audit.deliveries`` and
``audit.bronversheid``), so the command, the daily ``regiowerk_operations`` DAG and BI all show the same numbers
from one definition. Counts only: no personal data.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from regiowerk.errors import RegiowerkError

VIEW = "operations.dagelijkse_samenvatting"
COLUMNS = ("partner_id", "dataset", "leveringen_ontvangen", "leveringen_geladen", "leveringen_afgewezen",
           "rijen_ontvangen", "rijen_geladen", "rijen_in_quarantaine", "versheid_status", "te_laat")
HEADER = ("partner", "dataset", "deliveries", "loaded", "rejected", "rows", "rows loaded", "quarantined",
          "freshness")


@dataclass(frozen=True)
class SummaryRow:
    partner_id: str
    dataset: str
    leveringen_ontvangen: int
    leveringen_geladen: int
    leveringen_afgewezen: int
    rijen_ontvangen: int
    rijen_geladen: int
    rijen_in_quarantaine: int
    versheid_status: str | None
    te_laat: bool


def today_utc() -> date:
    return datetime.now(UTC).date()


def daily_summary(day: date, con=None, *, read_only: bool = True) -> list[SummaryRow]:
    """The rows of the summary for ``day``; raises RegiowerkError when the operations models are not built.

    ``read_only=False`` inside Airflow tasks: under ``dag.test()`` every task shares one process, and dbt-duckdb
    keeps its read-write connection open there; DuckDB refuses a second connection with another configuration."""
    from regiowerk import warehouse_conn

    sql = f"SELECT {', '.join(COLUMNS)} FROM {VIEW} WHERE dag = ? ORDER BY partner_id, dataset"
    if con is None:
        with warehouse_conn.connection(read_only=read_only) as own:
            return daily_summary(day, own)
    try:
        rows = warehouse_conn.execute(con, sql, [day])
    except Exception as e:  # noqa: BLE001 - DuckDB CatalogException / psycopg2 UndefinedTable
        if "dagelijkse_samenvatting" in str(e) or "does not exist" in str(e):
            raise RegiowerkError(
                f"{VIEW} is not in the warehouse yet: run the warehouse DAG (or `dbt build --select "
                f"path:models/operations`) first") from None
        raise
    return [SummaryRow(*r[:-1], bool(r[-1])) for r in rows]


def format_summary(day: date, rows: list[SummaryRow]) -> list[str]:
    """Lines of text: a table of the day, totals, and the late partner datasets."""
    body = [(r.partner_id, r.dataset, r.leveringen_ontvangen, r.leveringen_geladen, r.leveringen_afgewezen,
             r.rijen_ontvangen, r.rijen_geladen, r.rijen_in_quarantaine, r.versheid_status or "-") for r in rows]
    lines = [f"regiowerk daily summary for {day.isoformat()} (UTC)"]
    if not body:
        return lines + ["  no deliveries and no freshness checks recorded on this day"]
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *body, strict=False)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 8) else '>'}{w}}}" for i, w in enumerate(widths))
    lines += [fmt.format(*HEADER).rstrip()] + [fmt.format(*b).rstrip() for b in body]
    totals = [sum(getattr(r, c) for r in rows) for c in COLUMNS[2:8]]
    lines.append(f"total: {totals[0]} deliveries ({totals[1]} loaded, {totals[2]} rejected); {totals[3]} rows "
                 f"({totals[4]} loaded, {totals[5]} quarantined)")
    late = [f"{r.partner_id}/{r.dataset} ({r.versheid_status})" for r in rows if r.te_laat]
    lines.append(f"late: {', '.join(late)}" if late else "late: none")
    return lines


def log_daily_summary(day: date | None = None, out: Callable[[str], None] | None = None) -> list[SummaryRow]:
    """The task of the daily DAG: the summary of ``day`` (default yesterday, UTC) into the task log."""
    import logging

    day = day or today_utc() - timedelta(days=1)
    rows = daily_summary(day, read_only=False)
    emit = out or logging.getLogger(__name__).info
    for line in format_summary(day, rows):
        emit(line)
    return rows


def _cmd_summary(args: argparse.Namespace) -> int:
    day = args.date or today_utc()
    for line in format_summary(day, daily_summary(day)):
        print(line)
    return 0


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "summary", help="daily run summary: deliveries, rows loaded/quarantined, late partners (counts only)",
        description="Prints operations.dagelijkse_samenvatting for one day: per partner and dataset the "
                    "deliveries received, loaded and rejected, the rows received, loaded and quarantined, and the "
                    "freshness status of the last `dbt source freshness` check that day; then totals and the late "
                    "partner datasets. Reads the warehouse of REGIOWERK_WAREHOUSE / REGIOWERK_WAREHOUSE_URL.")
    p.add_argument("--date", type=_date, default=None, help="the day (YYYY-MM-DD, UTC); default today")
    p.set_defaults(func=_cmd_summary)

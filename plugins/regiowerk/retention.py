"""Retention: purge what the platform no longer needs after a configured number of days (AVG storage limitation).

What is purged (``regiowerk retention`` shows it; ``--apply`` purges it; ``retention.purge()`` does the same
in a daily DAG task):

=============  =================================================================================================
kind           what
=============  =================================================================================================
landing        pseudonymised landing files ``data/landing/<partner>/<dataset>/*.parquet`` older than N days: a
               replay buffer for the last deliveries; the warehouse holds the loaded rows
quarantine     rows of ``audit.quarantine`` that are no longer open (resolved, replayed, ... any status other
               than ``open``) and were quarantined more than N days ago; open rows are never purged
staging        encrypted extract leftovers ``data/staging/<partner>/<dataset>/*`` (a failed run between extract
               and pseudonymise) older than N days or one day, whichever is shorter: they hold clear BSNs,
               encrypted, and a healthy run deletes them within minutes
reports        report folders under ``data/runs`` (``runs/<folder>`` or ``runs/<partner>/<folder>``) whose newest
               file is older than N days
=============  =================================================================================================

Retention days: ``--days N``, else ``REGIOWERK_RETENTION_DAYS``, else DEFAULT_DAYS (35). Rationale: the
longest regular delivery cycle is monthly; 35 days keeps the last delivery of every partner (a replay or a
question about it is possible) plus a week of margin, and nothing older. Everything purged is either already in
the warehouse (landing), or was judged and closed (quarantine), or is a temporary hand-over (staging, reports).

``audit.purges`` gets one row per purge and partner/dataset/kind with counts only (items, rows, bytes), never
values or file names. Works on DuckDB and PostgreSQL (the configured warehouse,
:func:`regiowerk.warehouse_conn.connect`).
"""

from __future__ import annotations

import argparse
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from regiowerk.errors import ConfigurationError

DAYS_ENV = "REGIOWERK_RETENTION_DAYS"
DEFAULT_DAYS = 35
STAGING_MAX_DAYS = 1
KINDS = ("landing", "quarantine", "staging", "reports")
NO_PARTNER = "-"


@dataclass
class Finding:
    """What one kind holds for one partner/dataset that is due: counts, plus the paths (files only)."""

    kind: str
    partner_id: str
    dataset: str
    items: int = 0
    rows: int = 0
    bytes: int = 0
    paths: list[Path] = field(default_factory=list, repr=False)

    def counts(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "paths"}


def retention_days(days: int | None = None) -> int:
    """``days``, else ``REGIOWERK_RETENTION_DAYS``, else DEFAULT_DAYS; a positive whole number of days."""
    if days is None:
        text = os.environ.get(DAYS_ENV, "").strip()
        if not text:
            return DEFAULT_DAYS
        if not text.isdigit():
            raise ConfigurationError(f"{DAYS_ENV} must be a whole number of days, not {text!r}")
        days = int(text)
    if not isinstance(days, int) or days < 1:
        raise ConfigurationError(f"retention days must be a positive whole number (got {days!r})")
    return days


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _mtime(path: Path) -> datetime:
    """Newest modification time of a file, or of anything inside a folder."""
    times = [path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")] if path.is_dir() \
        else [path.stat().st_mtime]
    return datetime.fromtimestamp(max(times), UTC).replace(tzinfo=None)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _add(found: dict, kind: str, partner_id: str, dataset: str, path: Path | None, rows: int = 0,
         size: int = 0) -> None:
    f = found.setdefault((kind, partner_id, dataset), Finding(kind, partner_id, dataset))
    f.items += 1
    f.rows += rows
    f.bytes += size
    if path is not None:
        f.paths.append(path)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - a damaged file is purged all the same; its rows are unknown
        return 0


def _files(found: dict, root: Path, cutoff: datetime, kind: str) -> None:
    """``root/<partner>/<dataset>/<file>`` older than ``cutoff``."""
    if not root.is_dir():
        return
    for path in sorted(p for p in root.glob("*/*/*") if p.is_file()):
        if _mtime(path) < cutoff:
            partner_id, dataset = path.parent.parent.name, path.parent.name
            rows = _parquet_rows(path) if path.suffix == ".parquet" else 0
            _add(found, kind, partner_id, dataset, path, rows, path.stat().st_size)


def _reports(found: dict, root: Path, cutoff: datetime, partner_ids: set[str]) -> None:
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and entry.name in partner_ids:
            for folder in sorted(entry.iterdir()):
                if _mtime(folder) < cutoff:
                    _add(found, "reports", entry.name, NO_PARTNER, folder, size=_size(folder))
        elif _mtime(entry) < cutoff:
            _add(found, "reports", NO_PARTNER, NO_PARTNER, entry, size=_size(entry))


def _quarantine(db, found: dict, cutoff: datetime) -> None:
    if not db.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_schema = 'audit' AND table_name = 'quarantine'")[0][0]:
        return
    for partner_id, dataset, n in db.execute(
            "SELECT partner_id, dataset, count(*) FROM audit.quarantine WHERE " + _DUE_QUARANTINE
            + " GROUP BY partner_id, dataset ORDER BY partner_id, dataset", (cutoff,)):
        f = found.setdefault(("quarantine", partner_id, dataset), Finding("quarantine", partner_id, dataset))
        f.items += int(n)
        f.rows += int(n)


_DUE_QUARANTINE = "coalesce(status, 'open') <> 'open' AND quarantined_at < ?"


def plan(con, days: int | None = None, *, now: datetime | None = None) -> tuple[int, list[Finding]]:
    """(retention days, what is due) without changing anything."""
    from regiowerk.keys import Db
    from regiowerk.registry import load_registry
    from regiowerk.settings import paths

    days = retention_days(days)
    now = now or _now()
    cutoff = now - timedelta(days=days)
    p = paths()
    found: dict[tuple[str, str, str], Finding] = {}
    _files(found, p.landing, cutoff, "landing")
    _quarantine(Db(con), found, cutoff)
    _files(found, p.staging, now - timedelta(days=min(days, STAGING_MAX_DAYS)), "staging")
    try:
        partner_ids = set(load_registry())
    except Exception:  # noqa: BLE001 - a broken registry must not stop retention; reports stay unattributed
        partner_ids = set()
    _reports(found, p.runs, cutoff, partner_ids)
    order = {k: i for i, k in enumerate(KINDS)}
    return days, sorted(found.values(), key=lambda f: (order[f.kind], f.partner_id, f.dataset))


def _ensure(db) -> None:
    from regiowerk.keys import ensure_audit_table
    from regiowerk.warehouse import AUDIT_PURGES

    ensure_audit_table(db, AUDIT_PURGES)


def apply(con, days: int, findings: list[Finding], *, now: datetime | None = None) -> None:
    """Delete the files and folders of ``findings``, then in ONE transaction delete the due quarantine rows and
    record the counts in ``audit.purges``."""
    from regiowerk.keys import Db

    now = now or _now()
    for f in findings:
        for path in f.paths:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    db = Db(con)
    db.begin()
    try:
        _ensure(db)
        if any(f.kind == "quarantine" for f in findings):
            db.execute("DELETE FROM audit.quarantine WHERE " + _DUE_QUARANTINE, (now - timedelta(days=days),))
        for f in findings:
            db.execute("INSERT INTO audit.purges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (now, days, f.kind, f.partner_id, f.dataset, f.items, f.rows, f.bytes))
        db.commit()
    except BaseException:
        db.rollback()
        raise


def purge(days: int | None = None, apply: bool = True, *, con=None) -> dict:
    """Plan (and with ``apply``, carry out) the purge on the configured warehouse; a JSON-able summary with
    counts only (for an Airflow task's XCom): ``{"days", "applied", "purged": [{kind, partner_id, dataset,
    items, rows, bytes}, ...]}``."""
    from regiowerk import warehouse_conn

    own = con is None
    con = con or warehouse_conn.connect()
    try:
        now = _now()
        days, findings = plan(con, days, now=now)
        if apply:
            _apply(con, days, findings, now=now)
    finally:
        if own:
            con.close()
    return {"days": days, "applied": bool(apply), "purged": [f.counts() for f in findings]}


_apply = apply  # purge() has a parameter of that name


# ---- command line: regiowerk retention [--days N] [--apply] ----------------------------------------------------

def _cmd(args: argparse.Namespace) -> int:
    result = purge(args.days, apply=args.apply)
    verb = "purged" if result["applied"] else "would purge"
    print(f"retention {result['days']} days: {verb}")
    print(f"{'kind':<11} {'partner':<28} {'dataset':<20} {'items':>7} {'rows':>9} {'bytes':>12}")
    for f in result["purged"]:
        print(f"{f['kind']:<11} {f['partner_id']:<28} {f['dataset']:<20} {f['items']:>7} {f['rows']:>9} "
              f"{f['bytes']:>12}")
    if not result["purged"]:
        print("(nothing is due)")
    elif not result["applied"]:
        print("dry run: nothing was changed; run with --apply to purge")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``regiowerk retention``."""
    p = subparsers.add_parser(
        "retention", help="show (or --apply: purge) landing files, closed quarantine rows and leftovers past retention",
        description=__doc__.replace("``", "").replace(":func:", "").replace("`", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=None,
                   help=f"retention in days (default: {DAYS_ENV} or {DEFAULT_DAYS})")
    p.add_argument("--apply", action="store_true",
                   help="purge what is due and record the counts in audit.purges (default: dry run)")
    p.set_defaults(func=_cmd)
    return p

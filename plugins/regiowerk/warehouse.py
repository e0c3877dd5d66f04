"""The warehouse's landing schemas (``raw``, ``audit``): DDL generated from the canonical contracts.

dbt owns everything after ``raw`` (staging, intermediate, marts). This module owns the tables the loader
writes: one ``raw.<dataset>`` table per canonical dataset, ``audit.deliveries`` and ``audit.quarantine``.
The DDL is plain ANSI SQL that DuckDB and PostgreSQL both accept.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from regiowerk import canonical

SQL_TYPES = {
    "text": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE PRECISION",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "list": "VARCHAR",  # comma-separated canonical codes, portable across DuckDB and PostgreSQL
}

AUDIT_DELIVERIES = """
CREATE TABLE IF NOT EXISTS audit.deliveries (
    partner_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    delivery_id VARCHAR NOT NULL,
    regio_code VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    loaded_at TIMESTAMP,
    rows_received BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    message VARCHAR,
    volledig BOOLEAN,
    replay_of VARCHAR,
    report_path VARCHAR,
    PRIMARY KEY (delivery_id)
)"""

AUDIT_QUARANTINE = """
CREATE TABLE IF NOT EXISTS audit.quarantine (
    partner_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    delivery_id VARCHAR NOT NULL,
    bron_rij BIGINT NOT NULL,
    redenen VARCHAR NOT NULL,
    waarden VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    bronwaarden VARCHAR
)"""

# Columns added after the first release: (table, column, SQL type). CREATE TABLE above has them; an older
# warehouse gets them through ensure_schema (DuckDB) / pg.ensure_schema (PostgreSQL).
#   audit.deliveries.volledig     the delivery holds the partner's full dataset (not an incremental delta)
#   audit.deliveries.replay_of    for status 'replayed': the delivery whose quarantined rows were re-processed
#   audit.deliveries.report_path  the validation report of the delivery (under data/runs/)
#   audit.quarantine.bronwaarden  JSON: the partner's own values of the non-personal mapped columns (for replay)
ADDED_COLUMNS = [("audit.deliveries", "volledig", "BOOLEAN"), ("audit.deliveries", "replay_of", "VARCHAR"),
                 ("audit.deliveries", "report_path", "VARCHAR"), ("audit.quarantine", "bronwaarden", "VARCHAR")]
DELIVERY_COLUMNS = ("partner_id", "dataset", "delivery_id", "regio_code", "source", "fingerprint", "received_at",
                    "loaded_at", "rows_received", "rows_loaded", "rows_quarantined", "status", "message",
                    "volledig", "replay_of", "report_path")


# One row per partner dataset per `dbt source freshness` run (appended by regiowerk.freshness.store).
AUDIT_BRONVERSHEID = """
CREATE TABLE IF NOT EXISTS audit.bronversheid (
    partner_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    max_loaded_at TIMESTAMP,
    age_hours DOUBLE PRECISION,
    warn_after_hours BIGINT,
    error_after_hours BIGINT,
    checked_at TIMESTAMP NOT NULL,
    message VARCHAR
)"""


# Key versions of the pseudonym key chain (regiowerk.keys rotate/status; checked on every load).
AUDIT_SLEUTELVERSIES = """
CREATE TABLE IF NOT EXISTS audit.sleutelversies (
    versie BIGINT NOT NULL,
    vingerafdruk VARCHAR NOT NULL,
    methode VARCHAR NOT NULL,
    aantal_pseudoniemen BIGINT,
    geroteerd_op TIMESTAMP NOT NULL,
    PRIMARY KEY (versie)
)"""

# What retention purged: counts per kind/partner/dataset, never values or file names (regiowerk.retention).
AUDIT_PURGES = """
CREATE TABLE IF NOT EXISTS audit.purges (
    purged_at TIMESTAMP NOT NULL,
    retention_days BIGINT NOT NULL,
    kind VARCHAR NOT NULL,
    partner_id VARCHAR NOT NULL,
    dataset VARCHAR NOT NULL,
    items BIGINT NOT NULL,
    rows_purged BIGINT NOT NULL,
    bytes_purged BIGINT NOT NULL
)"""

RAW_PARTNERS = """
CREATE TABLE IF NOT EXISTS raw.partners (
    partner_id VARCHAR NOT NULL,
    naam VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    regio_code VARCHAR NOT NULL,
    gemeente_code VARCHAR,
    PRIMARY KEY (partner_id)
)"""


def raw_table(dataset: str) -> str:
    return f"raw.{canonical.dataset(dataset).name}"


def raw_columns(dataset: str) -> list[tuple[str, str]]:
    """(name, SQL type) of ``raw.<dataset>`` in table order: metadata first, then the canonical columns."""
    ds = canonical.dataset(dataset)
    cols = [(name, SQL_TYPES[t]) for name, t in canonical.METADATA_COLUMNS]
    cols += [(c.name, SQL_TYPES[c.type]) for c in ds.stored_columns]
    cols.append(("geladen_op", "TIMESTAMP"))
    return cols


def ddl_statements() -> list[str]:
    """Every landing table of the warehouse, the one list for both engines (DuckDB here, PostgreSQL in
    regiowerk.pg)."""
    stmts = ["CREATE SCHEMA IF NOT EXISTS raw", "CREATE SCHEMA IF NOT EXISTS audit", AUDIT_DELIVERIES,
             AUDIT_QUARANTINE, AUDIT_BRONVERSHEID, AUDIT_SLEUTELVERSIES, AUDIT_PURGES, RAW_PARTNERS]
    for name in canonical.DATASETS:
        cols = ",\n    ".join(f"{c} {t}" for c, t in raw_columns(name))
        stmts.append(f"CREATE TABLE IF NOT EXISTS {raw_table(name)} (\n    {cols}\n)")
    return stmts


def expected_columns(stmts: list[str]) -> set[tuple[str, str, str]]:
    """(schema, table, column) of every ``CREATE TABLE`` in ``stmts`` plus :data:`ADDED_COLUMNS`."""
    out = {tuple(table.split(".")) + (column,) for table, column, _ in ADDED_COLUMNS}
    for stmt in stmts:
        m = re.match(r"\s*CREATE TABLE IF NOT EXISTS (\w+)\.(\w+) \((.*)\)\s*$", stmt, re.S)
        if m:
            for line in m.group(3).split(","):
                name = line.split()[0] if line.split() else ""
                if name and name.upper() not in ("PRIMARY", "KEY") and not name.startswith("("):
                    out.add((m.group(1), m.group(2), name))
    return out


def schema_complete(con) -> bool:
    """Every landing table and column already exists (one query on information_schema; DuckDB)."""
    rows = con.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                       "WHERE table_catalog = current_database() AND table_schema IN ('raw', 'audit')").fetchall()
    return expected_columns(ddl_statements()) <= {tuple(r) for r in rows}


def ensure_schema(con) -> None:
    """Create the raw and audit schemas and tables if missing (idempotent). ``con`` is a DuckDB connection.

    When every table and column already exists (the usual case: once per delivery), one SELECT and no DDL."""
    if schema_complete(con):
        return
    for stmt in ddl_statements():
        con.execute(stmt)
    for table, column, sql_type in ADDED_COLUMNS:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {sql_type}")


def insert_delivery(con, **values) -> None:
    """One row into audit.deliveries by column name (DuckDB or psycopg2 connection); missing columns are NULL."""
    unknown = set(values) - set(DELIVERY_COLUMNS)
    if unknown:
        raise ValueError(f"not a column of audit.deliveries: {', '.join(sorted(unknown))}")
    from regiowerk import warehouse_conn

    cols = [c for c in DELIVERY_COLUMNS if c in values]
    warehouse_conn.execute(
        con, f"INSERT INTO audit.deliveries ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [values[c] for c in cols])


def partner_rows(partners) -> list[tuple]:
    """The rows of raw.partners for the registry's partners."""
    return [(p.partner_id, p.naam, p.kind, p.regio_code, p.gemeente_code) for p in partners]


def same_rows(current, rows) -> bool:
    """``current`` (rows of raw.partners) holds exactly ``rows``, in any order."""
    return Counter(tuple(r) for r in current) == Counter(tuple(r) for r in rows)


PARTNER_SELECT = "SELECT partner_id, naam, kind, regio_code, gemeente_code FROM raw.partners"


def refresh_partners(con, partners) -> None:
    """Mirror the registry into raw.partners (dbt uses it for the partner kind and gemeente); a no-op (one
    SELECT) when raw.partners already equals the registry."""
    rows = partner_rows(partners)
    if same_rows(con.execute(PARTNER_SELECT).fetchall(), rows):
        return
    con.execute("DELETE FROM raw.partners")
    if rows:
        con.executemany("INSERT INTO raw.partners VALUES (?, ?, ?, ?, ?)", rows)


def connect(path: Path | str | None = None, *, read_only: bool = False):
    """Open the DuckDB warehouse (default: settings.paths().warehouse), creating its folder."""
    import duckdb

    from regiowerk.settings import paths

    path = Path(path) if path else paths().warehouse
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)

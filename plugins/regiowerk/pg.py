"""PostgreSQL as the production warehouse: connection, landing DDL and the bulk load of one delivery.

The DDL is :func:`regiowerk.warehouse.ddl_statements` (plain SQL both engines accept). A delivery is loaded
with ``COPY ... FROM STDIN (FORMAT csv)`` from an in-memory CSV written by pyarrow (strings always quoted, NULL
an unquoted empty field, so an empty string and NULL stay different), inside ONE transaction per delivery:

    lock on the delivery id (pg_advisory_xact_lock) -> already loaded? no-op
    -> key version check (regiowerk.keys.check_delivery_keys)
    -> delete leftovers of this delivery_id -> COPY raw.<dataset> -> COPY audit.quarantine
    -> INSERT audit.deliveries -> COMMIT

Two loaders racing on the same delivery serialise on the advisory lock; the second one sees ``loaded`` and
does nothing. Any error rolls the whole delivery back.

The connection comes from ``REGIOWERK_WAREHOUSE_URL`` (``postgresql://user:password@host:port/db``); the URL
is a secret in production (Airflow connection or environment) and is never logged.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from regiowerk import canonical, quarantine, settings, warehouse

URL_ENV = settings.WAREHOUSE_URL_ENV
REASONS = "_redenen"  # same as pipeline.REASONS (not imported: pipeline imports this module)

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE PRECISION": pa.float64(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
}


def warehouse_url() -> str | None:
    """The PostgreSQL warehouse URL, or None when the warehouse is DuckDB (:func:`settings.warehouse_target`)."""
    return settings.warehouse_target().url


is_postgres_url = settings.is_postgres_url


def is_pg_connection(con) -> bool:
    return type(con).__module__.startswith("psycopg2")


def connect(url: str | None = None):
    """A psycopg2 connection (autocommit off) to ``url`` or ``REGIOWERK_WAREHOUSE_URL``."""
    import psycopg2

    url = url or warehouse_url()
    if not is_postgres_url(url):
        raise ValueError(f"{URL_ENV} must be a postgresql:// URL")
    url = url.replace("postgresql+psycopg2://", "postgresql://", 1)
    return psycopg2.connect(url, application_name="regiowerk")


def ensure_schema(conn) -> None:
    """Create the raw and audit schemas and tables if missing (idempotent), committed."""
    stmts = warehouse.ddl_statements()
    with conn.cursor() as cur:
        # every table and column already there (the usual case: once per delivery): one SELECT, no DDL.
        # pg_catalog, not information_schema: that one hides the columns the role has no privilege on
        cur.execute("SELECT n.nspname, c.relname, a.attname FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname IN ('raw', 'audit') AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
                    "AND NOT a.attisdropped")
        if warehouse.expected_columns(stmts) <= set(cur.fetchall()):
            conn.commit()
            return
        cur.execute("SELECT nspname FROM pg_namespace")
        schemas = {r[0] for r in cur.fetchall()}
        for stmt in stmts:
            # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists; the
            # loader role does not have that (regiowerk.access), so existing schemas are skipped
            if stmt.startswith("CREATE SCHEMA IF NOT EXISTS ") and stmt.split()[-1] in schemas:
                continue
            cur.execute(stmt)
        for table, column, sql_type in warehouse.ADDED_COLUMNS:  # an older warehouse: only the owner may ALTER
            schema, name = table.split(".")
            cur.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                        "AND column_name = %s", (schema, name, column))
            if cur.fetchone() is None:
                cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
    conn.commit()


def refresh_partners(conn, partners) -> None:
    """Mirror the registry into raw.partners in one transaction; a no-op (one SELECT) when raw.partners
    already equals the registry."""
    rows = warehouse.partner_rows(partners)
    with conn.cursor() as cur:
        cur.execute(warehouse.PARTNER_SELECT)
        if warehouse.same_rows(cur.fetchall(), rows):
            conn.commit()
            return
        cur.execute("DELETE FROM raw.partners")
        if rows:
            cur.executemany("INSERT INTO raw.partners VALUES (%s, %s, %s, %s, %s)", rows)
    conn.commit()


def _csv(frame: pd.DataFrame, columns: list[tuple[str, str]]) -> io.BytesIO:
    """The frame as CSV in table column order, every column cast to its SQL type first (fails loudly)."""
    arrays, names = [], []
    table = pa.Table.from_pandas(frame, preserve_index=False) if len(frame.columns) else None
    n = len(frame)
    for name, sql_type in columns:
        target = _ARROW_TYPES[sql_type]
        arr = table.column(name) if table is not None and name in table.column_names else pa.nulls(n)
        if pa.types.is_null(arr.type):
            arr = pa.nulls(n, type=target)
        elif target == pa.int64() and pa.types.is_floating(arr.type):
            arr = arr.cast(target)  # safe cast: 12.0 -> 12, 12.5 raises
        elif arr.type != target:
            arr = arr.cast(target)
        arrays.append(arr)
        names.append(name)
    out = io.BytesIO()
    pacsv.write_csv(pa.table(arrays, names=names), out,
                    write_options=pacsv.WriteOptions(include_header=False))
    out.seek(0)
    return out


def _copy(cur, table: str, columns: list[tuple[str, str]], frame: pd.DataFrame) -> None:
    """COPY the frame into ``table``. PostgreSQL refuses COPY FROM into a table whose row-level security
    applies to the current role (regiowerk.access enables it on raw person tables): then COPY goes into a
    temporary table of the same shape (dropped at commit) and one INSERT ... SELECT moves the rows."""
    if len(frame) == 0:
        return
    cols = ", ".join(c for c, _ in columns)
    cur.execute("SELECT row_security_active(%s::regclass)", (table,))
    if not cur.fetchone()[0]:
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", _csv(frame, columns))
        return
    cur.execute(f"CREATE TEMP TABLE _rw_copy (LIKE {table}) ON COMMIT DROP")
    cur.copy_expert(f"COPY _rw_copy ({cols}) FROM STDIN WITH (FORMAT csv)", _csv(frame, columns))
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rw_copy")
    cur.execute("DROP TABLE _rw_copy")


def split_frame(d, frame: pd.DataFrame, now: datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows for raw.<dataset>, rows for audit.quarantine) of a validated landing frame."""
    ds = canonical.dataset(d.dataset)
    stored = list(ds.stored_names)
    bad = frame[REASONS].map(lambda r: isinstance(r, str) and r != "").astype(bool)
    good = frame.loc[~bad, stored + ["bron_rij"]].reset_index(drop=True)
    good["partner_id"] = d.partner_id
    good["regio_code"] = d.regio_code
    good["delivery_id"] = d.delivery_id
    good["geladen_op"] = pd.Timestamp(now)
    quarantined = frame.loc[bad].reset_index(drop=True)
    values = quarantined[stored].astype(object).where(quarantined[stored].notna(), None)
    waarden = [json.dumps(rec, default=str, ensure_ascii=False) for rec in values.to_dict("records")]
    q = pd.DataFrame({
        "partner_id": d.partner_id, "dataset": d.dataset, "delivery_id": d.delivery_id,
        "bron_rij": quarantined["bron_rij"].astype("int64"), "redenen": quarantined[REASONS].astype(object),
        "waarden": pd.Series(waarden, dtype=object), "quarantined_at": pd.Timestamp(now), "status": "open",
        "bronwaarden": quarantine.source_values(quarantined),
    })
    return good, q


QUARANTINE_COLUMNS = [("partner_id", "VARCHAR"), ("dataset", "VARCHAR"), ("delivery_id", "VARCHAR"),
                      ("bron_rij", "BIGINT"), ("redenen", "VARCHAR"), ("waarden", "VARCHAR"),
                      ("quarantined_at", "TIMESTAMP"), ("status", "VARCHAR"), ("bronwaarden", "VARCHAR")]


def delivery_label(d) -> str:
    """How errors name a delivery (``pipeline.Delivery``)."""
    return f"partner {d.partner_id}, dataset {d.dataset}, delivery {d.delivery_id}"


def loaded_counts(conn, delivery_id: str) -> tuple[int, int] | None:
    """(rows_loaded, rows_quarantined) when the delivery is loaded, else None."""
    with conn.cursor() as cur:
        cur.execute("SELECT rows_loaded, rows_quarantined FROM audit.deliveries "
                    "WHERE delivery_id = %s AND status = 'loaded'", (delivery_id,))
        row = cur.fetchone()
    return (int(row[0]), int(row[1])) if row else None


def load_delivery(conn, d, frame: pd.DataFrame) -> str:
    """Load one validated delivery (``pipeline.Delivery``) in ONE transaction; 'loaded' or 'already_loaded'.

    Sets ``d.rows_loaded`` and ``d.rows_quarantined``. The transaction is committed (or rolled back) here;
    the caller's connection must not hold an open transaction it still needs.
    """
    from regiowerk import keys

    now = datetime.now(UTC).replace(tzinfo=None)
    raw_table = warehouse.raw_table(d.dataset)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (d.delivery_id,))
            cur.execute("SELECT rows_loaded, rows_quarantined FROM audit.deliveries "
                        "WHERE delivery_id = %s AND status = 'loaded'", (d.delivery_id,))
            row = cur.fetchone()
            if row:
                conn.rollback()
                d.rows_loaded, d.rows_quarantined = int(row[0]), int(row[1])
                return "already_loaded"
            keys.check_delivery_keys(conn, d.regio_code, what=delivery_label(d))
            good, q = split_frame(d, frame, now)
            cur.execute(f"DELETE FROM {raw_table} WHERE delivery_id = %s", (d.delivery_id,))
            cur.execute("DELETE FROM audit.quarantine WHERE delivery_id = %s", (d.delivery_id,))
            cur.execute("DELETE FROM audit.deliveries WHERE delivery_id = %s", (d.delivery_id,))
            _copy(cur, raw_table, warehouse.raw_columns(d.dataset), good)
            _copy(cur, "audit.quarantine", QUARANTINE_COLUMNS, q)
            cur.execute(
                "INSERT INTO audit.deliveries (partner_id, dataset, delivery_id, regio_code, source, fingerprint, "
                "received_at, loaded_at, rows_received, rows_loaded, rows_quarantined, status, message, volledig, "
                "report_path) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'loaded', NULL, %s, %s)",
                (d.partner_id, d.dataset, d.delivery_id, d.regio_code, d.source, d.fingerprint,
                 datetime.fromisoformat(d.received_at), now, d.rows_received, len(good), len(q), d.full,
                 d.report_path))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    d.rows_loaded, d.rows_quarantined = len(good), len(q)
    return "loaded"

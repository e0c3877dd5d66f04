"""A table in the partner's own database, read through SQLAlchemy.

``mapping.source`` is a table name (optionally ``schema.table``), checked to be a plain identifier before it
is placed in the query; the watermark value is always a bound parameter. With ``mapping.watermark_column`` set
only rows with a value above the stored watermark are read, and the new watermark is the highest value seen
(the stored one is kept when nothing changed).
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa

from regiowerk.connectors.base import ROW_NUMBER_COLUMN, DeliveryContext, Extraction, make_frame, sha256_json, to_text
from regiowerk.registry import Partner, SqlConnector
from regiowerk.secret_store import get_connection
from regiowerk.watermarks import WatermarkStore

TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def build_query(table: str, watermark_column: str | None, watermark: str | None) -> tuple[sa.TextClause, dict]:
    """``SELECT *`` from a validated table name, optionally above a watermark. Raises ValueError on bad names."""
    if not TABLE_NAME.match(table):
        raise ValueError(f"{table!r} is not a plain table name (letters, digits, underscores, one optional "
                         f"schema prefix)")
    sql = f"SELECT * FROM {table}"
    params: dict[str, Any] = {}
    if watermark_column:
        if not COLUMN_NAME.match(watermark_column):
            raise ValueError(f"watermark_column {watermark_column!r} is not a plain column name")
        if watermark is not None:
            sql += f" WHERE {watermark_column} > :watermark"
            params["watermark"] = watermark
        sql += f" ORDER BY {watermark_column}"
    return sa.text(sql), params


def extract_sql(partner: Partner, dataset: str, watermarks: WatermarkStore | None = None) -> Extraction:
    connector = partner.connector
    assert isinstance(connector, SqlConnector)
    mapping = partner.datasets[dataset]
    source = f"table {mapping.source} via conn {connector.conn_id}"
    ctx = DeliveryContext(partner.partner_id, dataset, source)

    previous: str | None = None
    if mapping.watermark_column:
        store = watermarks if watermarks is not None else WatermarkStore()
        previous = store.get(partner.partner_id, dataset)
    try:
        query, params = build_query(mapping.source.strip(), mapping.watermark_column, previous)
    except ValueError as e:
        raise ctx.error(f"refused to query: {e}") from None

    conn = get_connection(connector.conn_id)
    engine = sa.create_engine(conn.uri)
    try:
        with engine.connect() as db:
            result = db.execute(query, params)
            columns = list(result.keys())
            rows = [tuple(r) for r in result]
    except sa.exc.SQLAlchemyError as e:
        # The driver's own message (e.g. "no such table"), without the connection URL.
        detail = str(getattr(e, "orig", None) or e).splitlines()[0]
        raise ctx.error(f"SQL error: {detail}") from None
    finally:
        engine.dispose()

    watermark = None
    if mapping.watermark_column:
        if mapping.watermark_column not in columns:
            raise ctx.error("the watermark column is not in the table", column=mapping.watermark_column)
        position = columns.index(mapping.watermark_column)
        seen = [r[position] for r in rows if r[position] is not None]
        watermark = to_text(max(seen)) if seen else previous

    frame = make_frame(ctx, columns, rows, range(1, len(rows) + 1))
    # Order-independent fingerprint: the same rows in another order are the same delivery.
    text_rows = frame.drop(columns=ROW_NUMBER_COLUMN).values.tolist()
    fingerprint = sha256_json([columns, sorted(json.dumps(r, ensure_ascii=False) for r in text_rows)])
    return Extraction(partner.partner_id, dataset, frame, source, fingerprint, watermark)

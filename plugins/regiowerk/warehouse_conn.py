"""The one place that opens "the configured warehouse" and runs SQL on either engine.

PostgreSQL when ``REGIOWERK_WAREHOUSE_URL`` is a ``postgresql://`` URL, the DuckDB file otherwise: the rule is
:func:`regiowerk.settings.warehouse_target`, which the loader follows too. SQL is written with ``?`` placeholders
(DuckDB style); for psycopg2 they become ``%s``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def uses_postgres() -> bool:
    from regiowerk.settings import warehouse_target

    return warehouse_target().is_postgres


def connect():
    """A new connection to the configured warehouse (psycopg2 or DuckDB); the caller commits and closes."""
    if uses_postgres():
        from regiowerk import pg

        return pg.connect()
    from regiowerk import warehouse

    return warehouse.connect()


@contextmanager
def borrowed(con=None) -> Iterator[object]:
    """``con`` itself when given (left open, not committed), else a new connection closed afterwards."""
    if con is not None:
        yield con
        return
    own = connect()
    try:
        yield own
    finally:
        own.close()


@contextmanager
def connection(*, read_only: bool = False) -> Iterator[object]:
    """A warehouse connection, committed on success (PostgreSQL) and closed afterwards."""
    if uses_postgres():
        from regiowerk import pg

        con = pg.connect()
        try:
            yield con
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()
    else:
        from regiowerk import warehouse

        con = warehouse.connect(read_only=read_only)
        try:
            yield con
        finally:
            con.close()


def is_postgres(con) -> bool:
    from regiowerk import pg

    return pg.is_pg_connection(con)


def execute(con, sql: str, params: Sequence = ()) -> list[tuple]:
    """Run one statement with ``?`` placeholders; returns its rows (empty for statements without a result).
    On psycopg2 the caller commits."""
    if is_postgres(con):
        with con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), tuple(params))
            return cur.fetchall() if cur.description else []
    result = con.execute(sql, list(params))
    return result.fetchall() if result.description else []


def executemany(con, sql: str, rows: Sequence[Sequence]) -> None:
    if not rows:
        return
    if is_postgres(con):
        with con.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])
    else:
        con.executemany(sql, [list(r) for r in rows])

"""What Superset reads: only schema ``bi``.

DuckDB (the demo): a DuckDB file has one writer, and a BI server attached to the warehouse would make a load fail
on the file lock. So ``regiowerk bi up`` copies the ``bi`` views into a file of their own (an *extract*,
``<superset home>/regiowerk_bi.duckdb``, tables ``bi.<view>``) and Superset opens that read-only: the warehouse
is opened for a second at ``bi up`` and never again, and the BI connection cannot reach a person-level table
because the extract holds none. Run ``regiowerk bi up`` again to refresh it.

PostgreSQL: Superset connects to the warehouse itself as the login ``regiowerk_bi_reader``, which may read schema
``bi`` only (regiowerk.access), with its password from ``REGIOWERK_BI_READER_PASSWORD``, in read-only sessions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

BI_SCHEMA = "bi"
BI_READER = "regiowerk_bi_reader"
PASSWORD_ENV = "REGIOWERK_BI_READER_PASSWORD"
# libpq options of every BI session on PostgreSQL: read-only on top of the reader's grants (like the DuckDB
# extract's read_only); the compose init script sets the same on the role
PG_READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"


@dataclass(frozen=True)
class BiSource:
    sqlalchemy_uri: str  # what Superset connects with (a password, if any, stays out of the bundle)
    display: str  # the same without a password, for messages
    tables: frozenset[str]  # relations in schema bi
    engine: str  # "duckdb" or "postgres"


class BiSourceError(RuntimeError):
    pass


def duckdb_extract(warehouse: Path, extract: Path) -> BiSource:
    """Copy every relation of schema ``bi`` of ``warehouse`` into ``extract`` (replaced atomically)."""
    import duckdb

    if not warehouse.exists():
        raise BiSourceError(f"warehouse {warehouse} does not exist: run `uv run regiowerk demo` first")
    extract.parent.mkdir(parents=True, exist_ok=True)
    tmp = extract.with_name(extract.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        try:
            con.execute("ATTACH ? AS wh (READ_ONLY)", [str(warehouse)])
        except duckdb.IOException as e:
            raise BiSourceError(f"warehouse {warehouse} is in use by a writer (a DAG is loading?); try again "
                                f"when it is done ({type(e).__name__})") from None
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' AND table_schema = ? "
            "ORDER BY 1", [BI_SCHEMA]).fetchall()]
        if not names:
            raise BiSourceError(f"warehouse {warehouse} has no schema {BI_SCHEMA}: run the dbt build (regiowerk demo)")
        con.execute(f"CREATE SCHEMA {BI_SCHEMA}")
        for name in names:  # names come from the catalog and are quoted
            con.execute(f'CREATE TABLE {BI_SCHEMA}."{name}" AS SELECT * FROM wh.{BI_SCHEMA}."{name}"')
        con.execute("DETACH wh")
    finally:
        con.close()
    os.replace(tmp, extract)
    uri = f"duckdb:///{extract.resolve()}"
    return BiSource(uri, uri, frozenset(names), "duckdb")


def postgres_source(warehouse_url: str, password: str | None = None) -> BiSource:
    """The warehouse at ``warehouse_url`` as the login ``regiowerk_bi_reader``: host, port, database and query
    (e.g. ``?host=/socket/dir``) of the URL, the user replaced by the reader, its password from
    ``REGIOWERK_BI_READER_PASSWORD`` (the warehouse URL's own user and password are never given to Superset).
    Every session is read-only (``default_transaction_read_only``, in :data:`PG_READ_ONLY_OPTIONS`)."""
    import psycopg2

    p = urlparse(warehouse_url)
    password = password if password is not None else os.environ.get(PASSWORD_ENV)
    if not password:
        raise BiSourceError(f"set {PASSWORD_ENV}: Superset connects to the PostgreSQL warehouse as {BI_READER}")
    host = p.netloc.rsplit("@", 1)[-1]
    public = urlunparse(p._replace(scheme="postgresql+psycopg2", netloc=f"{BI_READER}@{host}"))
    login = f"{quote(BI_READER)}:{quote(password, safe='')}@{host}"
    uri = urlunparse(p._replace(scheme="postgresql+psycopg2", netloc=login))
    try:
        conn = psycopg2.connect(urlunparse(p._replace(scheme="postgresql", netloc=login)),
                                options=PG_READ_ONLY_OPTIONS, connect_timeout=10)
    except psycopg2.OperationalError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BiSourceError(f"cannot connect to {public} as {BI_READER} ({first}): is it a LOGIN with the "
                            f"password in {PASSWORD_ENV} (deploy/postgres-init/warehouse-db)?") from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (BI_SCHEMA,))
            names = frozenset(r[0] for r in cur.fetchall())
    finally:
        conn.close()
    if not names:
        raise BiSourceError(f"{BI_READER} can read nothing in schema {BI_SCHEMA} of {public}: run the dbt build, "
                            "then regiowerk.access.apply_roles (the warehouse DAG does both)")
    return BiSource(uri, public, names, "postgres")

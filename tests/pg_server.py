"""A real PostgreSQL for the tests: the server named by ``REGIOWERK_TEST_PG_URL``, or a pgserver started once.

Use the ``pg_url`` fixture (session scope), or call :func:`server_url` directly. Every caller that wants an
empty database calls :func:`fresh_database` (``CREATE DATABASE``), so test modules never see each other's data.
pgserver (PostgreSQL 16 binaries from PyPI, unix socket, trust authentication) starts in about a second and is
stopped at interpreter exit. As root it runs the server as the system user ``pgserver``; its data directory is
therefore a fresh, world-accessible temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from urllib.parse import urlparse, urlunparse

import pytest

_server = None
_url: str | None = None


def server_url() -> str:
    """URL of the maintenance database of the test server (started on first use)."""
    global _server, _url
    if _url:
        return _url
    env = os.environ.get("REGIOWERK_TEST_PG_URL")
    if env:
        _url = env
        return _url
    import pgserver

    data_dir = tempfile.mkdtemp(prefix="regiowerk-pg-")
    os.chmod(data_dir, 0o777)
    _server = pgserver.get_server(data_dir, cleanup_mode="stop")
    _url = _server.get_uri()
    return _url


def with_database(url: str, database: str) -> str:
    p = urlparse(url)
    return urlunparse(p._replace(path="/" + database))


def fresh_database(prefix: str = "rw", template: str | None = None) -> str:
    """Create an empty database (or a copy of the database at URL ``template``) on the test server; its URL."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(server_url())
    conn.autocommit = True
    with conn.cursor() as cur:
        if template:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{urlparse(template).path.lstrip("/")}"')
        else:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return with_database(server_url(), name)


def dbt_env(url: str) -> dict[str, str]:
    """The environment that points loads and dbt at the database ``url``: ``REGIOWERK_WAREHOUSE_URL`` and the
    dbt profile variables regiowerk derives from it (for a plain ``dbt`` child process)."""
    from regiowerk.settings import WarehouseTarget

    return {"REGIOWERK_WAREHOUSE_URL": url, **WarehouseTarget("postgres", url=url).dbt_env()}


@pytest.fixture(scope="session")
def pg_url() -> str:
    return server_url()


# ---- the demo deliveries, through the real stages, once per session --------------------------------------

_demo = None


class DemoDeliveries:
    """Validated demo deliveries of all five partners (extract -> pseudonymise -> validate, the pipeline code).

    ``deliveries`` holds (xcom dict, landing frame) pairs; the frames are kept in memory so other tests that
    reset the runtime folders cannot take them away. ``bsns`` are all BSNs in the sources, as delivered.
    """

    def __init__(self, sources, deliveries, bsns):
        self.sources = sources
        self.deliveries = deliveries
        self.bsns = bsns

    def load_into(self, conn) -> list[dict]:
        """Load every delivery through regiowerk.pipeline._load_transaction (the PostgreSQL branch)."""
        from regiowerk import pg, pipeline
        from regiowerk.registry import load_registry

        pg.ensure_schema(conn)
        pg.refresh_partners(conn, load_registry().values())
        done = []
        for xcom, frame in self.deliveries:
            d = pipeline.Delivery.from_xcom(dict(xcom))
            d.status = pipeline._load_transaction(conn, d, frame)
            done.append(d.to_xcom())
        return done

    def restore_landing(self) -> None:
        """Write the landing Parquet files again (pipeline.load reads them)."""
        from regiowerk import pipeline

        for xcom, frame in self.deliveries:
            pipeline._write_parquet(frame, pipeline.landing_file(pipeline.Delivery.from_xcom(xcom)))


def _source_bsns(sources) -> set[str]:
    import csv
    import sqlite3

    import openpyxl

    bsns: set[str] = set()
    with sources.den_haag_csv.open(encoding="cp1252", newline="") as f:
        bsns |= {r["BSN"] for r in csv.DictReader(f, delimiter=";")}
    with sources.westland_csv.open(encoding="utf-8-sig", newline="") as f:
        bsns |= {r["bsn"] for r in csv.DictReader(f)}
    ws = openpyxl.load_workbook(sources.delft_xlsx, read_only=True).active
    it = ws.iter_rows(values_only=True)
    header = [str(h) for h in next(it)]
    bsns |= {str(dict(zip(header, r, strict=False))["burgerservicenummer"]) for r in it}
    con = sqlite3.connect(sources.sis_db)
    for table in ("deelnemers", "diplomas"):
        bsns |= {str(r[0]) for r in con.execute(f"SELECT BSN FROM {table}")}
    con.close()
    for records in sources.uwv_records.values():
        for rec in records:
            for k, v in rec.items():
                if k.lower() == "bsn" and v is not None:
                    bsns.add(str(v))
    bsns = {b.strip() for b in bsns if b and b.strip() and b.strip().lower() != "none"}
    return bsns | {b.zfill(9) for b in bsns if b.isdigit() and len(b) == 8}


def demo_deliveries() -> DemoDeliveries:
    global _demo
    if _demo is not None:
        return _demo
    import pandas as pd
    from regiowerk import pipeline
    from regiowerk.demo.generate import generate_demo
    from regiowerk.demo.run import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, set_demo_connections
    from regiowerk.demo.uwv_api import UwvApiServer
    from regiowerk.registry import load_registry

    base = tempfile.mkdtemp(prefix="regiowerk-pgdemo-")
    drop = os.path.join(base, "drop")
    saved = {k: os.environ.get(k) for k in ("REGIOWERK_DROP_DIR", "REGIOWERK_DATA_DIR",
                                            "AIRFLOW_CONN_REGIOWERK_UWV_HAAGLANDEN",
                                            "AIRFLOW_CONN_REGIOWERK_MBO_ROC_MONDRIAAN")}
    os.environ["REGIOWERK_DROP_DIR"] = drop
    # a private data folder: loaded-delivery markers and watermarks that other tests of the session left in
    # the shared one must not turn these first, full deliveries into already-loaded ones or deltas
    os.environ["REGIOWERK_DATA_DIR"] = os.path.join(base, "data")
    try:
        from pathlib import Path

        sources = generate_demo(Path(drop), Path(base) / "sis.sqlite")
        deliveries = []
        with UwvApiServer(records=sources.uwv_records, client_id=DEMO_CLIENT_ID,
                          client_secret=DEMO_CLIENT_SECRET) as api:
            set_demo_connections(api.url, sources.sis_db)
            for partner in load_registry().values():
                for dataset in partner.datasets:
                    d = pipeline.extract(partner.partner_id, dataset, partner=partner)
                    d = pipeline.pseudonymise(d, partner=partner)
                    d = pipeline.validate(d, partner=partner)
                    frame = pd.read_parquet(pipeline.landing_file(pipeline.Delivery.from_xcom(d)))
                    deliveries.append((d, frame))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    _demo = DemoDeliveries(sources, deliveries, _source_bsns(sources))
    return _demo


def run_dbt_build(url: str) -> None:
    """``dbt build`` against the database at ``url`` (REGIOWERK_WAREHOUSE_URL set for the call)."""
    from regiowerk.dbt_runner import run_dbt

    saved = os.environ.get("REGIOWERK_WAREHOUSE_URL")
    os.environ["REGIOWERK_WAREHOUSE_URL"] = url
    try:
        run_dbt(["build"], target="postgres")
    finally:
        if saved is None:
            os.environ.pop("REGIOWERK_WAREHOUSE_URL", None)
        else:
            os.environ["REGIOWERK_WAREHOUSE_URL"] = saved


_built: dict[str, str] = {}


def demo_warehouse(name: str = "shared") -> str:
    """URL of a database holding every demo delivery, regiowerk.access applied, and the dbt build on top, run
    as a login in the regiowerk_transformer group (built once per name)."""
    if name in _built:
        return _built[name]
    import psycopg2
    from regiowerk import access
    from regiowerk.registry import load_registry

    demo = demo_deliveries()
    url = fresh_database("rw_" + name)
    conn = psycopg2.connect(url)
    try:
        demo.load_into(conn)
        access.apply_roles(conn, load_registry().values(), ["AM21"])
        with conn.cursor() as cur:  # a login in the transformer group: dbt runs with least privilege
            cur.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (DBT_LOGIN,))
            if not cur.fetchone()[0]:
                cur.execute(f"CREATE ROLE {DBT_LOGIN} LOGIN PASSWORD '{DBT_PASSWORD}' IN ROLE {access.TRANSFORMER}")
        conn.commit()
        run_dbt_build(dbt_login_url(url))
        access.apply_roles(conn, load_registry().values(), ["AM21"])  # grants on the tables dbt just made
    finally:
        conn.close()
    _built[name] = url
    return url


DBT_LOGIN = "regiowerk_test_dbt"
DBT_PASSWORD = "regiowerk-test-only"  # a throw-away role on a throw-away server


def dbt_login_url(url: str) -> str:
    """``url`` with the dbt test login (member of regiowerk_transformer) as user."""
    p = urlparse(url)
    host = p.netloc.rsplit("@", 1)[-1]
    return urlunparse(p._replace(netloc=f"{DBT_LOGIN}:{DBT_PASSWORD}@{host}"))

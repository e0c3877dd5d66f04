"""The dashboards in a real Superset, checked in a real browser, against the demo warehouse.

One demo run and one Superset (``regiowerk bi up``, ~45 s on 2 cores) per session, shared by the DuckDB tests;
the PostgreSQL tests at the end start one Superset of their own on the loaded PostgreSQL demo warehouse
(tests/pg_server.py), after the first one is down. Chromium is installed when missing (tests/system_packages.py).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from regiowerk import docs
from regiowerk.bi import bundle, check, server
from regiowerk.settings import paths

BUILT = {"regionaal-overzicht", "werkfit-versievergelijking", "leveringen-en-versheid", "duurzame-plaatsing",
         "spanning-kansberoepen", "mbo-aanbod-vraag"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_installed():
    from system_packages import ensure_command

    ensure_command("chromium", "chromium", "chromium-browser")
    return check.chromium()


@pytest.fixture(scope="session")
def bi_env(tmp_path_factory):
    """Environment of the commands run here: a warehouse, data and Airflow home of their own, so no connection
    of this test process (dbt keeps one open after an in-process demo) ever holds the warehouse file."""
    root = tmp_path_factory.mktemp("bi")
    env = dict(os.environ, REGIOWERK_WAREHOUSE=str(root / "warehouse" / "regiowerk.duckdb"),
               REGIOWERK_DATA_DIR=str(root / "data"), AIRFLOW_HOME=str(root / "airflow"),
               REGIOWERK_SUPERSET_HOME=str(root / "superset"))
    env.pop("REGIOWERK_WAREHOUSE_URL", None)
    return env


def regiowerk(env: dict, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "regiowerk.cli", *args], env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=paths().root)
    assert r.returncode == 0, (args, r.stdout[-3000:], r.stderr[-3000:])
    return r


@pytest.fixture(scope="session")
def demo_warehouse(bi_env, dbt_manifest):
    """`regiowerk demo`, as a user runs it."""
    regiowerk(bi_env, "demo")
    return Path(bi_env["REGIOWERK_WAREHOUSE"])


@dataclass
class Running:
    url: str
    home: Path
    output: str
    user: str = server.ADMIN
    password: str = server.DEMO_PASSWORD


@pytest.fixture(scope="session")
def superset(bi_env, demo_warehouse):
    """`regiowerk bi up` once per session; `regiowerk bi down` at the end."""
    port = _free_port()
    try:
        out = regiowerk(bi_env, "bi", "up", "--port", str(port)).stdout
        yield Running(f"http://127.0.0.1:{port}", Path(bi_env["REGIOWERK_SUPERSET_HOME"]), out)
    finally:
        subprocess.run([sys.executable, "-m", "regiowerk.cli", "bi", "down"], env=bi_env, capture_output=True,
                       timeout=120, cwd=paths().root)


def _bi_view(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_definitions_read_only_bi_views_and_a_dashboard_waits_for_its_views():
    defs = bundle.load_definitions()
    models = paths().dbt_project / "models" / "bi"
    views = {f.stem.removeprefix("bi_") for f in models.rglob("bi_*.sql")}
    assert all(d["schema"] == "bi" and d["table_name"] in views for d in defs.datasets.values())
    assert all(c.get("description") for c in defs.charts.values())  # each chart says what it counts
    assert {d["slug"] for d in defs.for_tables(views).dashboards.values()} == BUILT
    # one missing view takes out exactly the dashboards showing it
    without = {d["slug"] for d in defs.for_tables(views - {"versheid_per_partner"}).dashboards.values()}
    assert without == BUILT - {"leveringen-en-versheid"}


def test_bi_up_serves_the_dashboards_and_reads_a_bi_only_extract(superset, demo_warehouse):
    for slug in BUILT:
        assert f"{superset.url}/superset/dashboard/{slug}/" in superset.output
    assert "login admin / regiowerk" in superset.output
    with urllib.request.urlopen(f"{superset.url}/health", timeout=10) as r:
        assert r.read() == b"OK"
    extract = superset.home / "regiowerk_bi.duckdb"
    with duckdb.connect(str(extract), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert schemas == {"bi"}
    assert names == {r[0] for r in _bi_view(demo_warehouse, "SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'bi'")}


def test_bi_check_renders_every_dashboard_with_data(superset, chromium_installed, tmp_path):
    results = check.check(superset.url, superset.user, superset.password, tmp_path)
    assert {r.slug for r in results} == BUILT
    for r in results:
        assert not r.problems, (r.slug, r.problems)
        assert r.charts >= 2
        assert r.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and r.png.stat().st_size > 30_000
    print(f"\nscreenshots: {tmp_path}")


def test_a_number_on_screen_equals_the_bi_view(superset, demo_warehouse):
    api = check.Superset(superset.url, superset.user, superset.password)
    (dashboard,) = [d for d in api.dashboards() if d["slug"] == "regionaal-overzicht"]
    (chart,) = [c for c in api.charts_of(dashboard["id"]) if c["slice_name"] == "Werkzoekenden en werkfit per gemeente"]
    rows = api.chart_data(chart["id"])
    shown = {r["gemeente_code"]: (None if r["aantal_werkzoekenden"] is None else int(r["aantal_werkzoekenden"]))
             for r in rows}
    expected = dict(_bi_view(demo_warehouse, "SELECT gemeente_code, sum(aantal_werkzoekenden) "
                                             "FROM bi.kpi_regio_maand GROUP BY 1"))
    assert shown == {g: (int(v) if v is not None else None) for g, v in expected.items()}
    assert max(v or 0 for v in shown.values()) >= 10  # real numbers, and never a visible count of 1-9
    assert all(v is None or v == 0 or v >= 10 for r in rows for k, v in r.items() if k != "gemeente_code")


def test_the_bi_connection_cannot_read_a_person_level_table(superset):
    api = check.Superset(superset.url, superset.user, superset.password)
    ok = api.sql("SELECT count(*) AS n FROM bi.kpi_regio_maand")
    assert ok.status_code == 200 and ok.json()["data"][0]["n"] > 0
    for table in ("marts.dim_kandidaat", "marts.fct_werkfit_beoordeling", "raw.werkzoekenden", "audit.quarantine"):
        r = api.sql(f"SELECT * FROM {table} LIMIT 1")
        assert r.status_code != 200 and "does not exist" in r.text, (table, r.status_code, r.text[:300])


def test_import_is_idempotent(superset, bi_env):
    def counts():
        with sqlite3.connect(superset.home / "superset.db") as c:
            return [c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("dashboards", "slices", "tables",
                                                                                   "dbs")]

    before = counts()
    assert before == [6, 16, 9, 1]
    again = regiowerk(bi_env, "bi", "up", "--port", superset.url.rsplit(":", 1)[1]).stdout  # running: refresh
    assert superset.url in again
    assert counts() == before


def test_docs_site_shows_the_werkfit_mart_and_the_dashboards(bi_env, demo_warehouse, chromium_installed, tmp_path):
    regiowerk(bi_env, "docs", "--out", str(tmp_path / "site"))
    site = tmp_path / "site"
    manifest = json.loads((site / "manifest.json").read_text())
    urls = {e["url"] for e in manifest["exposures"].values()}
    assert urls == {f"http://127.0.0.1:8088/superset/dashboard/{slug}/" for slug in BUILT}
    depends = {n for e in manifest["exposures"].values() for n in e["depends_on"]["nodes"]}
    assert depends and all(n.startswith("model.regiowerk.bi_") for n in depends)
    httpd = docs.server(site, 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/#!/model/model.regiowerk.fct_werkfit_beoordeling"
        profile = tmp_path / "profile"
        dom = subprocess.run([chromium_installed, *check.BROWSER_FLAGS[:-2], "--virtual-time-budget=15000",
                              f"--user-data-dir={profile}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=180)
    finally:
        httpd.shutdown()
        httpd.server_close()
    html = dom.stdout
    assert "fct_werkfit_beoordeling" in html, dom.stderr[-2000:]
    description = manifest["nodes"]["model.regiowerk.fct_werkfit_beoordeling"]["description"]
    assert description and description.split()[0] in html
    assert "werkfit_status" in html  # its columns are listed on the page


def test_bi_down_stops_what_bi_up_started(superset, bi_env):
    """Runs last in this module: the shared server is stopped here (teardown then finds nothing to stop)."""
    assert "Superset stopped" in regiowerk(bi_env, "bi", "down").stdout
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{superset.url}/health", timeout=5)
    assert "not running" in regiowerk(bi_env, "bi", "down").stdout


# ---- the PostgreSQL warehouse: Superset connects to it as the login regiowerk_bi_reader ------------------------

BI_READER_PASSWORD = "bi-reader-test-only"  # a throw-away login on a throw-away server


def test_postgres_source_refuses_a_missing_password_and_a_refused_login(monkeypatch):
    """Before any Superset: `bi up` names the setting, and a login the server refuses, without the password."""
    import psycopg2
    from pg_server import fresh_database
    from regiowerk import access
    from regiowerk.bi import source

    url = fresh_database("bi_src")
    conn = psycopg2.connect(url)
    access.apply_roles(conn, ["gemeente_delft"], ["AM21"])  # regiowerk_bi_reader as a NOLOGIN group
    conn.close()
    monkeypatch.delenv(source.PASSWORD_ENV, raising=False)
    with pytest.raises(source.BiSourceError, match="set REGIOWERK_BI_READER_PASSWORD"):
        source.postgres_source(url)
    with pytest.raises(source.BiSourceError, match="cannot connect .* as regiowerk_bi_reader") as refused:
        source.postgres_source(url, password="not-the-password")
    assert "not-the-password" not in str(refused.value)


@pytest.fixture(scope="module")
def pg_warehouse():
    """The loaded demo warehouse on PostgreSQL (tests/pg_server.py), with regiowerk_bi_reader made a LOGIN as the
    compose init script makes it (on the shared test server it is a NOLOGIN group; restored afterwards)."""
    import psycopg2
    from pg_server import demo_warehouse
    from regiowerk.access import BI_READER

    url = demo_warehouse()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"ALTER ROLE {BI_READER} LOGIN PASSWORD %s", (BI_READER_PASSWORD,))
    try:
        yield url
    finally:
        with conn.cursor() as cur:
            cur.execute(f"ALTER ROLE {BI_READER} NOLOGIN PASSWORD NULL")
        conn.close()


@pytest.fixture(scope="module")
def pg_superset(pg_warehouse, tmp_path_factory):
    """`regiowerk bi up` with REGIOWERK_WAREHOUSE_URL set to the PostgreSQL warehouse: one Superset for the tests
    below; `bi down` is the last of them (and the teardown, should a test fail before)."""
    root = tmp_path_factory.mktemp("bi_pg")
    env = dict(os.environ, REGIOWERK_WAREHOUSE_URL=pg_warehouse, REGIOWERK_BI_READER_PASSWORD=BI_READER_PASSWORD,
               REGIOWERK_SUPERSET_HOME=str(root / "superset"), REGIOWERK_DATA_DIR=str(root / "data"))
    env.pop("REGIOWERK_WAREHOUSE", None)
    port = _free_port()
    try:
        out = regiowerk(env, "bi", "up", "--port", str(port)).stdout
        yield Running(f"http://127.0.0.1:{port}", Path(env["REGIOWERK_SUPERSET_HOME"]), out), env
    finally:
        subprocess.run([sys.executable, "-m", "regiowerk.cli", "bi", "down"], env=env, capture_output=True,
                       timeout=120, cwd=paths().root)


def _as_bi_reader(url: str, query: str):
    from urllib.parse import urlparse

    import psycopg2

    p = urlparse(url)
    conn = psycopg2.connect(p._replace(netloc=f"regiowerk_bi_reader:{BI_READER_PASSWORD}@"
                                              f"{p.netloc.rsplit('@', 1)[-1]}").geturl())
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        conn.close()


def test_postgres_bi_up_connects_as_bi_reader_and_shows_the_bi_view_numbers(pg_superset, pg_warehouse):
    superset, _ = pg_superset
    assert "reads postgresql+psycopg2://regiowerk_bi_reader@" in superset.output
    assert BI_READER_PASSWORD not in superset.output
    assert BI_READER_PASSWORD not in (superset.home / "dashboards.zip").read_bytes().decode("latin-1")
    for slug in BUILT:
        assert f"{superset.url}/superset/dashboard/{slug}/" in superset.output
    api = check.Superset(superset.url, superset.user, superset.password)
    # the connection Superset queries with (SQL Lab refuses current_user, current_setting and the pg_* views on
    # PostgreSQL, so it is read from Superset's own record): the reader, its password masked, read-only sessions
    (db,) = api.get("/api/v1/database/", q=json.dumps({"filters": [
        {"col": "database_name", "opr": "eq", "value": "regiowerk"}]}))["result"]
    connection = json.dumps(api.get(f"/api/v1/database/{db['id']}/connection")["result"])
    assert "regiowerk_bi_reader:XXXXXXXXXX@" in connection, connection[:500]
    assert "default_transaction_read_only=on" in connection and BI_READER_PASSWORD not in connection
    (dashboard,) = [d for d in api.dashboards() if d["slug"] == "regionaal-overzicht"]
    (chart,) = [c for c in api.charts_of(dashboard["id"]) if c["slice_name"] == "Werkzoekenden en werkfit per gemeente"]
    shown = {r["gemeente_code"]: (None if r["aantal_werkzoekenden"] is None else int(r["aantal_werkzoekenden"]))
             for r in api.chart_data(chart["id"])}
    expected = dict(_as_bi_reader(pg_warehouse, "SELECT gemeente_code, sum(aantal_werkzoekenden) "
                                                "FROM bi.kpi_regio_maand GROUP BY 1"))
    assert shown == {g: (int(v) if v is not None else None) for g, v in expected.items()}
    assert len(shown) >= 3 and max(v or 0 for v in shown.values()) >= 10


def test_postgres_bi_connection_cannot_read_a_person_level_table(pg_superset):
    superset, _ = pg_superset
    api = check.Superset(superset.url, superset.user, superset.password)
    for table in ("marts.dim_kandidaat", "raw.werkzoekenden", "audit.quarantine"):
        r = api.sql(f"SELECT * FROM {table} LIMIT 1")
        assert r.status_code != 200 and "permission denied" in r.text, (table, r.status_code, r.text[:300])


def test_postgres_bi_down_stops_what_bi_up_started(pg_superset):
    superset, env = pg_superset
    assert "Superset stopped" in regiowerk(env, "bi", "down").stdout
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{superset.url}/health", timeout=5)

"""The compose init script of the warehouse database (deploy/postgres-init/warehouse-db), run by psql on a real
PostgreSQL of its own: it creates the logins and grants the BI reader nothing; apply_roles, run as the owner
login regiowerk_etl, is what gives access. Its own pgserver cluster, because role names are cluster-wide and the
shared test server already has a NOLOGIN regiowerk_bi_reader."""

import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
import pytest
from psycopg2 import errors, sql
from regiowerk import access, pg

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "deploy" / "postgres-init" / "warehouse-db" / "regiowerk-roles.psql"


@pytest.fixture(scope="module")
def cluster():
    import pgserver

    data_dir = tempfile.mkdtemp(prefix="regiowerk-pginit-")
    os.chmod(data_dir, 0o777)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    url = server.get_uri()
    psql = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    done = subprocess.run([str(psql), "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-d", url,
                           "-v", "etl_password=etl-test-only", "-v", "bi_reader_password=bi-test-only",
                           "-f", str(INIT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    p = urlparse(url)
    yield p._replace(path="/regiowerk").geturl()
    server.cleanup()


def connect(url, user):
    p = urlparse(url)
    host = p.netloc.rsplit("@", 1)[-1]
    password = {"regiowerk_etl": "etl-test-only", "regiowerk_bi_reader": "bi-test-only"}[user]
    return psycopg2.connect(p._replace(netloc=f"{user}:{password}@{host}").geturl())


def can_select(conn, table) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split("."))))
        return True
    except (errors.InsufficientPrivilege, errors.UndefinedTable):
        return False
    finally:
        conn.rollback()


def test_init_grants_the_bi_reader_nothing_and_apply_roles_only_bi(cluster):
    etl = connect(cluster, "regiowerk_etl")
    # what the pipeline and dbt do as regiowerk_etl before anyone ran apply_roles
    pg.ensure_schema(etl)
    with etl.cursor() as cur:
        for schema in ("marts", "snapshots", "kwaliteit", "operations"):
            cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute("CREATE TABLE marts.dim_kandidaat (persoon_id VARCHAR, regio_code VARCHAR, "
                    "gemeente_code VARCHAR, bronnen VARCHAR)")
        cur.execute("CREATE TABLE snapshots.snap_kandidaat_status (persoon_id VARCHAR)")
        cur.execute("CREATE TABLE kwaliteit.dq_overzicht (aantal BIGINT)")
        cur.execute("CREATE TABLE operations.versheid (partner_id VARCHAR)")
    etl.commit()
    person_level = ["raw.werkzoekenden", "audit.quarantine", "marts.dim_kandidaat",
                    "snapshots.snap_kandidaat_status", "kwaliteit.dq_overzicht", "operations.versheid"]

    bi = connect(cluster, "regiowerk_bi_reader")
    assert not any(can_select(bi, t) for t in person_level)  # the init script over-granted here before

    # apply_roles as the owner login (CREATEROLE), not as a superuser
    access.apply_roles(etl, ["gemeente_delft"], ["AM21"])
    access.apply_roles(etl, ["gemeente_delft"], ["AM21"])
    assert not any(can_select(bi, t) for t in person_level)
    with bi.cursor() as cur:
        cur.execute("SELECT has_schema_privilege('bi', 'USAGE'), "
                    "has_database_privilege(current_database(), 'CREATE')")
        assert cur.fetchone() == (True, False)
    bi.close()
    etl.close()

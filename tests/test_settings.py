"""One setting selects the warehouse: REGIOWERK_WAREHOUSE_URL decides loads, dbt's target and profile; the
separate variables are optional overrides, and a contradictory combination stops with a message."""

from pathlib import Path

import pytest
from regiowerk import pg, warehouse_conn
from regiowerk.dbt_runner import dbt_env, run_dbt
from regiowerk.settings import WarehouseConfigError, paths, warehouse_target

OVERRIDES = ("REGIOWERK_DBT_TARGET", "REGIOWERK_PG_HOST", "REGIOWERK_PG_PORT", "REGIOWERK_PG_USER",
             "REGIOWERK_PG_PASSWORD", "REGIOWERK_PG_DATABASE", "REGIOWERK_PG_SCHEMA")
SECRET = "s3cr=t/pw"
TCP_URL = "postgresql://etl:s3cr%3Dt%2Fpw@warehouse-db:6543/regiowerk"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in (*OVERRIDES, "REGIOWERK_WAREHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGIOWERK_WAREHOUSE", str(tmp_path / "w.duckdb"))


def test_without_url_the_warehouse_is_the_duckdb_file(tmp_path):
    target = warehouse_target()
    assert (target.engine, target.path, target.url) == ("duckdb", tmp_path / "w.duckdb", None)
    assert target.dbt_target == "duckdb"
    assert target.dbt_env() == {"REGIOWERK_PROFILE_PATH": str(tmp_path / "w.duckdb")}
    assert not warehouse_conn.uses_postgres() and pg.warehouse_url() is None


def test_a_duckdb_path_as_url_selects_that_file(monkeypatch, tmp_path):
    monkeypatch.delenv("REGIOWERK_WAREHOUSE")
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", f"duckdb:///{tmp_path}/other.duckdb")
    assert warehouse_target().path == Path(f"{tmp_path}/other.duckdb") == paths().warehouse
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", str(tmp_path / "plain.duckdb"))
    assert warehouse_target().engine == "duckdb" and paths().warehouse == tmp_path / "plain.duckdb"


def test_a_postgres_url_gives_loads_and_dbt_the_same_database(monkeypatch):
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", TCP_URL)
    target = warehouse_target()
    assert target.is_postgres and target.dbt_target == "postgres"
    assert warehouse_conn.uses_postgres() and pg.warehouse_url() == TCP_URL
    assert target.dbt_env() == {
        "REGIOWERK_PROFILE_HOST": "warehouse-db", "REGIOWERK_PROFILE_PORT": "6543",
        "REGIOWERK_PROFILE_USER": "etl", "REGIOWERK_PROFILE_PASSWORD": SECRET,
        "REGIOWERK_PROFILE_DATABASE": "regiowerk", "REGIOWERK_PROFILE_SCHEMA": "public"}
    # the child environment of every dbt call carries them (and the DuckDB file is not what dbt reads)
    assert dbt_env()["REGIOWERK_PROFILE_DATABASE"] == "regiowerk"
    assert SECRET not in repr(target) and SECRET not in target.describe()
    assert target.describe() == "PostgreSQL database regiowerk on warehouse-db:6543"


def test_a_unix_socket_url_as_pgserver_writes_it(monkeypatch):
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", "postgresql://postgres:@/rw_x?host=/tmp/pg-sock")
    env = warehouse_target().dbt_env()
    assert env["REGIOWERK_PROFILE_HOST"] == "/tmp/pg-sock" and env["REGIOWERK_PROFILE_DATABASE"] == "rw_x"
    assert env["REGIOWERK_PROFILE_PORT"] == "5432" and env["REGIOWERK_PROFILE_PASSWORD"] == ""


def test_user_password_and_schema_may_be_overridden_for_dbt(monkeypatch):
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", TCP_URL)
    monkeypatch.setenv("REGIOWERK_PG_USER", "dbt_login")
    monkeypatch.setenv("REGIOWERK_PG_PASSWORD", "other")
    monkeypatch.setenv("REGIOWERK_PG_HOST", "warehouse-db")  # agrees with the URL: allowed
    env = warehouse_target().dbt_env()
    assert (env["REGIOWERK_PROFILE_USER"], env["REGIOWERK_PROFILE_PASSWORD"]) == ("dbt_login", "other")
    assert env["REGIOWERK_PROFILE_DATABASE"] == "regiowerk"


@pytest.mark.parametrize(("env", "named"), [
    ({"REGIOWERK_WAREHOUSE_URL": TCP_URL, "REGIOWERK_DBT_TARGET": "duckdb"}, "REGIOWERK_DBT_TARGET=duckdb"),
    ({"REGIOWERK_DBT_TARGET": "postgres"}, "REGIOWERK_DBT_TARGET=postgres"),
    ({"REGIOWERK_WAREHOUSE_URL": TCP_URL, "REGIOWERK_PG_DATABASE": "elsewhere"}, "REGIOWERK_PG_DATABASE"),
    ({"REGIOWERK_WAREHOUSE_URL": TCP_URL, "REGIOWERK_PG_HOST": "other-host"}, "REGIOWERK_PG_HOST"),
    ({"REGIOWERK_PG_HOST": "warehouse-db"}, "REGIOWERK_PG_HOST"),
    ({"REGIOWERK_WAREHOUSE_URL": "/somewhere/else.duckdb"}, "REGIOWERK_WAREHOUSE"),
])
def test_a_contradictory_combination_stops_with_a_message(monkeypatch, env, named):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(WarehouseConfigError) as e:
        warehouse_target()
    message = str(e.value)
    assert named in message and "REGIOWERK_WAREHOUSE_URL" in message
    assert SECRET not in message and "s3cr" not in message


def test_a_dbt_call_for_another_engine_is_refused_before_dbt_starts(monkeypatch):
    with pytest.raises(ValueError, match="configured warehouse is duckdb"):
        run_dbt(["parse"], target="postgres")


def test_the_warehouse_dag_renders_for_the_url_engine(monkeypatch):
    from regiowerk.dag_factory import _dbt_env, dbt_target

    assert dbt_target() == "duckdb" and _dbt_env() == warehouse_target().dbt_env()
    monkeypatch.setenv("REGIOWERK_WAREHOUSE_URL", TCP_URL)
    assert dbt_target() == "postgres"
    assert _dbt_env() == {}  # the password never goes into the serialized DAG: set at run time instead

"""Connections and variables from the environment (Airflow's JSON and URI forms)."""

from __future__ import annotations

import json

import pytest
from regiowerk import secret_store as secrets
from regiowerk.errors import ConfigurationError
from regiowerk.secret_store import get_connection, get_variable
from regiowerk.watermarks import WatermarkStore


def test_json_form(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_UWV_API", json.dumps({
        "conn_type": "http", "host": "http://127.0.0.1:8080", "login": "client", "password": "p@ss/word",
        "extra": {"scope": "werkzoekenden"}}))
    conn = get_connection("uwv_api")
    assert (conn.conn_type, conn.host, conn.login, conn.password) == ("http", "http://127.0.0.1:8080", "client",
                                                                     "p@ss/word")
    assert conn.extra == {"scope": "werkzoekenden"}
    assert "p@ss/word" not in repr(conn) and "p@ss/word" not in str(conn)


def test_json_form_with_string_extra_and_port(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DB", json.dumps({
        "conn_type": "postgres", "host": "db", "port": "5432", "login": "u", "password": "p w",
        "schema": "sis", "extra": '{"sslmode": "require"}'}))
    conn = get_connection("db")
    assert conn.port == 5432 and conn.extra == {"sslmode": "require"}
    assert conn.uri == "postgresql://u:p%20w@db:5432/sis"


def test_uri_form(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIS", "postgresql://reader:se%40cret@db.example:5433/sis?sslmode=require")
    conn = get_connection("sis")
    assert (conn.conn_type, conn.host, conn.port, conn.schema) == ("postgresql", "db.example", 5433, "sis")
    assert (conn.login, conn.password) == ("reader", "se@cret")
    assert conn.extra == {"sslmode": "require"}
    assert "se@cret" not in repr(conn) and "se%40cret" not in repr(conn)


def test_sqlite_uri_keeps_the_path(monkeypatch, tmp_path):
    uri = f"sqlite:///{tmp_path}/sis.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_SIS", uri)
    conn = get_connection("sis")
    assert conn.uri == uri
    assert conn.host == f"{tmp_path}/sis.sqlite"


def test_sqlite_json_form_builds_a_sqlalchemy_url(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SIS", json.dumps({"conn_type": "sqlite", "host": "/data/sis.sqlite"}))
    assert get_connection("sis").uri == "sqlite:////data/sis.sqlite"


@pytest.fixture
def no_airflow(monkeypatch):
    """Keep Airflow (its import and its metadata database) out of these tests."""
    monkeypatch.setattr(secrets, "_from_airflow", lambda conn_id: None)
    monkeypatch.setattr(secrets, "_variable_from_airflow", lambda name: None)


def test_missing_connection_names_both_ways(monkeypatch, no_airflow):
    monkeypatch.delenv("AIRFLOW_CONN_REGIOWERK_NOT_THERE", raising=False)
    with pytest.raises(ConfigurationError) as info:
        get_connection("regiowerk_not_there")
    message = str(info.value)
    assert "AIRFLOW_CONN_REGIOWERK_NOT_THERE" in message and "airflow connections add" in message


def test_environment_wins_and_airflow_is_the_fallback(monkeypatch):
    from_airflow = secrets.ConnectionInfo("sis", "sqlite", host="/airflow/sis.sqlite")
    monkeypatch.setattr(secrets, "_from_airflow", lambda conn_id: from_airflow if conn_id == "sis" else None)
    monkeypatch.delenv("AIRFLOW_CONN_SIS", raising=False)
    assert get_connection("sis") is from_airflow
    monkeypatch.setenv("AIRFLOW_CONN_SIS", "sqlite:////env/sis.sqlite")
    assert get_connection("sis").host == "/env/sis.sqlite"


def test_variables(monkeypatch, no_airflow):
    monkeypatch.setenv("AIRFLOW_VAR_REGIOWERK_TEST_VAR", "waarde")
    assert get_variable("regiowerk_test_var") == "waarde"
    monkeypatch.delenv("AIRFLOW_VAR_REGIOWERK_TEST_VAR")
    assert get_variable("regiowerk_test_var", "standaard") == "standaard"


def test_watermark_store_round_trip(tmp_path):
    store = WatermarkStore(tmp_path / "state")
    assert store.get("p", "d") is None
    store.set("p", "d", "2026-01-31T06:00:00Z")
    store.set("p", "e", "42")
    assert WatermarkStore(tmp_path / "state").get("p", "d") == "2026-01-31T06:00:00Z"
    assert json.loads((tmp_path / "state" / "p.json").read_text()) == {"d": "2026-01-31T06:00:00Z", "e": "42"}
    assert [f.name for f in (tmp_path / "state").iterdir()] == ["p.json"]  # no temp files left behind

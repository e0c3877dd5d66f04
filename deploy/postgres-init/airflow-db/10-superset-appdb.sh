#!/usr/bin/env bash
# Runs once, on an empty airflow-db volume: creates Superset's own metadata database (users, dashboards, charts)
# next to Airflow's metadata database. Superset reads the warehouse separately, as regiowerk_bi_reader (see
# deploy/superset/provision.py); this role has no access to the airflow database.
set -euo pipefail
: "${SUPERSET_DB_PASSWORD:?SUPERSET_DB_PASSWORD must be set (deploy/.env)}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v superset_password="$SUPERSET_DB_PASSWORD" <<'SQL'
CREATE ROLE superset LOGIN PASSWORD :'superset_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE superset OWNER superset ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE superset FROM PUBLIC;
-- Airflow's metadata (connections, variables) is not for Superset.
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
SQL

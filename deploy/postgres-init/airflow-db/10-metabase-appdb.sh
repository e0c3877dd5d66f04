#!/usr/bin/env bash
# Runs once, on an empty airflow-db volume: creates Metabase's own application database (users, dashboards,
# saved questions) next to Airflow's metadata database. Metabase reads the warehouse separately, as
# regiowerk_bi_reader (see deploy/metabase/bootstrap.py); this role has no access to the airflow database.
set -euo pipefail
: "${METABASE_DB_PASSWORD:?METABASE_DB_PASSWORD must be set (deploy/.env)}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v metabase_password="$METABASE_DB_PASSWORD" <<'SQL'
CREATE ROLE metabase LOGIN PASSWORD :'metabase_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE metabase OWNER metabase ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE metabase FROM PUBLIC;
-- Airflow's metadata (connections, variables) is not for Metabase.
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
SQL

#!/usr/bin/env bash
# Runs once, on an empty warehouse-db volume (postgres image entrypoint, /docker-entrypoint-initdb.d).
# Passwords come from the container environment (deploy/.env via docker-compose.yml), never from this repository.
# The SQL itself is in regiowerk-roles.psql (that extension is ignored by the entrypoint, so it runs only from here).
set -euo pipefail
: "${REGIOWERK_PG_PASSWORD:?REGIOWERK_PG_PASSWORD must be set (deploy/.env)}"
: "${REGIOWERK_BI_READER_PASSWORD:?REGIOWERK_BI_READER_PASSWORD must be set (deploy/.env)}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v etl_password="$REGIOWERK_PG_PASSWORD" \
     -v bi_reader_password="$REGIOWERK_BI_READER_PASSWORD" \
     -f /docker-entrypoint-initdb.d/regiowerk-roles.psql

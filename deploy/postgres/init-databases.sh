#!/bin/sh
# PostgreSQL image entry point hook (docker-entrypoint-initdb.d, first start of an empty volume):
# run init-databases.sql with the services' role passwords, read from the compose secrets.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v dossier_password="$(cat /run/secrets/postgres-dossier-password)" \
  -v planning_password="$(cat /run/secrets/postgres-planning-password)" \
  -v scoring_password="$(cat /run/secrets/postgres-scoring-password)" \
  -f /cchc/init-databases.sql

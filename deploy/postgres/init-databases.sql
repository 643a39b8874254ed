-- One role per service, owner of its own database only; no service uses the superuser.
-- Run once, as a superuser, on an empty server, with each role's password as a psql variable:
--
--   psql -v ON_ERROR_STOP=1 -v dossier_password="$CCHC_POSTGRES_DOSSIER_PASSWORD" \
--        -v planning_password="$CCHC_POSTGRES_PLANNING_PASSWORD" \
--        -v scoring_password="$CCHC_POSTGRES_SCORING_PASSWORD" -f init-databases.sql
--
-- (compose does this through init-databases.sh). A role may log in and use its own database:
-- it owns the database and, through pg_database_owner, its public schema, so it creates its
-- projection tables there. It may not connect to another service's database, create databases
-- or roles, or bypass row security. The services' DATABASE_URLs name these roles.
\set ON_ERROR_STOP on

CREATE ROLE cchc_dossier LOGIN PASSWORD :'dossier_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 50;
CREATE ROLE cchc_planning LOGIN PASSWORD :'planning_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 50;
CREATE ROLE cchc_scoring LOGIN PASSWORD :'scoring_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 50;

CREATE DATABASE cchc_dossier OWNER cchc_dossier;
CREATE DATABASE cchc_planning OWNER cchc_planning;
CREATE DATABASE cchc_scoring OWNER cchc_scoring;

-- PUBLIC may connect to any database by default: only the owner (and superusers) may here.
REVOKE ALL ON DATABASE cchc_dossier FROM PUBLIC;
REVOKE ALL ON DATABASE cchc_planning FROM PUBLIC;
REVOKE ALL ON DATABASE cchc_scoring FROM PUBLIC;

{%- if let Some(v) = plan.server %}

-- V1 is on another server (model: source.server {{ v.name|comment }}), read through postgres_fdw.
-- Connection: psql -v v1_host=… -v v1_dbname=… [-v v1_port=5432] [-v v1_user=postgres];
-- a password, when the server wants one, only from the environment: PGMIG_V1_PASSWORD.
\if :{?v1_port}
\else
\set v1_port 5432
\endif
\if :{?v1_host}
\if :{?v1_dbname}
\else
DO {% filter dollar("need") %} BEGIN RAISE EXCEPTION 'V1 is on another server: give psql -v v1_dbname=…'; END {% endfilter %};
\endif
\else
DO {% filter dollar("need") %} BEGIN RAISE EXCEPTION 'V1 is on another server: give psql -v v1_host=… -v v1_dbname=…'; END {% endfilter %};
\endif
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
-- The server and the staging schema are pgmig's own: made afresh on every run.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS {{ v.staging_schema|ident }} CASCADE;
DROP SERVER IF EXISTS {{ v.server|ident }} CASCADE;
RESET client_min_messages;
CREATE SERVER {{ v.server|ident }} FOREIGN DATA WRAPPER postgres_fdw
  OPTIONS (host :'v1_host', port :'v1_port', dbname :'v1_dbname');
{% include "fdw_mapping.sql" %}
CREATE SCHEMA {{ v.staging_schema|ident }};
IMPORT FOREIGN SCHEMA {{ v.remote_schema|ident }} LIMIT TO ({{ v.tables }})
  FROM SERVER {{ v.server|ident }} INTO {{ v.staging_schema|ident }};

{% include "fdw_catalog_check.sql" %}

-- The guard above ran before these foreign tables existed. Each of their columns has the
-- local type its V1 type's name resolves to here (a domain of the same name, another role's),
-- and postgres_fdw converts every fetched value to it: their types are checked now.
{%- let implicit_written = "'{}'::text[]" %}

{% include "implicit_code_guard.sql" %}
{%- endif %}

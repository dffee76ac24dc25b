-- The user mapping, which holds V1's password, lives only while this script runs: {% if script_transaction -%}
made in the
-- script's transaction, it goes with its end (a failure rolls it back).
{%- else -%}
dropped at
-- its end; a run that fails keeps it until the next run or rollback.sql drops the server.
{%- endif %}
\getenv v1_password PGMIG_V1_PASSWORD
\if :{?v1_user}
\else
\set v1_user postgres
\endif
CREATE USER MAPPING FOR CURRENT_USER SERVER {{ v.server|ident }} OPTIONS (user :'v1_user');
\if :{?v1_password}
-- The password is in no DDL statement (log_statement = ddl or mod, an error's STATEMENT line,
-- pg_dump): one SELECT passes it as a constant (pg_stat_statements keeps `$1`) into a setting
-- local to the transaction, and the DO after it adds it to the mapping with EXECUTE, which
-- log_statement never records (it logs top-level statements). A role that may change
-- log_statement (a superuser) also stops statement logging for that SELECT; README says
-- what still sees the password.
{%- if !script_transaction %}
BEGIN;
{%- endif %}
DO {% filter dollar("quiet") %}
BEGIN
  PERFORM pg_catalog.set_config('pgmig.log_statement', pg_catalog.current_setting('log_statement'), true);
  PERFORM pg_catalog.set_config('pgmig.log_min_duration_statement', pg_catalog.current_setting('log_min_duration_statement'), true);
  PERFORM pg_catalog.set_config('log_statement', 'none', true);
  PERFORM pg_catalog.set_config('log_min_duration_statement', '-1', true);
EXCEPTION WHEN insufficient_privilege THEN
  NULL; -- not this role's to change: the settings stay as they are
END
{% endfilter %};
SELECT 'from PGMIG_V1_PASSWORD' AS v1_password FROM pg_catalog.set_config('pgmig.v1_password', :'v1_password', true);
DO {% filter dollar("password") %}
BEGIN
  IF pg_catalog.current_setting('pgmig.log_statement', true) <> '' THEN
    PERFORM pg_catalog.set_config('log_statement', pg_catalog.current_setting('pgmig.log_statement'), true);
    PERFORM pg_catalog.set_config('log_min_duration_statement', pg_catalog.current_setting('pgmig.log_min_duration_statement'), true);
  END IF;
  EXECUTE pg_catalog.format('ALTER USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (ADD password %L)',
                            {{ v.server|lit }}, pg_catalog.current_setting('pgmig.v1_password'));
  PERFORM pg_catalog.set_config('pgmig.v1_password', '', true);
EXCEPTION WHEN OTHERS THEN
  -- Raised again without the failed statement's text (its CONTEXT), which holds the password.
  RAISE EXCEPTION USING MESSAGE = SQLERRM, ERRCODE = SQLSTATE;
END
{% endfilter %};
{%- if !script_transaction %}
COMMIT;
{%- endif %}
\endif

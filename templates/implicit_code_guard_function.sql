-- The check at the top of this script, as a function: this script commits as it goes, and
-- the locks that keep new code off the written tables end with each COMMIT, so every
-- transaction that writes (or reads V1) calls it first and holds those locks again until
-- its own COMMIT. A trigger, rule, policy or default another role attached between two
-- transactions is refused before it can run with this role's rights.
CREATE OR REPLACE FUNCTION _pgmig.pgmig_implicit_code_guard(written_names text[], read_names text[], cast_type_names text[], called_function_names text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS {% filter dollar("guard") %}
DECLARE
{% include "implicit_code_guard_body.sql" %}
{% endfilter %};

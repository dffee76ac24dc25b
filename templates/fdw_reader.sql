{%- if let Some(v) = plan.server %}
-- V1 is read through postgres_fdw (server {{ v.server|ident|comment }}, made by migrate.sql) as user
-- -v v1_user=… (default postgres), with the password in PGMIG_V1_PASSWORD if it wants one.
-- The transaction turns read only once the user mapping is made, and is rolled back at the
-- end, which drops the mapping. (One that a failed batched run left is replaced meanwhile.)
SET LOCAL client_min_messages = warning;
DROP USER MAPPING IF EXISTS FOR CURRENT_USER SERVER {{ v.server|ident }};
RESET client_min_messages;
{%- let script_transaction = true %}
{% include "fdw_mapping.sql" %}
SET TRANSACTION READ ONLY;
{%- endif %}

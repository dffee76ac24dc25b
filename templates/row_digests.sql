{%- import "step_keys.sql" as keys -%}
-- Each migrated row's digest as migrate leaves it, beside its key in the id map: rollback
-- tells a row the application changed since from the row migrate made. The md5 of the row's
-- text under the settings pinned above, not its xmin: transaction ids wrap around (a frozen
-- row's xmin no longer says when it was written) and a dump and restore gives every row a
-- new one, while both keep the row's text. `t.*`, not `t`: a column named t would stand
-- for the whole row. The text comes from record_out, not a cast: `(t.*)::text` looks in
-- pg_cast, where the table's owner may add a cast from its row type (it owns that type) at
-- any moment, and migrate ran that cast's function as the superuser (fourth review).
SET client_min_messages = warning;
{%- for s in steps %}
-- step {{ s.name|comment }} ({{ plan.model_file|comment }}:{{ s.line }}){% if s.digest_at_insert %}: taken at its insert{% else %}
ALTER TABLE {{ s.keys.map_table }} ADD COLUMN IF NOT EXISTS row_digest text;
UPDATE {{ s.keys.map_table }} AS mapped SET row_digest = md5(pg_catalog.textin(pg_catalog.record_out(t.*)))
FROM {{ s.target|only }} AS t
WHERE {% call keys::made_here(s.keys.key) %}{% endcall %} AND mapped.row_digest IS NULL;
{%- endif %}
{%- endfor %}
RESET client_min_messages;

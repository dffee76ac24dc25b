{%- import "unmapped.sql" as rows %}
{%- if !plan.target_checks.is_empty() %}
-- The rows each filled table holds before migrate, counted when migrate first runs: verify
-- fails on a row no id map holds in a table that was empty, and dates migrate's start.
INSERT INTO _pgmig.targets (model, table_name, rows_before)
VALUES {% for t in plan.target_checks %}({{ plan.model|lit }}, {{ t.table|lit }}, (SELECT count(*) FROM {{ t.table|only }})){% if !loop.last %},
       {% endif %}{% endfor %}
ON CONFLICT DO NOTHING;
{%- if plan.mode == MigrateMode::Transaction %}
-- Waves: the application writes between them. A later wave counts, in each filled table, the
-- rows no id map holds as it begins (rows others wrote), so that verify tells them from rows
-- that came from nowhere; rollback.sql removes the counts of the waves it undoes. Sealed
-- with the bookkeeping (seal.sql).
DO {% filter dollar("wave") %}
DECLARE
  unmapped text;
  n_others bigint;
BEGIN
  IF pg_catalog.current_setting('pgmig.wave') <> '1' THEN
{%- for t in plan.target_checks %}
    unmapped := '';
{%- for m in t.every_map %}
    IF pg_catalog.to_regclass({{ m.table|lit }}) IS NOT NULL THEN
      unmapped := unmapped || {% filter lit %} AND {% call rows::not_in_map(m) %}{% endcall %}{% endfilter %};
    END IF;
{%- endfor %}
    EXECUTE {% filter lit %}SELECT count(*) FROM {{ t.table|only }} AS t WHERE true{% endfilter %} || unmapped INTO n_others;
    INSERT INTO _pgmig.wave_targets (model, table_name, wave, rows_of_others)
    VALUES ({{ plan.model|lit }}, {{ t.table|lit }}, pg_catalog.current_setting('pgmig.wave')::integer, n_others);
{%- endfor %}
  END IF;
END
{% endfilter %};
{%- endif %}
{%- endif %}

{%- if !plan.target_checks.is_empty() %}
-- The rows each filled table holds before migrate, counted when migrate first runs: verify
-- fails on a row no id map holds in a table that was empty, and dates migrate's start.
INSERT INTO _pgmig.targets (model, table_name, rows_before)
VALUES {% for t in plan.target_checks %}({{ plan.model|lit }}, {{ t.table|lit }}, (SELECT count(*) FROM {{ t.table }})){% if !loop.last %},
       {% endif %}{% endfor %}
ON CONFLICT DO NOTHING;
{%- endif %}

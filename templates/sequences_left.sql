{#- Where migrate leaves each sequence it saved (rollback puts one back only while it is still there). -#}
{%- if !plan.sequences.is_empty() %}
-- Where the first wave leaves each sequence: rollback puts one back to its value before migrate
-- only while it is still there (nobody drew from it since, a later wave included: undoing a
-- later wave leaves the sequences alone, and so does undoing all after a later wave drew).
{%- for q in plan.sequences %}
UPDATE _pgmig.sequences AS saved SET (left_value, left_is_called) = (SELECT now_at.last_value, now_at.is_called FROM {{ q.name }} AS now_at)
WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }}
  AND coalesce(NULLIF(pg_catalog.current_setting('pgmig.wave', true), ''), '1') = '1';
{%- endfor %}
{%- endif %}

{#- Where migrate leaves each sequence it saved (rollback puts one back only while it is still there). -#}
{%- if !plan.sequences.is_empty() %}
-- Where migrate leaves each sequence: rollback puts one back to its value before migrate only
-- while it is still there (nobody drew from it since).
{%- for q in plan.sequences %}
UPDATE _pgmig.sequences AS saved SET (left_value, left_is_called) = (SELECT now_at.last_value, now_at.is_called FROM {{ q.name }} AS now_at)
WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }};
{%- endfor %}
{%- endif %}

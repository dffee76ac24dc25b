CREATE TEMPORARY TABLE pg_temp.hierarchy_rows AS
SELECT {{ carry }},
{%- for e in key_exprs %}
       ({{ e }}) AS hierarchy_key_{{ loop.index }},
{%- endfor %}
{%- for e in parent_exprs %}
       ({{ e }}) AS hierarchy_parent_{{ loop.index }},
{%- endfor %}
       NULL::bigint AS hierarchy_depth
{{ from }}
WHERE {{ condition }};

{%- for q in sequences %}
  -- {{ q.name|comment }} back to its value before migrate, unless rows written since in
  -- {{ q.drawn_by_text|comment }} need it higher.
  PERFORM setval({{ q.name_lit }},
                 greatest(saved.last_value, remaining.max_value),
                 CASE WHEN remaining.max_value >= saved.last_value THEN true ELSE saved.is_called END)
  FROM _pgmig.sequences AS saved,
       (SELECT greatest(
{%- for (table, column) in q.drawn_by %}
                 (SELECT max({{ column }}) FROM {{ table }}){% if !loop.last %},{% endif %}
{%- endfor %}) AS max_value) AS remaining
  WHERE saved.model = {{ plan.model_lit }} AND saved.sequence = {{ q.name_lit }};
{%- endfor %}

{%- for q in sequences %}
  -- {{ q.name|comment }} back to its value before migrate, unless rows written since need it higher.
  PERFORM setval({{ q.name_lit }},
                 greatest(saved.last_value, remaining.max_value),
                 CASE WHEN remaining.max_value > saved.last_value THEN true ELSE saved.is_called END)
  FROM _pgmig.sequences AS saved,
       (SELECT max({{ q.column }}) AS max_value FROM {{ table }}) AS remaining
  WHERE saved.model = {{ plan.model_lit }} AND saved.sequence = {{ q.name_lit }};
{%- endfor %}

{%- for q in sequences %}
  -- {{ q.name|comment }} back to its value before migrate, unless rows written since in
  -- {{ q.drawn_by_text|comment }} need it higher. Only when every wave is undone: setval() is not
  -- transactional, and values drawn since the first wave (the application's, a later
  -- wave's) may be in use where rollback cannot see them.
  PERFORM setval({{ q.name|lit }},
                 greatest(saved.last_value, remaining.max_value),
                 CASE WHEN remaining.max_value >= saved.last_value THEN true ELSE saved.is_called END)
  FROM _pgmig.sequences AS saved,
       (SELECT greatest(
{%- for d in q.drawn_by %}
                 (SELECT max({{ d.column|ident }}) FROM {{ d.table }}){% if !loop.last %},{% endif %}
{%- endfor %}) AS max_value) AS remaining
  WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }}
    AND pg_catalog.current_setting('pgmig.undo_from') = '1';
{%- endfor %}

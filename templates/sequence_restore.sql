{%- for q in sequences %}
  -- {{ q.name|comment }} back to its value before migrate, unless rows written since in
  -- {{ q.drawn_by_text|comment }} need it higher. Only when every wave is undone (setval() is not
  -- transactional, and values drawn since the first wave (the application's, a later
  -- wave's) may be in use where rollback cannot see them), and only while it is where migrate
  -- (or an undo above) left it: a value drawn since may be held where rollback cannot see it
  -- (a row deleted since, an id handed out), and a sequence put back would issue it again.
  PERFORM setval({{ q.name|lit }},
                 greatest(saved.last_value, remaining.max_value),
                 CASE WHEN remaining.max_value >= saved.last_value THEN true ELSE saved.is_called END)
  FROM _pgmig.sequences AS saved,
       {{ q.name }} AS now_at,
       (SELECT greatest(
{%- for d in q.drawn_by %}
                 (SELECT max({{ d.column|ident }}) FROM {{ d.table }}){% if !loop.last %},{% endif %}
{%- endfor %}) AS max_value) AS remaining
  WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }}
    AND pg_catalog.current_setting('pgmig.undo_from') = '1'
    AND now_at.last_value = saved.left_value AND now_at.is_called = saved.left_is_called;
  IF FOUND THEN
    UPDATE _pgmig.sequences AS saved SET (left_value, left_is_called) = (SELECT now_at.last_value, now_at.is_called FROM {{ q.name }} AS now_at)
    WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }};
  ELSIF pg_catalog.current_setting('pgmig.undo_from') = '1'
        -- Said once (marked NULL, false below): an undo further down leaves it without a word.
        AND EXISTS (SELECT 1 FROM _pgmig.sequences AS saved
                    WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }}
                      AND (saved.left_value IS NOT NULL OR saved.left_is_called IS NULL)) THEN
    RAISE NOTICE '%', (SELECT pg_catalog.format('%s: left at %s, not put back to %s: values were drawn from it since migrate left it at %s',
                                                 saved.sequence, now_at.last_value, saved.last_value, coalesce(saved.left_value::text, '(unknown: migrate did not finish)'))
                       FROM _pgmig.sequences AS saved, {{ q.name }} AS now_at
                       WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }});
    UPDATE _pgmig.sequences AS saved SET left_value = NULL, left_is_called = false
    WHERE saved.model = {{ plan.model|lit }} AND saved.sequence = {{ q.name|lit }};
  END IF;
{%- endfor %}

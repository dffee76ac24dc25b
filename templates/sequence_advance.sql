  -- Move {{ q.name|comment }} past the copied values of {{ q.column|comment }}.
  PERFORM setval({{ q.name_lit }}, max_value)
  FROM (SELECT max({{ q.column }}) AS max_value FROM {{ s.target }}) AS m
  WHERE max_value IS NOT NULL
    AND max_value >= (SELECT last_value FROM {{ q.name }});

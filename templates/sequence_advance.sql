  -- Move {{ q.name|comment }} past every value in {{ q.drawn_by_text|comment }}
  -- (rows others wrote included): the application's next default value is a free key.
  PERFORM setval({{ q.name|lit }}, max_value)
  FROM (SELECT greatest(
{%- for d in q.drawn_by %}
               (SELECT max({{ d.column }}) FROM {{ d.table }}){% if !loop.last %},{% endif %}
{%- endfor %}) AS max_value) AS m
  WHERE max_value IS NOT NULL
    AND max_value >= (SELECT last_value FROM {{ q.name }});

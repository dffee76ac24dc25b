  -- Move {{ q.name|comment }} past every value in {{ q.drawn_by_text|comment }}
  -- (rows others wrote included){% if q.copied_ids.is_some() %} and past every V1 id this step reads for {{ q.column|ident|comment }}
  -- (whatever `where`, --only or a wave keeps): a row the application inserts between
  -- waves then takes none of the ids a later wave copies{% endif %}: the application's next default value is a free key.
  PERFORM setval({{ q.name|lit }}, max_value)
  FROM (SELECT greatest(
{%- for d in q.drawn_by %}
               (SELECT max({{ d.column|ident }}) FROM {{ d.table }}){% if !loop.last || q.copied_ids.is_some() %},{% endif %}
{%- endfor %}
{%- if let Some(ids) = q.copied_ids %}
               (SELECT max(CAST(({{ ids.expr }}) AS {{ ids.data_type }}))
                  {{ ids.from|sql_indent(16) }})
{%- endif %}) AS max_value) AS m
  WHERE max_value IS NOT NULL
    AND max_value >= (SELECT last_value FROM {{ q.name }});

{%- import "step_repairs.sql" as repairs -%}
{%- for r in s.repairs.columns %}

  -- Preview of the uniqueness repair of {{ r.column|ident|comment }} ({{ plan.model_file|comment }}:{{ r.line }}, on_duplicate: {{ r.strategy|comment }}),
  -- computed as migrate does, with the values earlier steps of this precheck would put in
  -- {{ s.target|comment }} (pgmig_preview) counted as taken: which values change, and to what
  -- (the first five in source key order, named by their V1 key).
  CREATE TEMP TABLE IF NOT EXISTS pgmig_preview (table_name text, column_name text, value text);
  CREATE TEMP TABLE pgmig_repair AS
  SELECT {{ s.keys.order_json }} AS source_order,
         ({{ s.source_key }})::text AS source_key,
         CAST({{ r.original }} AS text) AS original,
         CAST({{ r.original }} AS text) AS value,
         1 AS n
  {{ s.keys.from_unrepaired }}
  WHERE {{ s.rejects.survivors }}
    AND ({{ r.original }}) IS NOT NULL;
  CREATE INDEX ON pgmig_repair (value);
  LOOP
    UPDATE pgmig_repair AS r
    SET n = r.n + 1, value = {% call repairs::next_value(r) %}{% endcall %}
    WHERE r.value IS NOT NULL
      AND (EXISTS (SELECT 1 FROM {{ s.target|only }} AS t WHERE {% call repairs::taken(r) %}{% endcall %})
           OR EXISTS (SELECT 1 FROM pgmig_preview AS p
                      WHERE p.table_name = {{ s.target|lit }} AND p.column_name = {{ r.column|lit }} AND p.value = r.value)
           OR EXISTS (SELECT 1 FROM pgmig_repair AS o
                      WHERE o.value = r.value
                        AND (o.n > 1, o.source_order) < (r.n > 1, r.source_order)));
    EXIT WHEN NOT FOUND;
  END LOOP;
  SELECT count(*),
         string_agg(source_key || ' {% if r.secret %}[redacted]{% else %}' || quote_nullable(original) || '{% endif %} -> ' || quote_nullable(value), ', '
                    ORDER BY source_order) FILTER (WHERE rn <= 5)
  INTO n_found, samples
  FROM (SELECT c.*, row_number() OVER (ORDER BY c.source_order) AS rn
          FROM pgmig_repair AS c
         WHERE c.value IS DISTINCT FROM c.original) AS changed;
  IF n_found > 0 THEN
    RAISE NOTICE 'REPAIR  {{ s.name|notice }}: {{ r.column|ident|notice }}: % values would change (on_duplicate: {{ r.strategy }}), e.g. %', n_found, samples;
  END IF;
  INSERT INTO pgmig_preview (table_name, column_name, value)
  SELECT {{ s.target|lit }}, {{ r.column|lit }}, value FROM pgmig_repair WHERE value IS NOT NULL;
  DROP TABLE pgmig_repair;
{%- endfor %}

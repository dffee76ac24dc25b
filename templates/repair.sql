{%- import "step_repairs.sql" as repairs -%}
{%- for r in s.repairs.columns %}

  -- Uniqueness repair of {{ r.column|ident|comment }} ({{ plan.model_file|comment }}:{{ r.line }}, on_duplicate: {{ r.strategy|comment }}): a value
  -- already in {{ s.target|comment }}, or held by a row of this step that comes first (its own value
  -- before a changed one, then source key order), {% if r.strategy == "suffix" %}gets the smallest free counter
  -- (ana@x.org -> ana+2@x.org){% else %}becomes NULL{% endif %}. Every change goes to _pgmig.changes{% if r.secret %}
  -- (the old value as '[redacted]': the column holds a secret){% endif %}, every candidate found
  -- in {{ s.target|comment }} to _pgmig.repairs_taken.
  CREATE TEMP TABLE pgmig_repair ON COMMIT DROP AS
  SELECT {{ s.keys.key_json }} AS key,
         {{ s.keys.order_json }} AS source_order,
         CAST({{ r.original }} AS text) AS original,
         CAST({{ r.original }} AS text) AS value,
         1 AS n
  {{ s.keys.from_unrepaired }}
  WHERE {{ s.rejects.survivors }}
    AND {{ s.keys.unmigrated }}
    AND ({{ r.original }}) IS NOT NULL;
  CREATE INDEX ON pgmig_repair (value);
  LOOP
    INSERT INTO _pgmig.repairs_taken (model, step, column_name, value_md5)
    SELECT DISTINCT {{ plan.model|lit }}, {{ s.name|lit }}, {{ r.column|lit }}, md5(r.value)
    FROM pgmig_repair AS r
    WHERE r.value IS NOT NULL
      AND EXISTS (SELECT 1 FROM {{ s.target|only }} AS t WHERE {% call repairs::taken(r) %}{% endcall %})
    ON CONFLICT DO NOTHING;
    UPDATE pgmig_repair AS r
    SET n = r.n + 1, value = {% call repairs::next_value(r) %}{% endcall %}
    WHERE r.value IS NOT NULL
      AND (EXISTS (SELECT 1 FROM {{ s.target|only }} AS t WHERE {% call repairs::taken(r) %}{% endcall %})
           OR EXISTS (SELECT 1 FROM pgmig_repair AS o
                      WHERE o.value = r.value
                        AND (o.n > 1, o.source_order) < (r.n > 1, r.source_order)));
    EXIT WHEN NOT FOUND;
  END LOOP;
  INSERT INTO _pgmig.changes (model, step, table_name, key, column_name, old_value, new_value)
  SELECT {{ plan.model|lit }}, {{ s.name|lit }}, {{ s.target|lit }}, r.key, {{ r.column|lit }}, {% if r.secret %}'[redacted]'{% else %}r.original{% endif %}, r.value
  FROM pgmig_repair AS r
  WHERE r.value IS DISTINCT FROM r.original;
  GET DIAGNOSTICS n_repaired = ROW_COUNT;
  n_repaired_all := n_repaired_all + n_repaired;
  DROP TABLE pgmig_repair;
{%- endfor %}

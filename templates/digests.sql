  -- (subject, rows, digest) of the bookkeeping{% if seal_v1 %} and of every V1 table the steps read{% endif %}.
  SELECT '_pgmig.rejects' AS subject, count(*) AS rows, md5(coalesce(string_agg(x.line, E'\n' ORDER BY x.line), '')) AS digest
  FROM (SELECT ROW(b.step, b.rule, b.reason, b.source_table, b.source_key, b.source_row)::text AS line
        FROM _pgmig.rejects AS b WHERE b.model = {{ plan.model|lit }}) AS x
  UNION ALL
  SELECT '_pgmig.changes', count(*), md5(coalesce(string_agg(x.line, E'\n' ORDER BY x.line), ''))
  FROM (SELECT ROW(b.step, b.table_name, b.key, b.column_name, b.old_value, b.new_value)::text AS line
        FROM _pgmig.changes AS b WHERE b.model = {{ plan.model|lit }}) AS x
  UNION ALL
  SELECT '_pgmig.repairs_taken', count(*), md5(coalesce(string_agg(x.line, E'\n' ORDER BY x.line), ''))
  FROM (SELECT ROW(b.step, b.column_name, b.value_md5)::text AS line
        FROM _pgmig.repairs_taken AS b WHERE b.model = {{ plan.model|lit }}) AS x
  UNION ALL
  SELECT '_pgmig.sequences', count(*), md5(coalesce(string_agg(x.line, E'\n' ORDER BY x.line), ''))
  FROM (SELECT ROW(b.sequence, b.last_value, b.is_called, b.left_value, b.left_is_called)::text AS line
        FROM _pgmig.sequences AS b WHERE b.model = {{ plan.model|lit }}) AS x
  UNION ALL
  SELECT '_pgmig.reference', count(*), md5(coalesce(string_agg(x.line, E'\n' ORDER BY x.line), ''))
  FROM (SELECT ROW(b.table_name, b.key, b.row_digest)::text AS line
        FROM _pgmig.reference AS b WHERE b.model = {{ plan.model|lit }}) AS x
  UNION ALL
  SELECT '_pgmig.wave_targets', count(*), md5(coalesce(string_agg(x.line, E'\n' ORDER BY x.line), ''))
  FROM (SELECT ROW(b.table_name, b.wave, b.rows_of_others)::text AS line
        FROM _pgmig.wave_targets AS b WHERE b.model = {{ plan.model|lit }}) AS x
{%- import "v1_table.sql" as sealed_v1 %}
{%- if seal_v1 %}
{%- for t in plan.v1_tables %}
  UNION ALL
  SELECT {{ "V1 {}"|format(t.table)|lit }}, count(*), md5(coalesce(string_agg(pg_catalog.textin(pg_catalog.record_out(t.*)), E'\n' ORDER BY {% call sealed_v1::order(t) %}{% endcall %}), ''))
  FROM {{ t.table }} AS t
{%- endfor %}
{%- endif %}

{#- verify's shape checks (see Shape in src/inplace/query.rs): V2's columns, constraints or
    indexes as rows (names and texts made literals here), and the same rows as pg_catalog
    shows them for `table`. -#}
{%- macro text_array(items) -%}
{%- if items.is_empty() %}NULL::text[]{% else %}ARRAY[{% for i in items.iter() %}{% if !loop.first %}, {% endif %}{{ i|lit }}{% endfor %}]::text[]{% endif -%}
{%- endmacro -%}

{#- The names of a constraint's columns (`keys`, attnums of the table `rel`), in order. -#}
{%- macro key_names(keys, rel) -%}
SELECT array_agg(a.attname::text ORDER BY k.o) FROM unnest({{ keys }}) WITH ORDINALITY AS k(n, o) JOIN pg_attribute AS a ON a.attrelid = {{ rel }} AND a.attnum = k.n
{%- endmacro -%}

{%- macro expected(shape) -%}
{%- match shape -%}
{%- when Shape::Columns(columns) -%}
{%- if columns.is_empty() -%}
SELECT NULL::text, NULL::text, NULL::boolean, NULL::text WHERE false
{%- else -%}
VALUES
{%- for c in columns.iter() %}{% if !loop.first %},{% endif %}
      ({{ c.name|lit }}, {{ c.data_type|lit }}, {{ c.not_null }}, {{ c.default|lit_or_null }})
{%- endfor -%}
{%- endif -%}
{%- when Shape::Constraints(constraints) -%}
{%- if constraints.is_empty() -%}
SELECT NULL::text, NULL::text, NULL::text[], NULL::text, NULL::text[], NULL::text, NULL::text, NULL::boolean WHERE false
{%- else -%}
VALUES
{%- for c in constraints.iter() %}{% if !loop.first %},{% endif %}
      ({{ c.name|lit }}, {{ c.kind|lit }}, {% call text_array(c.columns) %}{% endcall %}, {{ c.references|lit_or_null }}, {% call text_array(c.referenced_columns) %}{% endcall %}, {{ c.on_delete|lit_or_null }}, {{ c.on_update|lit_or_null }}, {{ c.deferrable }})
{%- endfor -%}
{%- endif -%}
{%- when Shape::Indexes(indexes) -%}
{%- if indexes.is_empty() -%}
SELECT NULL::text, NULL::boolean, NULL::text WHERE false
{%- else -%}
VALUES
{%- for i in indexes.iter() %}{% if !loop.first %},{% endif %}
      ({{ i.name|lit }}, {{ i.unique }}, {{ i.method|lit }})
{%- endfor -%}
{%- endif -%}
{%- endmatch -%}
{%- endmacro -%}

{%- macro actual(table, shape) -%}
{%- match shape -%}
{%- when Shape::Columns(_) -%}
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
      FROM pg_attribute AS a
      LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = {{ table|lit }}::regclass AND a.attnum > 0 AND NOT a.attisdropped
{%- when Shape::Constraints(_) -%}
SELECT c.conname::text, c.contype::text,
             CASE WHEN c.contype <> 'c' THEN ({% call key_names("c.conkey", "c.conrelid") %}{% endcall %}) END,
             CASE WHEN c.contype = 'f' THEN (SELECT format('%I.%I', n.nspname, r.relname) FROM pg_class AS r JOIN pg_namespace AS n ON n.oid = r.relnamespace WHERE r.oid = c.confrelid) END,
             CASE WHEN c.contype = 'f' THEN ({% call key_names("c.confkey", "c.confrelid") %}{% endcall %}) END,
             CASE WHEN c.contype = 'f' THEN c.confdeltype::text END,
             CASE WHEN c.contype = 'f' THEN c.confupdtype::text END,
             c.condeferrable
      FROM pg_constraint AS c
      WHERE c.conrelid = {{ table|lit }}::regclass AND c.contype IN ('p', 'u', 'c', 'f')
{%- when Shape::Indexes(_) -%}
SELECT ic.relname::text, i.indisunique, am.amname::text
      FROM pg_index AS i
      JOIN pg_class AS ic ON ic.oid = i.indexrelid
      JOIN pg_am AS am ON am.oid = ic.relam
      WHERE i.indrelid = {{ table|lit }}::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
{%- endmatch -%}
{%- endmacro -%}

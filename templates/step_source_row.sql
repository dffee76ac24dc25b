{#- The V1 row as a step reads it (see redacted_row in src/emit/view/step/mod.rs). -#}

{#- `row` (jsonb SQL, `to_jsonb(alias.*)`) with the values of `columns` replaced by `marker`
    (a JSON value): where the row has them, a subquery's `SELECT *` may not (nothing is added). -#}
{%- macro redacted(row, columns, marker) -%}
{%- for c in columns.iter() %}pg_catalog.jsonb_set({% endfor %}{{ row }}
{%- for c in columns.iter() %}, ARRAY[{{ c|lit }}], {{ marker|lit }}, false){% endfor -%}
{%- endmacro -%}

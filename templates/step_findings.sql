{#- Precheck's tests of a step's rows (see FindingsView in src/emit/view/step/findings.rs):
    each is true for a row that would break V2. Columns come quoted, as the plan holds them;
    the model's expressions as the check pass wrote them. -#}

{#- `alias.column = (expression)` for each pair. -#}
{%- macro equal_all(alias, columns, exprs) -%}
{%- for (c, e) in columns.iter().zip(exprs.iter()) %}{% if !loop.first %} AND {% endif %}{{ alias }}.{{ c }} = ({{ e }}){% endfor -%}
{%- endmacro -%}

{#- Expressions, as a list. -#}
{%- macro list(exprs) -%}
{%- for e in exprs.iter() %}{% if !loop.first %}, {% endif %}{{ e }}{% endfor -%}
{%- endmacro -%}

{%- macro is_null(expr) -%}
({{ expr }}) IS NULL
{%- endmacro -%}

{%- macro longer_than(expr, length) -%}
length(({{ expr }})::text) > {{ length }}
{%- endmacro -%}

{#- The row's key values are a V2 row's already (of the table proper, as its key sees it). -#}
{%- macro already_in_v2(table, key) -%}
EXISTS (SELECT 1 FROM {{ table|only }} AS _existing WHERE {% call equal_all("_existing", key.columns, key.exprs) %}{% endcall %})
{%- endmacro -%}

{#- The row names a parent (no NULL in the key) that neither V2 nor a step filling the parent
    table (its id map) has. `parent`: the parent table, whose rows proper the key sees. -#}
{%- macro no_parent(fk, parent) -%}
{%- for e in fk.exprs.iter() %}({{ e }}) IS NOT NULL
        AND {% endfor -%}
NOT EXISTS (SELECT 1 FROM {{ parent|only }} AS _parent WHERE {% call equal_all("_parent", fk.parent_columns, fk.exprs) %}{% endcall %})
{%- for map in fk.parent_maps.iter() %}
        AND NOT EXISTS (SELECT 1 FROM {{ map }} AS _parent_map WHERE {% call equal_all("_parent_map", fk.parent_columns, fk.exprs) %}{% endcall %})
{%- endfor -%}
{%- endmacro -%}

{#- The value converts (`function`: the precheck helper of its type), or is NULL. -#}
{%- macro converts(cast) -%}
(({{ cast.value }}) IS NULL OR {{ cast.function }}(({{ cast.value }})::text))
{%- endmacro -%}

{%- macro does_not_convert(cast) -%}
({{ cast.value }}) IS NOT NULL AND NOT {{ cast.function }}(({{ cast.value }})::text)
{%- endmacro -%}

{#- Every conversion of the row succeeds (`true` without any). -#}
{%- macro cast_guard(casts) -%}
{%- for c in casts.iter() %}{% if !loop.first %} AND {% endif %}{% call converts(c) %}{% endcall %}{% endfor -%}
{%- if casts.is_empty() %}true{% endif -%}
{%- endmacro -%}

{#- A test made only when the row's conversions succeed: CASE fixes the order. -#}
{%- macro guarded(guard, test) -%}
CASE WHEN {{ guard }} THEN {{ test }} ELSE false END
{%- endmacro -%}

{#- The row's unique key values are ones an earlier step filling the same table makes (its
    FROM and the rows it inserts). -#}
{%- macro made_by_earlier_step(exprs, earlier_exprs, earlier_from, earlier_survivors) -%}
coalesce(({% call list(exprs) %}{% endcall %}) IN (SELECT {% call list(earlier_exprs) %}{% endcall %}
          {{ earlier_from|sql_indent(8) }}
          WHERE {{ earlier_survivors|sql_indent(8) }}), false)
{%- endmacro -%}

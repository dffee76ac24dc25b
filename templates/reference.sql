{#- Reference rows (see ReferenceView in src/emit/view/reference.rs): names come as they are
    and are quoted here; the rows' values come as SQL literals cast to their types (the check
    pass wrote them). -#}
{%- macro names(list) -%}
{%- for n in list.iter() %}{% if !loop.first %}, {% endif %}{{ n|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro column_list(r) -%}
{%- for c in r.columns.iter() %}{% if !loop.first %}, {% endif %}{{ c.name|ident }}{% endfor -%}
{%- endmacro -%}

{#- The wanted rows, one a line. -#}
{%- macro values(r) -%}
{%- for row in r.values.iter() %}{% if !loop.first %},
         {% endif %}({{ row|join(", ") }}){% endfor -%}
{%- endmacro -%}

{#- A column's value from the wanted row `w`: a parent named by its natural key is looked up
    (parent_join). -#}
{%- macro value(c) -%}
{%- if let Some(p) = c.parent %}{{ "parent_{}"|format(c.name)|ident }}.{{ p.referenced|ident }}{% else %}w.{{ c.name|ident }}{% endif -%}
{%- endmacro -%}

{%- macro select_list(r) -%}
{%- for c in r.columns.iter() %}{% if !loop.first %}, {% endif %}{% call value(c) %}{% endcall %}{% endfor -%}
{%- endmacro -%}

{%- macro parent_join(c, p) -%}
LEFT JOIN {{ p.table }} AS {{ "parent_{}"|format(c.name)|ident }} ON {{ "parent_{}"|format(c.name)|ident }}.{{ p.key_column|ident }} = w.{{ c.name|ident }}
{%- endmacro -%}

{#- The primary key of an inserted row, as `_pgmig.reference` records it. -#}
{%- macro primary_key_json(r) -%}
jsonb_build_object({% for k in r.primary_key.iter() %}{% if !loop.first %}, {% endif %}{{ k.name|lit }}, {{ k.name|ident }}{% endfor %})
{%- endmacro -%}

{#- A row `t` migrate inserted, by its record `r`. -#}
{%- macro inserted_here(r) -%}
{%- for k in r.primary_key.iter() %}{% if !loop.first %} AND {% endif %}t.{{ k.name|ident }} = CAST(r.key ->> {{ k.name|lit }} AS {{ k.data_type }}){% endfor -%}
{%- endmacro -%}

{#- A wanted row is there (parents named by natural key resolved). -#}
{%- macro present(r) -%}
{%- for c in r.key_columns.iter() %}{% if !loop.first %} AND {% endif %}t.{{ c.name|ident }} = {% call value(c) %}{% endcall %}{% endfor -%}
{%- endmacro -%}

{#- The row has every other column as declared. -#}
{%- macro same_values(r) -%}
{%- if r.other_columns.is_empty() %}true{% else %}{% for c in r.other_columns.iter() %}{% if !loop.first %} AND {% endif %}t.{{ c.name|ident }} IS NOT DISTINCT FROM {% call value(c) %}{% endcall %}{% endfor %}{% endif -%}
{%- endmacro -%}

{#- Nothing under the V2 foreign key `k` uses the row `t`. -#}
{%- macro unused(k) -%}
NOT EXISTS (SELECT 1 FROM {{ k.child }} AS c WHERE {% for p in k.columns.iter() %}{% if !loop.first %} AND {% endif %}c.{{ p.column|ident }} = t.{{ p.referenced|ident }}{% endfor %})
{%- endmacro -%}

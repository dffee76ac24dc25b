{#- The fill's and the sync triggers' lists over a table's key and backup columns (see Sync
    in src/inplace/view.rs): names come as they are and are quoted here. -#}
{%- macro names(columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}{{ c|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro of(alias, columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}{{ alias }}.{{ c|ident }}{% endfor -%}
{%- endmacro -%}

{#- Keyset pagination's order, last key first. -#}
{%- macro descending(alias, columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}{{ alias }}.{{ c|ident }} DESC{% endfor -%}
{%- endmacro -%}

{#- An UPDATE that changes one of the columns (a trigger's WHEN). -#}
{%- macro changed(columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %} OR {% endif %}OLD.{{ c|ident }} IS DISTINCT FROM NEW.{{ c|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro key_changed(key) -%}
({% call of("OLD", key) %}{% endcall %}) IS DISTINCT FROM ({% call of("NEW", key) %}{% endcall %})
{%- endmacro -%}

{#- The backup's row `bk` of the row before the write. -#}
{%- macro backup_row_of_old(key) -%}
{%- for c in key.iter() %}{% if !loop.first %} AND {% endif %}bk.{{ c|ident }} = OLD.{{ c|ident }}{% endfor -%}
{%- endmacro -%}

{#- The trigger's write of the backup: the row's old values replace those it held (nothing
    to replace when the backup holds only the key). -#}
{%- macro on_conflict(old_values) -%}
{%- if old_values.is_empty() %}DO NOTHING{% else %}DO UPDATE SET {% for c in old_values.iter() %}{% if !loop.first %}, {% endif %}{{ c|ident }} = EXCLUDED.{{ c|ident }}{% endfor %}{% endif -%}
{%- endmacro -%}

{#- The fill's: the same, the batch number included. -#}
{%- macro on_conflict_fill(old_values) -%}
DO UPDATE SET {% for c in old_values.iter() %}{{ c|ident }} = EXCLUDED.{{ c|ident }}, {% endfor %}batch = EXCLUDED.batch
{%- endmacro -%}

{#- A batch's conversions of `t`'s values into the new columns. -#}
{%- macro fill_set(changes) -%}
{%- for c in changes.iter() %}{% if !loop.first %},
        {% endif %}{{ c.temp|ident }} = {{ c.conv_t }}{% endfor -%}
{%- endmacro -%}

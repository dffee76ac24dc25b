{#- A step's key and its id map (see KeysView in src/emit/view/step/keys.rs): names come as
    they are and are quoted here. -#}
{%- macro names(list) -%}
{%- for n in list.iter() %}{% if !loop.first %}, {% endif %}{{ n|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro of(alias, list) -%}
{%- for n in list.iter() %}{% if !loop.first %}, {% endif %}{{ alias }}.{{ n|ident }}{% endfor -%}
{%- endmacro -%}

{#- The id map's key columns, each with its V2 type. -#}
{%- macro map_columns(columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}{{ c.name|ident }} {{ c.data_type }}{% endfor -%}
{%- endmacro -%}

{#- A target row `t` this step made: its key is in the id map `mapped`. -#}
{%- macro made_here(key) -%}
{%- for k in key.iter() %}{% if !loop.first %} AND {% endif %}t.{{ k|ident }} = mapped.{{ k|ident }}{% endfor -%}
{%- endmacro -%}

{#- A migrated row's key as rollback names it. -#}
{%- macro target_key_json(key) -%}
jsonb_build_object({% for k in key.iter() %}{% if !loop.first %}, {% endif %}{{ k|lit }}, t.{{ k|ident }}{% endfor %})
{%- endmacro -%}

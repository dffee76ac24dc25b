{#- A V1 table the steps read (see V1TableView in src/emit/view/mod.rs): names come as they
    are and are quoted here. -#}
{#- Its key (the whole row without one): a stable order for digests and exports. -#}
{%- macro order(t) -%}
{%- if t.key.is_empty() %}pg_catalog.textin(pg_catalog.record_out(t.*)){% else %}{% for k in t.key.iter() %}{% if !loop.first %}, {% endif %}t.{{ k|ident }}{% endfor %}{% endif -%}
{%- endmacro -%}

{#- Its select list for the export: every column, a secret one as the marker. -#}
{%- macro select(t) -%}
{%- if t.columns.is_empty() %}t.*{% else %}{% for c in t.columns.iter() %}{% if !loop.first %}, {% endif %}{% if let Some(m) = c.marker %}{{ m|lit }} AS {{ c.name|ident }}{% else %}t.{{ c.name|ident }}{% endif %}{% endfor %}{% endif -%}
{%- endmacro -%}

{#- The rows `t` of a filled table no id map holds (see TargetView in
    src/emit/view/target.rs): names come as they are and are quoted here. -#}
{%- macro not_in_map(m) -%}
NOT EXISTS (SELECT 1 FROM {{ m.table }} AS mapped WHERE {% for k in m.key.iter() %}{% if !loop.first %} AND {% endif %}mapped.{{ k|ident }} = t.{{ k|ident }}{% endfor %})
{%- endmacro -%}

{%- macro unmapped(target) -%}
{%- for m in target.maps.iter() %}{% if !loop.first %} AND {% endif %}{% call not_in_map(m) %}{% endcall %}{% endfor -%}
{%- endmacro -%}

{%- macro key_order(target) -%}
{%- for k in target.key.iter() %}{% if !loop.first %}, {% endif %}t.{{ k|ident }}{% endfor -%}
{%- endmacro -%}

{#- A row's key as a sample prints it. -#}
{%- macro sample_key(target) -%}
ROW({% call key_order(target) %}{% endcall %})::text
{%- endmacro -%}

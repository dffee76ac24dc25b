{#- Names as SQL literals: the rows of a one-column VALUES list, or the items of an IN list.
    The names come as they are. -#}
{%- macro rows(names) -%}
{%- for n in names.iter() %}{% if !loop.first %}, {% endif %}({{ n|lit }}){% endfor -%}
{%- endmacro -%}

{%- macro items(names) -%}
{%- for n in names.iter() %}{% if !loop.first %}, {% endif %}{{ n|lit }}{% endfor -%}
{%- endmacro -%}

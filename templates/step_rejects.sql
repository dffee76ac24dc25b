{#- A step's `where`, `reject:` and `warn:` rules (see RejectsView in
    src/emit/view/step/rejects.rs): the model's conditions come as the check pass wrote them. -#}

{#- One condition: a model's (NULL counts as false), maybe negated, or a test as it is. -#}
{%- macro condition(c) -%}
{%- if c.negated %}NOT {% endif %}{% if c.from_model %}coalesce(({{ c.sql }}), false){% else %}{{ c.sql }}{% endif -%}
{%- endmacro -%}

{#- Conditions that must all hold, `sep` between two (`true` for none). -#}
{%- macro all(conditions, sep) -%}
{%- for c in conditions.iter() %}{% if !loop.first %}{{ sep }}{% endif %}{% call condition(c) %}{% endcall %}{% endfor -%}
{%- if conditions.is_empty() %}true{% endif -%}
{%- endmacro -%}

{#- Counted over the step's FROM: the rows `where` filters out. -#}
{%- macro filtered_count(rejects) -%}
{%- if let Some(filter) = rejects.filter %}count(*) FILTER (WHERE NOT coalesce(({{ filter }}), false)){% else %}0{% endif -%}
{%- endmacro -%}

{#- The reason the rejects table records: the model's SQL for it, or its text. -#}
{%- macro reason(rule) -%}
{%- if let Some(sql) = rule.reason_sql %}{{ sql }}{% else %}{{ rule.reason|lit }}{% endif -%}
{%- endmacro -%}

{#- What verify checks of a step's rows (see VerifyView in src/emit/view/step/verify.rs):
    names come as they are and are quoted here; the model's expressions as the check pass
    wrote them. -#}
{%- import "step_rejects.sql" as rejects -%}

{#- Counted over the step's FROM: the rows `where` filtered out; when `where` is not
    repeatable, the rows migrate did not choose (the id map) less the rejected ones. -#}
{%- macro filtered_count(s, model) -%}
{%- if s.verify.filter_non_repeatable.is_some() -%}
count(*) FILTER (WHERE NOT {{ s.keys.migrated }})
           - (SELECT count(*) FROM _pgmig.rejects WHERE model = {{ model|lit }} AND step = {{ s.name|lit }})
{%- else %}{% call rejects::filtered_count(s.rejects) %}{% endcall %}{% endif -%}
{%- endmacro -%}

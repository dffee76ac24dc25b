{#- See src/emit/view/hierarchy.rs: what each row carries, where the rows are read and which. -#}
CREATE TEMPORARY TABLE pg_temp.hierarchy_rows AS
SELECT {% match carry -%}
{%- when Carry::SourceKey with (key) %}({{ key }})::text AS hierarchy_source_key
{%- when Carry::Entity with (entity) %}({{ entity }}) AS entity
{%- when Carry::StagedKey with (columns) %}{% for (value, name) in columns.iter() %}{% if !loop.first %}, {% endif %}{{ value }} AS {{ name|ident }}{% endfor %}
{%- endmatch %},
{%- for e in key_exprs %}
       ({{ e }}) AS hierarchy_key_{{ loop.index }},
{%- endfor %}
{%- for e in parent_exprs %}
       ({{ e }}) AS hierarchy_parent_{{ loop.index }},
{%- endfor %}
       NULL::bigint AS hierarchy_depth
{% match from -%}
{%- when RowsFrom::Source with (from) %}{{ from }}
{%- when RowsFrom::Stage with (table) %}FROM {{ table }} AS stage
{%- endmatch %}
WHERE {% match condition -%}
{%- when Condition::Survivors { survivors, cast_guard } %}{{ survivors }}
    AND {{ cast_guard }}
{%- when Condition::Kept with (kept) %}{{ kept }}
{%- when Condition::StagedMigrating %}stage.pgmig_class = 0
{%- endmatch %};

{#- What verify checks of a step's rows (see VerifyView in src/emit/view/step/verify.rs):
    names come as they are and are quoted here (a foreign key's columns come quoted, as the
    plan holds them); the model's expressions as the check pass wrote them. -#}
{%- import "step_rejects.sql" as rejects -%}

{#- Counted over the step's FROM: the rows `where` filtered out; when `where` is not
    repeatable, the rows migrate did not choose (the id map) less the rejected ones. -#}
{%- macro filtered_count(s, model) -%}
{%- if s.verify.filter_non_repeatable.is_some() -%}
count(*) FILTER (WHERE NOT {{ s.keys.migrated }})
           - (SELECT count(*) FROM _pgmig.rejects WHERE model = {{ model|lit }} AND step = {{ s.name|lit }})
{%- else %}{% call rejects::filtered_count(s.rejects) %}{% endcall %}{% endif -%}
{%- endmacro -%}

{#- The expected row: each value cast to its V2 column's type, then compared as text byte for
    byte (COLLATE "C"), one a line. -#}
{%- macro expected(values) -%}
{%- for v in values.iter() %}{% if !loop.first %},
           {% endif %}CAST((CAST({% if let Some(value) = v.value %}{{ value }}{% else %}NULL{% endif %} AS {{ v.target_type }})) AS text) COLLATE pg_catalog."C"{% endfor -%}
{%- endmacro -%}

{#- The migrated row `t`'s values, compared as the expected ones. -#}
{%- macro actual(columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}CAST((t.{{ c|ident }}) AS text) COLLATE pg_catalog."C"{% endfor -%}
{%- endmacro -%}

{#- The migrated row `t` names a parent (no NULL in the key) V2 does not have: not among the
    rows proper of `parent`, the ones the foreign key sees. -#}
{%- macro orphan(fk, parent) -%}
{%- for c in fk.columns.iter() %}t.{{ c }} IS NOT NULL AND {% endfor -%}
NOT EXISTS (SELECT 1 FROM {{ parent|only }} AS _parent WHERE {% for (p, c) in fk.parent_columns.iter().zip(fk.columns.iter()) %}{% if !loop.first %} AND {% endif %}_parent.{{ p }} = (t.{{ c }}){% endfor %})
{%- endmacro -%}

{%- macro unset(column) -%}
t.{{ column|ident }} IS NULL
{%- endmacro -%}

{#- A time before migrate started (the targets counted) or after it ended. -#}
{%- macro outside_migrate_window(column, model) -%}
CAST(t.{{ column|ident }} AS timestamptz) < (SELECT min(b.counted_at) FROM _pgmig.targets AS b WHERE b.model = {{ model|lit }})
       OR CAST(t.{{ column|ident }} AS timestamptz) > (SELECT max(l.finished_at) FROM _pgmig.log AS l WHERE l.model = {{ model|lit }} AND l.script = 'migrate' AND l.status = 'done')
{%- endmacro -%}

{#- Another row of `table` has the migrated row's fresh value. -#}
{%- macro taken_twice(table, column) -%}
EXISTS (SELECT 1 FROM {{ table|only }} AS other WHERE other.{{ column|ident }} = t.{{ column|ident }} AND other.ctid <> t.ctid)
{%- endmacro -%}

{#- The fresh value's text has not the form its function gives. -#}
{%- macro malformed(column, pattern) -%}
CAST(t.{{ column|ident }} AS text) !~ {{ pattern|lit }}
{%- endmacro -%}

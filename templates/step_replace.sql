{#- Overwrite or create (see ReplaceView in src/emit/view/step/replace.rs): the V2 rows a step
    replaces, as migrate backs them up and deletes them and rollback restores them. Names come
    as they are and are quoted here; a key's expressions are the model's SQL. A text key column
    compares lower-cased and trimmed on both sides (check/replace.rs). -#}
{%- macro key_column(alias, k) -%}
{%- if k.folded %}lower(btrim({{ alias }}.{{ k.column|ident }})){% else %}{{ alias }}.{{ k.column|ident }}{% endif -%}
{%- endmacro -%}

{%- macro key_expr(k) -%}
{%- if k.folded %}lower(btrim({{ k.expr }})){% else %}{{ k.expr }}{% endif -%}
{%- endmacro -%}

{#- The rows of replaced table `t` to back up (alias `t`), in step `s` replacing `x`: in the
    step's table, those whose key a migrated row has; under it, those under a backed-up row.
    `scope` narrows them to what this run migrates: "" (everything: precheck), "entities" (the
    entities being migrated) or "wave" (the rows this wave migrates, and the rows under a row
    this wave backed up). -#}
{%- macro rows(s, x, t, scope) -%}
{%- if t.parents.is_empty() -%}
({% for k in x.key %}{% if !loop.first %}, {% endif %}{% call key_column("t", k) %}{% endcall %}{% endfor %}) IN (SELECT {% for k in x.key %}{% if !loop.first %}, {% endif %}{% call key_expr(k) %}{% endcall %}{% endfor %}
                  {{ s.keys.from_unrepaired|sql_indent(12) }}
                WHERE {{ s.rejects.survivors|sql_indent(10) }}
{%- if scope == "entities" %}
                  AND ({{ s.entity }}) = ANY (entities)
{%- else if scope == "wave" %}
                  AND {{ s.keys.unmigrated }}
{%- endif %})
{%- else -%}
{%- for p in t.parents %}{% if !loop.first %}
       OR {% endif %}EXISTS (SELECT 1 FROM {{ p.backup }} AS p WHERE {% for (c, pc) in p.columns %}{% if !loop.first %} AND {% endif %}t.{{ c|ident }} = p.{{ pc|ident }}{% endfor %}{% if scope == "wave" %} AND p.pgmig_wave = this_wave{% endif %})
{%- endfor -%}
{%- endif -%}
{%- endmacro -%}

{#- A row `t` of a replaced table that is in its backup `b`. -#}
{%- macro backed_up(t) -%}
{%- for k in t.primary_key %}{% if !loop.first %} AND {% endif %}t.{{ k|ident }} = b.{{ k|ident }}{% endfor -%}
{%- endmacro -%}

{#- A migrated row (in the step's FROM) whose key matched a backed-up row: it overwrites one. -#}
{%- macro overwriting(x) -%}
({% for k in x.key %}{% if !loop.first %}, {% endif %}{% call key_expr(k) %}{% endcall %}{% endfor %}) IN (SELECT {% for k in x.key %}{% if !loop.first %}, {% endif %}{% call key_column("b", k) %}{% endcall %}{% endfor %} FROM {{ x.tables[0].backup }} AS b)
{%- endmacro -%}

{#- The digest of a backup's rows (alias `b`), the same expression wherever a seal takes it. -#}
{%- macro digest() -%}
md5(coalesce(string_agg(b::text, E'\n' ORDER BY b::text), ''))
{%- endmacro -%}

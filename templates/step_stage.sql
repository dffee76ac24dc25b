{%- import "step_keys.sql" as keys -%}
{#- A step's one read of its source (see StageView in src/emit/view/step/stage.rs, and
    BatchStageView in batch_stage.rs): each source row's class (pgmig_row.pgmig_class: -1
    filtered out by `where`, N caught by reject rule N, -2 migrated by an earlier wave, 0
    migrates now) and what the later statements need of it. Lists put one item a line, laid
    out for a DO block body. -#}

{#- The values an INSERT's SELECT lists, one a line. -#}
{%- macro values(list) -%}
{%- for v in list.iter() %}{% if !loop.first %},
         {% endif %}{{ v }}{% endfor -%}
{%- endmacro -%}

{#- `expr` for the rows that migrate, NULL for the others: a rejected row's value may be one
    the rule is there to keep out (a cast that fails, a lookup that finds nothing). -#}
{%- macro when_migrating(expr) -%}
CASE WHEN pgmig_row.pgmig_class = 0 THEN {{ expr }} END
{%- endmacro -%}

{#- What the rejects table records of a row a rule catches (its key, its row, the rule's
    reason), NULL for the other rows (`r`: StagedRejects). -#}
{%- macro reject_columns(r) -%}
CASE WHEN pgmig_row.pgmig_class > 0 THEN {{ r.source_key }} END AS pgmig_source_key,
         CASE WHEN pgmig_row.pgmig_class > 0 THEN {{ r.source_row }} END AS pgmig_source_row,
         CASE pgmig_row.pgmig_class{% for reason in r.reasons.iter() %} WHEN {{ loop.index }} THEN {% if let Some(sql) = reason.sql %}{{ sql }}{% else %}{{ reason.text|lit }}{% endif %}{% endfor %} END AS pgmig_reason
{%- endmacro -%}

{#- Transaction mode's stage columns: the class, what the rejects need, the `by` values, the
    V2 columns' values. -#}
{%- macro select(st) -%}
pgmig_row.pgmig_class
{%- if let Some(r) = st.rejects %},
         {% call reject_columns(r) %}{% endcall %}
{%- endif %}
{%- for b in st.by.iter() %},
         {% call when_migrating(b.expr) %}{% endcall %} AS {{ b.stage_column|ident }}
{%- endfor %}
{%- for c in st.columns.iter() %}{% if c.staged %},
         {% call when_migrating(c.expr) %}{% endcall %} AS {{ c.name|ident }}{% endif %}
{%- endfor %}
{%- endmacro -%}

{#- A row's class (`rules`: ClassRules): the first rule that matches, in the order they
    apply (a row `where` leaves out is filtered whatever the rules say; the first rule that
    catches a row is its rule), else 0 (every row, when there is no rule). -#}
{%- macro class(rules) -%}
{%- if rules.is_empty() -%}
0
{%- else -%}
CASE {% for f in rules.filters.iter() %}WHEN NOT coalesce(({{ f }}), false) THEN -1
                                   {% endfor %}
{%- for w in rules.rejects.iter() %}WHEN coalesce(({{ w }}), false) THEN {{ loop.index }}
                                   {% endfor %}
{%- if let Some(found) = rules.map_found_column %}WHEN key_map.{{ found|ident }} IS NOT NULL{% if rules.own_lookup %} AND key_map.pgmig_wave <> this_wave{% endif %} THEN -2
                                   {% endif %}ELSE 0 END
{%- endif -%}
{%- endmacro -%}

{#- `from` (the step's FROM and what is joined to it) with each row's class: transaction mode
    left joins the id map (`key_map`, of keys `k`), where a row an earlier wave migrated is
    found. OFFSET 0 keeps the class computed once per row, not inlined into every reference. -#}
{%- macro classified(from, k, rules) -%}
{{ from }}
{%- if rules.map_found_column.is_some() %}
       LEFT JOIN {{ k.map_table }} AS key_map ON {% call keys::matches("key_map", k.map_match) %}{% endcall %}
{%- endif %}
       CROSS JOIN LATERAL (SELECT {% call class(rules) %}{% endcall %} AS pgmig_class
                           OFFSET 0) AS pgmig_row
{%- endmacro -%}

{#- The `by` values as the stage holds them, named as the id map's columns. -#}
{%- macro by_values(by) -%}
{%- for b in by.iter() %}{% if !loop.first %}, {% endif %}stage.{{ b.stage_column|ident }} AS {{ b.column|ident }}{% endfor -%}
{%- endmacro -%}

{#- `key: new`: the join of a stage (`stage`) to the step's id map (`key_map`), where each
    row finds its new key by its `by` values; nothing for copied keys. -#}
{%- macro new_key_join(k, by) -%}
{%- if k.is_new_key %}
       JOIN {{ k.map_table }} AS key_map ON {% for b in by.iter() %}{% if !loop.first %} AND {% endif %}key_map.{{ b.column|ident }} = stage.{{ b.stage_column|ident }}{% endfor %}
{%- endif -%}
{%- endmacro -%}

{#- Transaction mode's stage, joined to the id map for `key: new` and to the values
    `_pgmig.changes` records of its repaired columns (the staged row's V2 key being
    `st.repair_key`). -#}
{%- macro from_keyed(k, st) -%}
FROM pg_temp.pgmig_stage AS stage{% call new_key_join(k, st.by) %}{% endcall %}
{%- for r in st.recorded_repairs.iter() %}
       LEFT JOIN _pgmig.changes AS {{ r.alias|ident }} ON {{ r.alias|ident }}.model = {{ st.model|lit }} AND {{ r.alias|ident }}.step = {{ st.step|lit }} AND {{ r.alias|ident }}.column_name = {{ r.column|lit }} AND {{ r.alias|ident }}.key = {{ st.repair_key }}
{%- endfor %}
{%- endmacro -%}

{#- The V2 key of a staged row as jsonb: the copied key's values in the stage (`key`:
    StageColumn), or the new key. -#}
{%- macro key_json(k, key) -%}
{%- if k.is_new_key %}{% call keys::key_json(k) %}{% endcall %}
{%- else %}jsonb_build_object({% for c in key.iter() %}{% if !loop.first %}, {% endif %}{{ c.name|lit }}, {% call value(c) %}{% endcall %}{% endfor %}){% endif -%}
{%- endmacro -%}

{#- A V2 column's value in a statement reading a stage (`stage`): the staged value, or the
    literal (`c`: StageColumn). -#}
{%- macro value(c) -%}
{%- if c.staged %}stage.{{ c.name|ident }}{% else %}{{ c.expr }}{% endif -%}
{%- endmacro -%}

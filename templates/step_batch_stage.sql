{%- import "step_stage.sql" as stage -%}
{#- Batched mode's stage (see BatchStageView in src/emit/view/step/batch_stage.rs): the
    step's rows with their class, what the rejects need and, for the rows that migrate, their
    batch and the V2 columns' values in V2's types. Lists put one item a line, laid out for a
    DO block body (the step template indents them further). -#}

{#- The stage's columns as typed NULLs for `CREATE … AS … WITH NO DATA`: the V2 columns in
    V2's types, so that filling the stage converts each value as the insert into V2 would; a
    `by` value has the type of its expression (read from the step's FROM, WITH NO DATA). -#}
{%- macro typed_columns(st) -%}
NULL::integer AS pgmig_class
{%- if st.rejects.is_some() %},
         NULL::jsonb AS pgmig_source_key,
         NULL::jsonb AS pgmig_source_row,
         NULL::text AS pgmig_reason
{%- endif %}
{%- for b in st.by.iter() %},
         ({{ b.expr }}) AS {{ b.stage_column|ident }}
{%- endfor %},
         NULL::bigint AS batch
{%- for c in st.columns.iter() %}{% if c.staged %},
         NULL::{{ c.data_type }} AS {{ c.name|ident }}{% endif %}
{%- endfor %}
{%- endmacro -%}

{#- The stage's columns, as the first fill writes them. -#}
{%- macro columns(st) -%}
pgmig_class{% if st.rejects.is_some() %}, pgmig_source_key, pgmig_source_row, pgmig_reason{% endif %}
{%- for b in st.by.iter() %}, {{ b.stage_column|ident }}{% endfor %}, batch
{%- for c in st.columns.iter() %}{% if c.staged %}, {{ c.name|ident }}{% endif %}{% endfor %}
{%- endmacro -%}

{#- The rows that migrate first, in batch order: by their `by` values (rows sharing them
    share a new key, so a batch) or their copied key. -#}
{%- macro order(st) -%}
pgmig_row.pgmig_class <> 0{% for e in st.order.iter() %}, {% call stage::when_migrating(e) %}{% endcall %}{% endfor %}
{%- endmacro -%}

{#- The first fill's values: the class, what the rejects need, the `by` values, the batch
    (numbered later for a hierarchy), the V2 columns' values. -#}
{%- macro select(k, st) -%}
pgmig_row.pgmig_class
{%- if let Some(r) = st.rejects %},
         {% call stage::reject_columns(r) %}{% endcall %}
{%- endif %}
{%- for b in st.by.iter() %},
         {% call stage::when_migrating(b.expr) %}{% endcall %}
{%- endfor %},
         {% if st.numbered %}CASE WHEN pgmig_row.pgmig_class = 0 THEN ({% if k.is_new_key %}dense_rank(){% else %}row_number(){% endif %} OVER (ORDER BY {% call order(st) %}{% endcall %}) - 1) / batch_size END{% else %}NULL{% endif %}
{%- for c in st.columns.iter() %}{% if c.staged %},
         {% call stage::when_migrating(c.expr) %}{% endcall %}{% endif %}
{%- endfor %}
{%- endmacro -%}

{#- The columns a rerun stages again for the batches still queued (the rows that migrate). -#}
{%- macro migrating_columns(st) -%}
pgmig_class{% for b in st.by.iter() %}, {{ b.stage_column|ident }}{% endfor %}, batch
{%- for c in st.columns.iter() %}{% if c.staged %}, {{ c.name|ident }}{% endif %}{% endfor %}
{%- endmacro -%}

{#- Their values, from the step's FROM joined to the id map (`key_map`). -#}
{%- macro migrating_select(st) -%}
0
{%- for b in st.by.iter() %},
         {{ b.expr }}
{%- endfor %},
         key_map.batch
{%- for c in st.columns.iter() %}{% if c.staged %},
         {{ c.expr }}{% endif %}
{%- endfor %}
{%- endmacro -%}

{#- The id map's key columns, from the stage: copied keys by name, `by` values named as the
    map's columns. -#}
{%- macro map_keys(k, st) -%}
{%- if k.is_new_key %}{% call stage::by_values(st.by) %}{% endcall %}
{%- else %}{% for c in st.key.iter() %}{% if !loop.first %}, {% endif %}{% call stage::value(c) %}{% endcall %} AS {{ c.name|ident }}{% endfor %}{% endif -%}
{%- endmacro -%}

{#- `key: new`: the map's `by` columns, from its `keys` subquery. -#}
{%- macro map_by_columns(st) -%}
{%- for b in st.by.iter() %}{% if !loop.first %}, {% endif %}keys.{{ b.column|ident }}{% endfor -%}
{%- endmacro -%}

{#- A hierarchy: each staged row's id map row. -#}
{%- macro hierarchy_batch_on(st) -%}
{%- for c in st.key.iter() %}{% if !loop.first %} AND {% endif %}{% call stage::value(c) %}{% endcall %} = key_map.{{ c.name|ident }}{% endfor -%}
{%- endmacro -%}

{#- The values of one batch's insert into V2, from the stage. -#}
{%- macro copy_select(st) -%}
{%- for c in st.columns.iter() %}{% if !loop.first %},
         {% endif %}{% call stage::value(c) %}{% endcall %}{% endfor -%}
{%- endmacro -%}

{#- The stage (`stage_table`), joined to the id map for the new keys of `key: new`. -#}
{%- macro copy_from(k, stage_table, st) -%}
FROM {{ stage_table }} AS stage{% call stage::new_key_join(k, st.by) %}{% endcall %}
{%- endmacro -%}

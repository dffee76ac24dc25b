{#- A step's key and its id map (see KeysView in src/emit/view/step/keys.rs): names come as
    they are and are quoted here. -#}
{%- macro names(list) -%}
{%- for n in list.iter() %}{% if !loop.first %}, {% endif %}{{ n|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro of(alias, list) -%}
{%- for n in list.iter() %}{% if !loop.first %}, {% endif %}{{ alias }}.{{ n|ident }}{% endfor -%}
{%- endmacro -%}

{#- The id map's key columns, each with its V2 type. -#}
{%- macro map_columns(columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}{{ c.name|ident }} {{ c.data_type }}{% endfor -%}
{%- endmacro -%}

{#- A target row `t` this step made: its key is in the id map `mapped`. -#}
{%- macro made_here(key) -%}
{%- for k in key.iter() %}{% if !loop.first %} AND {% endif %}t.{{ k|ident }} = mapped.{{ k|ident }}{% endfor -%}
{%- endmacro -%}

{#- A migrated row's key as rollback names it. -#}
{%- macro target_key_json(key) -%}
jsonb_build_object({% for k in key.iter() %}{% if !loop.first %}, {% endif %}{{ k|lit }}, t.{{ k|ident }}{% endfor %})
{%- endmacro -%}

{#- Each column of `list` (a ColumnExpr) in map row `alias` equals its source expression: a
    source row's id map row. -#}
{%- macro matches(alias, list) -%}
{%- for c in list.iter() %}{% if !loop.first %} AND {% endif %}{{ alias }}.{{ c.name|ident }} = {{ c.expr }}{% endfor -%}
{%- endmacro -%}

{#- The expressions of `list` (ColumnExpr), named as their columns. -#}
{%- macro select_as(list) -%}
{%- for c in list.iter() %}{% if !loop.first %}, {% endif %}{{ c.expr }} AS {{ c.name|ident }}{% endfor -%}
{%- endmacro -%}

{#- The step's FROM (`from`, as a DO block body indents it) joined to the id map (`key_map`). -#}
{%- macro joined_to_map(k, from) -%}
{{ from }}
       JOIN {{ k.map_table }} AS key_map ON {% call matches("key_map", k.map_match) %}{% endcall %}
{%- endmacro -%}

{#- `from` plus, for `key: new`, the join to the id map: the step's FROM before the repairs
    join theirs. -#}
{%- macro from_unrepaired(k, from) -%}
{%- if k.is_new_key %}{% call joined_to_map(k, from) %}{% endcall %}{% else %}{{ from }}{% endif -%}
{%- endmacro -%}

{#- Transaction mode's waves: the source row (in the step's keyed FROM) is not one an earlier
    wave migrated. New keys: its id map row is this wave's (`this_wave`, the step's variable);
    copied keys: its key is not in the id map yet. -#}
{%- macro unmigrated(k) -%}
{%- if k.is_new_key %}key_map.pgmig_wave = this_wave
{%- else %}NOT EXISTS (SELECT 1 FROM {{ k.map_table }} AS key_map WHERE {% call matches("key_map", k.map_match) %}{% endcall %}){% endif -%}
{%- endmacro -%}

{#- The source row (in the step's plain FROM) has a row in the id map: migrate chose it. -#}
{%- macro migrated(k) -%}
EXISTS (SELECT 1 FROM {{ k.map_table }} AS key_map WHERE {% call matches("key_map", k.map_match) %}{% endcall %})
{%- endmacro -%}

{#- Precheck: the source row (in the step's plain FROM) is not one an earlier wave migrated:
    its key is in precheck's id map with no wave, or not at all. -#}
{%- macro not_migrated(k) -%}
NOT EXISTS (SELECT 1 FROM {{ k.map_table }} AS earlier WHERE {% call matches("earlier", k.map_match) %}{% endcall %} AND earlier.pgmig_wave IS NOT NULL)
{%- endmacro -%}

{#- The wave that migrated a source row (in the unrepaired FROM; NULL when none did): verify
    recomputes a repair wave by wave, as migrate made it. -#}
{%- macro row_wave(k) -%}
{%- if k.is_new_key %}key_map.pgmig_wave
{%- else %}(SELECT key_map.pgmig_wave FROM {{ k.map_table }} AS key_map WHERE {% call matches("key_map", k.map_match) %}{% endcall %}){% endif -%}
{%- endmacro -%}

{#- The V2 key of a source row (in the unrepaired FROM), as jsonb: what `_pgmig.changes`
    records of a repaired row. -#}
{%- macro key_json(k) -%}
{%- if k.is_new_key %}jsonb_build_object({{ k.new_key|lit }}, key_map.{{ k.new_key|ident }})
{%- else %}jsonb_build_object({% for c in k.map_match.iter() %}{% if !loop.first %}, {% endif %}{{ c.name|lit }}, {{ c.expr }}{% endfor %}){% endif -%}
{%- endmacro -%}

{#- A source row's place in line: its source key (`by` values, or the copied key), as jsonb. -#}
{%- macro order_json(k) -%}
{%- if k.is_new_key %}jsonb_build_object({% for b in k.by.iter() %}{% if !loop.first %}, {% endif %}{{ b|lit }}, key_map.{{ b|ident }}{% endfor %})
{%- else %}{% call key_json(k) %}{% endcall %}{% endif -%}
{%- endmacro -%}

{#- `key: new` in precheck: a key of the column's type with no side effect (precheck must not
    move a sequence, which ROLLBACK does not undo): numbered, a random uuid, or else the
    model's expression. -#}
{%- macro precheck_new(k) -%}
{%- if k.new_key_type == "smallint" || k.new_key_type == "integer" || k.new_key_type == "bigint" || k.new_key_type == "numeric" -%}
(row_number() OVER ())::{{ k.new_key_type }}
{%- else if k.new_key_type == "uuid" -%}
gen_random_uuid()
{%- else -%}
{{ k.new_expr }}
{%- endif -%}
{%- endmacro -%}

{#- The same for the keys of the next wave, once precheck's map holds the earlier waves':
    numbers go above the keys an earlier wave gave. -#}
{%- macro precheck_next(k) -%}
{%- if k.new_key_type == "smallint" || k.new_key_type == "integer" || k.new_key_type == "bigint" || k.new_key_type == "numeric" -%}
(coalesce((SELECT max(earlier.{{ k.new_key|ident }}) FROM {{ k.map_table }} AS earlier), 0) + row_number() OVER ())::{{ k.new_key_type }}
{%- else -%}
{% call precheck_new(k) %}{% endcall %}
{%- endif -%}
{%- endmacro -%}

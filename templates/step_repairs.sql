{#- A step's uniqueness repairs (see RepairsView in src/emit/view/step/repairs.rs): names come
    as they are and are quoted here. -#}

{#- The new value of a repaired row `r` in round `r.n + 1`. -#}
{%- macro next_value(r) -%}
{%- if r.strategy == "suffix" %}_pgmig.with_counter(r.original, r.n + 1){% else %}NULL{% endif -%}
{%- endmacro -%}

{#- The candidate value of row `r` is taken by a V2 row `t`. -#}
{%- macro taken(r) -%}
t.{{ r.column|ident }} = CAST(r.value AS {{ r.column_type }})
{%- endmacro -%}

{#- The joins of step `s`'s keyed FROM (`from_unrepaired`) to verify's own recomputation of
    each repair (the CTEs `recomputed`), instead of what `_pgmig.changes` records: one
    `LEFT JOIN` a line. -#}
{%- macro recomputed_joins(s) -%}
{%- for r in s.repairs.columns %}
       LEFT JOIN {{ r.recomputed|ident }} AS {{ r.alias|ident }} ON {{ r.alias|ident }}.key = {{ s.keys.key_json }}
{%- endfor -%}
{%- endmacro -%}

{#- A repaired column's value: the recorded new value where its join (`alias`) found one,
    else `value` as computed. -#}
{%- macro recorded_or(alias, value, data_type) -%}
CASE WHEN {{ alias|ident }}.key IS NULL THEN {{ value }} ELSE CAST({{ alias|ident }}.new_value AS {{ data_type }}) END
{%- endmacro -%}

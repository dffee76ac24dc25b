{%- import "step_keys.sql" as keys -%}
{#- A V2 foreign key into the filled tables as rollback checks it (see ReferrerView in
    src/emit/view/referrer.rs): names come as they are and are quoted here. -#}

{#- `FROM … WHERE …`: the rows of the referencing table (alias `c`) that reference a row
    rollback deletes and that no step of this model wrote. Down a CASCADE chain, the rows it
    deletes are nested from the last hop in: the hops' rows of others under the deleted rows
    of the hop before, the innermost being the migrated rows of the chain's first table. -#}
{%- macro others(r) -%}
FROM {{ r.table|only }} AS c
  WHERE ({% call keys::of("c", r.columns) %}{% endcall %}) IN (
{%- for h in r.hops.iter().rev() -%}
SELECT {% call keys::of(h.alias, h.referenced) %}{% endcall %} FROM {{ h.table|only }} AS {{ h.alias }} WHERE ({% call keys::of(h.alias, h.columns) %}{% endcall %}) IN (
{%- endfor -%}
{%- for m in r.root_maps %}{% if !loop.first %}
      UNION ALL {% endif %}SELECT {% call keys::of("t", r.root_columns) %}{% endcall %} FROM {{ r.root|only }} AS t JOIN {{ m.map_table }} AS mapped ON {% call made_here("t", m.key) %}{% endcall %} WHERE mapped.pgmig_wave >= undo_from
{%- endfor -%}
{%- for h in r.hops -%}
){% call not_migrated(h.alias, h.maps, " ") %}{% endcall %}
{%- endfor -%}
){% call not_migrated("c", r.maps, "    ") %}{% endcall %}
{%- endmacro -%}

{#- The rows (over `alias`) no step wrote into their table, whose steps' id maps are `maps`:
    a migrated row is rollback's own. -#}
{%- macro not_migrated(alias, maps, indent) -%}
{%- for m in maps.iter() %}
{{ indent }}AND NOT EXISTS (SELECT 1 FROM {{ m.map_table }} AS mapped WHERE {% call made_here(alias, m.key) %}{% endcall %})
{%- endfor -%}
{%- endmacro -%}

{#- A row (over `alias`) whose key is in a step's id map `mapped`. -#}
{%- macro made_here(alias, key) -%}
{%- for k in key.iter() %}{% if !loop.first %} AND {% endif %}{{ alias }}.{{ k|ident }} = mapped.{{ k|ident }}{% endfor -%}
{%- endmacro -%}

{#- The DDL of a constraint or an index the swap drops (V1's) or creates (V2's), and rollback
    the other way round (see Definition in src/inplace/mod.rs): names quoted here; column
    lists, keys, expressions, types and defaults as the catalog prints them. `not_valid`
    adds a CHECK or a foreign key NOT VALID (the swap's: validated after it) even where the
    schema has it valid. -#}
{%- macro columns(list) -%}
{%- for c in list.iter() %}{% if !loop.first %}, {% endif %}{{ c|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro include(list) -%}
{%- if !list.is_empty() %} INCLUDE ({% call columns(list) %}{% endcall %}){% endif -%}
{%- endmacro -%}

{#- An index's storage parameters: each name an identifier, each value a literal. -#}
{%- macro with(parameters) -%}
{%- if !parameters.is_empty() %} WITH ({% for p in parameters.iter() %}{% if !loop.first %}, {% endif %}{% if let Some(v) = p.value %}{{ p.name|ident }} = {{ v|lit }}{% else %}{{ p.name|ident }}{% endif %}{% endfor %}){% endif -%}
{%- endmacro -%}

{#- The definition after the name: as ADD CONSTRAINT takes it, and for PLAN.md (an index
    described as CREATE INDEX would make it, without its name and table). -#}
{%- macro definition(o, not_valid) -%}
{%- match o.definition -%}
{%- when Definition::Key { primary, columns, include, deferrable } -%}
{% if primary %}PRIMARY KEY{% else %}UNIQUE{% endif %} ({% call columns(columns) %}{% endcall %}){% call include(include) %}{% endcall %}{{ deferrable.clause() }}
{%- when Definition::Check { expression } -%}
CHECK ({{ expression }}){% if o.not_valid || not_valid %} NOT VALID{% endif %}
{%- when Definition::ForeignKey { columns, references, referenced_columns, on_update, on_delete, deferrable } -%}
FOREIGN KEY ({% call columns(columns) %}{% endcall %}) REFERENCES {{ references }} ({% call columns(referenced_columns) %}{% endcall %})
{%- match on_update %}{% when FkAction::NoAction %}{% when _ %} ON UPDATE {{ on_update.sql() }}{% endmatch %}
{%- match on_delete %}{% when FkAction::NoAction %}{% when _ %} ON DELETE {{ on_delete.sql() }}{% endmatch %}{{ deferrable.clause() }}{% if o.not_valid || not_valid %} NOT VALID{% endif %}
{%- when Definition::Index { unique, method, keys, include, storage_parameters, predicate } -%}
{% if unique %}UNIQUE {% endif %}INDEX{% if method != "btree" %} USING {{ method }}{% endif %} ({{ keys|join(", ") }}){% call include(include) %}{% endcall %}
{%- call with(storage_parameters) %}{% endcall %}
{%- if let Some(p) = predicate %} WHERE {{ p }}{% endif %}
{%- endmatch -%}
{%- endmacro -%}

{%- macro create(o, not_valid) -%}
{%- match o.definition -%}
{%- when Definition::Index { unique, method, keys, include, storage_parameters, predicate } -%}
CREATE {% if unique %}UNIQUE {% endif %}INDEX {{ o.name|ident }} ON {{ o.table }}{% if method != "btree" %} USING {{ method }}{% endif %} ({{ keys|join(", ") }}){% call include(include) %}{% endcall %}
{%- call with(storage_parameters) %}{% endcall %}
{%- if let Some(p) = predicate %} WHERE {{ p }}{% endif %}
{%- when _ -%}
ALTER TABLE {{ o.table }} ADD CONSTRAINT {{ o.name|ident }} {% call definition(o, not_valid) %}{% endcall %}
{%- endmatch -%}
{%- endmacro -%}

{%- macro drop(o) -%}
{%- match o.definition -%}
{%- when Definition::Index { .. } -%}
DROP INDEX {{ o.table.schema|ident }}.{{ o.name|ident }}
{%- when _ -%}
ALTER TABLE {{ o.table }} DROP CONSTRAINT {{ o.name|ident }}
{%- endmatch -%}
{%- endmacro -%}

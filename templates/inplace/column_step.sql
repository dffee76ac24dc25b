{#- One statement of the swap or of rollback's reverse swap on `table`'s columns (see
    ColumnStep in src/inplace/view.rs: names come as they are and are quoted here, types
    and defaults as the catalog prints them). -#}
{%- import "inplace/query.sql" as q -%}
{%- macro column_step(table, step) -%}
{%- match step -%}
{%- when ColumnStep::AddColumn { column, data_type } -%}
ALTER TABLE {{ table }} ADD COLUMN {{ column|ident }} {{ data_type }}
{%- when ColumnStep::DropColumn { column } -%}
ALTER TABLE {{ table }} DROP COLUMN {{ column|ident }}
{%- when ColumnStep::RenameColumn { from, to } -%}
ALTER TABLE {{ table }} RENAME COLUMN {{ from|ident }} TO {{ to|ident }}
{%- when ColumnStep::SetNotNull { column } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column|ident }} SET NOT NULL
{%- when ColumnStep::DropNotNull { column } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column|ident }} DROP NOT NULL
{%- when ColumnStep::SetDefault { column, default } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column|ident }} SET DEFAULT {{ default }}
{%- when ColumnStep::DropDefault { column } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column|ident }} DROP DEFAULT
{%- when ColumnStep::DropConstraint { name } -%}
ALTER TABLE {{ table }} DROP CONSTRAINT {{ name|ident }}
{%- when ColumnStep::Restore(restore) -%}
{% call q::restore(restore) %}{% endcall %}
{%- endmatch -%}
{%- endmacro -%}

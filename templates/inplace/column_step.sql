{#- One statement of the swap or of rollback's reverse swap on `table`'s columns (see
    ColumnStep in src/inplace/view.rs: names come quoted, types and defaults as the catalog
    prints them). -#}
{%- import "inplace/query.sql" as q -%}
{%- macro column_step(table, step) -%}
{%- match step -%}
{%- when ColumnStep::AddColumn { column, data_type } -%}
ALTER TABLE {{ table }} ADD COLUMN {{ column }} {{ data_type }}
{%- when ColumnStep::DropColumn { column } -%}
ALTER TABLE {{ table }} DROP COLUMN {{ column }}
{%- when ColumnStep::RenameColumn { from, to } -%}
ALTER TABLE {{ table }} RENAME COLUMN {{ from }} TO {{ to }}
{%- when ColumnStep::SetNotNull { column } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column }} SET NOT NULL
{%- when ColumnStep::DropNotNull { column } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column }} DROP NOT NULL
{%- when ColumnStep::SetDefault { column, default } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column }} SET DEFAULT {{ default }}
{%- when ColumnStep::DropDefault { column } -%}
ALTER TABLE {{ table }} ALTER COLUMN {{ column }} DROP DEFAULT
{%- when ColumnStep::DropConstraint { name } -%}
ALTER TABLE {{ table }} DROP CONSTRAINT {{ name }}
{%- when ColumnStep::Restore(restore) -%}
{% call q::restore(restore) %}{% endcall %}
{%- endmatch -%}
{%- endmacro -%}

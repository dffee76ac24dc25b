\if :{?dry_run}
\else
\set dry_run false
\endif
{%- let boolean_variable = "dry_run" %}
{% include "boolean_variable.sql" %}

{#- What a script that only reads does first (verify, export): pgmig's lock, the grants it
    needs, the bookkeeping and the V1 views it reads checked, then V1 through the fdw. -#}
{%- let lock_scope = "transaction" %}

{% include "advisory_lock.sql" %}
{%- let needs = plan.privileges.of(script) %}

{% include "privileges.sql" %}

{% include "bookkeeping_guard.sql" %}
{%- let implicit_written = "'{}'::text[]" %}
{%- let implicit_read = plan.implicit_read_by_readers.as_str() %}
{%- let implicit_cast_types = plan.implicit_cast_types.as_str() %}
{%- let implicit_called_functions = plan.implicit_called_functions.as_str() %}

{% include "implicit_code_guard.sql" %}
{%- include "fdw_reader.sql" %}

{#- The guard as a statement of its own, for a transaction of migrate.sql's whose next
    statements touch the tables: the function implicit_code_guard_function.sql made. -#}
DO {% filter dollar("guard") %}
BEGIN
  PERFORM _pgmig.pgmig_implicit_code_guard({{ v.implicit_tables }}, '{}'::text[], {{ v.implicit_cast_types }}, {{ v.implicit_called_functions }});
END
{% endfilter %};

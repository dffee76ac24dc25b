-- -v {{ boolean_variable|comment }} must be a boolean PostgreSQL and psql's \if read alike (true/false, yes/no,
-- on/off, 1/0, or a prefix; no blanks): anything else stops the script here, before it writes
-- (psql's \if alone would warn, take it as false and go on).
SET pgmig.{{ boolean_variable }} = :'{{ boolean_variable }}';
DO {% filter dollar("boolean") %}
BEGIN
  IF pg_catalog.current_setting('pgmig.{{ boolean_variable }}') !~* '^(t|tr|tru|true|f|fa|fal|fals|false|y|ye|yes|n|no|on|of|off|1|0)$' THEN
    RAISE EXCEPTION '{{ boolean_variable }} must be a boolean (true/false, yes/no, on/off, 1/0), not "%"', pg_catalog.current_setting('pgmig.{{ boolean_variable }}')
      USING HINT = 'psql -v {{ boolean_variable }}=true or -v {{ boolean_variable }}=false';
  END IF;
END
{% endfilter %};

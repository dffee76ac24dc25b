{#- verify's checks, shared by verify.sql and cleanup.sql (which drops the backups only if
    every one passes): PASS or FAIL each, failures counted in pgmig.failures. #}
{%- for c in v.checks %}

-- {{ c.label_comment|comment }}
DO {% filter dollar("check") %}
DECLARE
  n_rows bigint;
BEGIN
  SELECT count(*) INTO n_rows FROM (
    {{ c.query }}
  ) AS offending;
  IF n_rows = 0 THEN
    RAISE NOTICE 'PASS  {{ c.label_notice }}';
  ELSE
    RAISE NOTICE 'FAIL  {{ c.label_notice }}: % rows', n_rows;
    PERFORM set_config('pgmig.failures', (current_setting('pgmig.failures')::int + 1)::text, false);
  END IF;
END
{% endfilter %};
{%- endfor %}

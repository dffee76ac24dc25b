{#- verify's checks, shared by verify.sql and cleanup.sql (which drops the backups only if
    every one passes): PASS or FAIL each, failures counted in pgmig.failures. #}
{%- for t in v.tables %}
{%- if !t.changes.is_empty() %}

-- The backup of {{ t.name|comment }} as migrate sealed it: the checks below compare with it, rollback restores from it.
DO {% filter dollar("check") %}
DECLARE
  n_rows bigint;
  digest_now text;
  n_sealed bigint;
  digest_sealed text;
BEGIN
  SELECT count(*), {{ t.backup_digest }} INTO n_rows, digest_now
  FROM {{ t.backup }} AS bk;
  SELECT s.rows, s.digest INTO n_sealed, digest_sealed
  FROM _pgmig.seals AS s WHERE s.model = {{ v.model_lit }} AND s.subject = {{ t.seal_subject_lit }};
  IF digest_sealed = digest_now AND n_sealed = n_rows THEN
    RAISE NOTICE 'PASS  {{ t.seal_subject_notice }} as migrate sealed it (% rows)', n_rows;
  ELSE
    RAISE NOTICE 'FAIL  {{ t.seal_subject_notice }} changed since migrate: % rows now, % sealed', n_rows, coalesce(n_sealed::text, 'none');
    PERFORM set_config('pgmig.failures', (current_setting('pgmig.failures')::int + 1)::text, false);
  END IF;
END
{% endfilter %};
{%- endif %}
{%- endfor %}
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

{#- verify's checks, shared by verify.sql and cleanup.sql (which drops the backups only if
    every one passes): PASS or FAIL each, failures counted in pgmig.failures. #}
{%- import "inplace/query.sql" as q %}
{%- import "seal_check.sql" as seal %}
{%- for t in v.tables %}
{%- if !t.changes.is_empty() %}

-- The backup of {{ t.name|comment }} as migrate sealed it: the checks below compare with it, rollback restores from it.
DO {% filter dollar("check") %}
DECLARE
{% call seal::variables() %}{% endcall %}
BEGIN
  SELECT count(*), {% call q::backup_digest(t.backup_columns) %}{% endcall %} INTO n_rows, digest_now
  FROM {{ t.backup }} AS bk;
{% call seal::sealed("  ", v.model, t.seal_subject) %}{% endcall %}
  IF digest_sealed = digest_now AND n_sealed = n_rows THEN
    RAISE NOTICE 'PASS  {{ t.seal_subject|notice }} as migrate sealed it (% rows)', n_rows;
  ELSE
    RAISE NOTICE 'FAIL  {{ t.seal_subject|notice }} changed since migrate: % rows now, % sealed', n_rows, coalesce(n_sealed::text, 'none');
    PERFORM set_config('pgmig.failures', (current_setting('pgmig.failures')::int + 1)::text, false);
  END IF;
END
{% endfilter %};
{%- endif %}
{%- endfor %}
{%- for c in v.checks %}

-- {{ c.comment|comment }}
DO {% filter dollar("check") %}
DECLARE
  n_rows bigint;
BEGIN
  SELECT count(*) INTO n_rows FROM (
    {% call q::query(c.query) %}{% endcall %}
  ) AS offending;
  IF n_rows = 0 THEN
    RAISE NOTICE 'PASS  {{ c.notice|notice }}';
  ELSE
    RAISE NOTICE 'FAIL  {{ c.notice|notice }}: % rows', n_rows;
    PERFORM set_config('pgmig.failures', (current_setting('pgmig.failures')::int + 1)::text, false);
  END IF;
END
{% endfilter %};
{%- endfor %}

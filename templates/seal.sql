{% import "step_replace.sql" as replace -%}
-- Seals: verify checks V1 and the bookkeeping (rejects, repairs, saved sequence values,
-- reference rows) against these digests before it trusts them.
INSERT INTO _pgmig.seals (model, subject, rows, digest)
SELECT {{ plan.model|lit }}, d.subject, d.rows, d.digest
FROM (
{% include "digests.sql" %}
) AS d
ON CONFLICT (model, subject) DO UPDATE SET rows = EXCLUDED.rows, digest = EXCLUDED.digest;
{%- if !plan.replace_backups.is_empty() %}
-- The backups of the V2 rows the steps replaced, which rollback puts back: sealed as they are
-- now (a seal goes once rollback has restored the rows and dropped the backup).
DO {% filter dollar("seal") %}
BEGIN
{%- for b in plan.replace_backups %}
  IF to_regclass({{ b.backup|lit }}) IS NULL THEN
    DELETE FROM _pgmig.seals WHERE model = {{ plan.model|lit }} AND subject = {{ b.subject|lit }};
  ELSE
    INSERT INTO _pgmig.seals (model, subject, rows, digest)
    SELECT {{ plan.model|lit }}, {{ b.subject|lit }}, count(*), {% call replace::digest() %}{% endcall %}
    FROM {{ b.backup }} AS b
    ON CONFLICT (model, subject) DO UPDATE SET rows = EXCLUDED.rows, digest = EXCLUDED.digest;
  END IF;
{%- endfor %}
END
{% endfilter %};
{%- endif %}

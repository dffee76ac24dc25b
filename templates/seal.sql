-- Seals: verify checks V1 and the bookkeeping (rejects, repairs, saved sequence values,
-- reference rows) against these digests before it trusts them.
INSERT INTO _pgmig.seals (model, subject, rows, digest)
SELECT {{ plan.model|lit }}, d.subject, d.rows, d.digest
FROM (
{% include "digests.sql" %}
) AS d
ON CONFLICT (model, subject) DO UPDATE SET rows = EXCLUDED.rows, digest = EXCLUDED.digest;

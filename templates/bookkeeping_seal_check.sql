-- The bookkeeping as the last script sealed it (seal.sql), before anything is changed: {% if checking == "migrate.sql" %}this
-- wave adds to it and seals it anew, which would take a change made since for its own{% else %}rollback
-- puts back the rejects, sequences and counts it records{% endif %}. Transaction mode seals in the same
-- transaction that writes, so a difference is a change made since.
DO {% filter dollar("seals") %}
DECLARE
  changed text;
BEGIN
  SELECT string_agg(pg_catalog.format('%s (%s rows now, %s sealed)', d.subject, d.rows, s.rows), ', ' ORDER BY d.subject)
  INTO changed
  FROM (
{% include "digests.sql" %}
  ) AS d
  JOIN _pgmig.seals AS s ON s.model = {{ plan.model|lit }} AND s.subject = d.subject
  WHERE d.digest IS DISTINCT FROM s.digest;
  IF changed IS NOT NULL THEN
    RAISE EXCEPTION '{{ checking }}: refused, nothing was changed: the bookkeeping changed since it was sealed: %', changed
      USING HINT = 'put it back as the last migrate or rollback left it (from a dump taken then), then run {{ checking }} again; verify.sql names what changed';
  END IF;
END
{% endfilter %};

-- Waves ("one user, then everyone"): a migrate after a finished one moves only the V1 rows no
-- earlier wave migrated (the id maps hold them), as the next wave. Its number goes on every
-- row it writes to _pgmig (log, id maps, backups, rejects, changes, reference rows), so
-- rollback.sql -v wave=last can undo it alone; what the first wave recorded (sequence values,
-- rows before migrate, row digests) stays as it was.
DO {% filter dollar("wave") %}
BEGIN
  PERFORM pg_catalog.set_config('pgmig.wave',
    (SELECT (coalesce(max(l.wave), 0) + 1)::text FROM _pgmig.log AS l
     WHERE l.model = {{ plan.model|lit }} AND l.script = 'migrate' AND l.status = 'done'), false);
  IF pg_catalog.current_setting('pgmig.wave') <> '1' THEN
    RAISE NOTICE 'model {{ plan.model|notice }}: wave %: the V1 rows earlier waves migrated stay as they are', pg_catalog.current_setting('pgmig.wave');
  END IF;
END
{% endfilter %};

-- Which compile (and, under `pgmig run`, which script file: its sha256) wrote each log row:
-- the columns default to what the running script SET, so every INSERT INTO _pgmig.log
-- records them. Added once, to a _pgmig.log that bookkeeping just made or that an earlier
-- pgmig made: the ALTER's ACCESS EXCLUSIVE lock is not taken on every run. The wave column
-- (of the log, rejects, changes, reference rows and the values repairs found taken) numbers
-- the migrate run that wrote a row.
SET client_min_messages = warning;
DO {% filter dollar("columns") %}
BEGIN
  IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute AS a
      WHERE a.attrelid = '_pgmig.log'::pg_catalog.regclass AND a.attname IN ('fingerprint', 'script_sha256', 'wave')
        AND NOT a.attisdropped AND a.atthasdef) < 3 THEN
    ALTER TABLE _pgmig.log
      ADD COLUMN IF NOT EXISTS fingerprint text,
      ADD COLUMN IF NOT EXISTS script_sha256 text,
      ADD COLUMN IF NOT EXISTS wave integer,
      ALTER COLUMN fingerprint SET DEFAULT NULLIF(pg_catalog.current_setting('pgmig.fingerprint', true), ''),
      ALTER COLUMN script_sha256 SET DEFAULT NULLIF(pg_catalog.current_setting('pgmig.script_sha256', true), ''),
      ALTER COLUMN wave SET DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer;
    ALTER TABLE IF EXISTS _pgmig.rejects
      ADD COLUMN IF NOT EXISTS wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer;
    ALTER TABLE IF EXISTS _pgmig.changes
      ADD COLUMN IF NOT EXISTS wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer;
    ALTER TABLE IF EXISTS _pgmig.reference
      ADD COLUMN IF NOT EXISTS wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer;
  END IF;
  -- The values repairs found taken got their wave after the others.
  IF pg_catalog.to_regclass('_pgmig.repairs_taken') IS NOT NULL
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                     WHERE a.attrelid = '_pgmig.repairs_taken'::pg_catalog.regclass AND a.attname = 'wave'
                       AND NOT a.attisdropped) THEN
    ALTER TABLE _pgmig.repairs_taken
      ADD COLUMN wave integer DEFAULT NULLIF(pg_catalog.current_setting('pgmig.wave', true), '')::integer;
  END IF;
END
{% endfilter %};
RESET client_min_messages;

-- Which compile (and, under `pgmig run`, which script file: its sha256) wrote each log row:
-- the columns default to what the running script SET, so every INSERT INTO _pgmig.log
-- records them. Added to a _pgmig.log that an earlier pgmig made.
SET client_min_messages = warning;
ALTER TABLE _pgmig.log
  ADD COLUMN IF NOT EXISTS fingerprint text,
  ADD COLUMN IF NOT EXISTS script_sha256 text,
  ALTER COLUMN fingerprint SET DEFAULT NULLIF(pg_catalog.current_setting('pgmig.fingerprint', true), ''),
  ALTER COLUMN script_sha256 SET DEFAULT NULLIF(pg_catalog.current_setting('pgmig.script_sha256', true), '');
RESET client_min_messages;

\if :{?lock_retries}
\else
\set lock_retries 5
\endif
SET pgmig.lock_retries = :'lock_retries';
-- After a lock not had within lock_timeout, or a deadlock (the attempt's locks given back):
-- a pause that starts at lock_timeout and doubles (at most a minute), lock_retries times,
-- then an error.
CREATE FUNCTION pg_temp.pgmig_lock_wait(what text, attempt integer) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS {% filter dollar("wait") %}
DECLARE
  retries integer := pg_catalog.current_setting('pgmig.lock_retries')::integer;
  pause interval := least(pg_catalog.current_setting('lock_timeout')::interval * 2 ^ (attempt - 1), interval '1 minute');
BEGIN
  IF attempt > retries THEN
    RAISE EXCEPTION '%: no lock within lock_timeout % in % attempts', what, pg_catalog.current_setting('lock_timeout'), attempt
      USING ERRCODE = 'lock_not_available',
            HINT = 'a long transaction holds one of the tables (SELECT pid, pg_blocking_pids(pid), query FROM pg_stat_activity); run the script again when it has ended (migrate goes on where it stopped), or give -v lock_retries=N or a longer -v lock_timeout';
  END IF;
  RAISE NOTICE '%: no lock within lock_timeout %, attempt % of %: trying again in %', what, pg_catalog.current_setting('lock_timeout'), attempt, retries + 1, pause;
  PERFORM pg_catalog.pg_sleep_for(pause);
END
{% endfilter %};

-- One pgmig run per database at a time: two runs interleaving leave what a rerun cannot
-- fix. Taken here, not waited for: a second run fails at once, naming the first. Any role
-- that can connect may take an advisory lock, so the holder may not be a pgmig run: the
-- message gives its role, and whether it is a superuser, for the DBA to judge.
{%- if lock_scope == "session" %}
-- Held by this session (this script commits as it goes) until its end or psql's exit.
{%- else %}
-- Held until this transaction ends.
{%- endif %}
-- `pgmig run` holds the same lock in the same session: advisory locks are re-entrant there.
DO {% filter dollar("lock") %}
DECLARE
  holder text;
  holder_gone boolean;
BEGIN
  -- A run that just failed holds the lock until its server process has exited, a moment
  -- after psql: while the holder has no session left, the lock is asked for again (2 s).
  FOR attempt IN 1..20 LOOP
    EXIT WHEN pg_catalog.pg_try_advisory{% if lock_scope != "session" %}_xact{% endif %}_lock({{ crate::run::LOCK_KEY }});
    -- The role's name quoted: one may be named to read like these words ("postgres, a superuser").
    -- Not with %I: a holder whose session is gone has no name, and %I refuses a NULL.
    SELECT pg_catalog.format('pid %s (user %s, %s, application %s, from %s, connected since %s)',
                             l.pid, pg_catalog.quote_ident(a.usename),
                             CASE WHEN r.rolsuper THEN 'a superuser' WHEN NOT r.rolsuper THEN 'not a superuser' ELSE 'no session' END,
                             pg_catalog.quote_literal(a.application_name),
                             coalesce(a.client_addr::text, 'the local socket'),
                             pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')),
           a.pid IS NULL
    INTO holder, holder_gone
    FROM pg_catalog.pg_locks AS l
    LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
    LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.usesysid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())
      AND l.classid = {{ crate::run::lock::LOCK_CLASSID }} AND l.objid = {{ crate::run::lock::LOCK_OBJID }} AND l.objsubid = 1
    LIMIT 1;
    IF NOT coalesce(holder_gone, true) OR attempt = 20 THEN
      RAISE EXCEPTION 'pgmig''s lock on this database is held by %', coalesce(holder, 'a run that may just have finished')
        USING HINT = 'another pgmig run holds it, or a session that took the same advisory lock key: '
                     'wait for a pgmig run to end; end any other session with SELECT pg_terminate_backend(pid); '
                     'then run this script again';
    END IF;
    PERFORM pg_catalog.pg_sleep(0.1);
  END LOOP;
END
{% endfilter %};

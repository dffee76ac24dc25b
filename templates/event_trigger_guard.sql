-- Enabled event triggers run on every DDL command of this script, as the role running it:
-- one whose function another role owns (and so can replace) would run that role's code with
-- this role's rights. Checked before this script's first DDL command.
DO {% filter dollar("guard") %}
DECLARE
  findings text[];
BEGIN
  SELECT pg_catalog.array_agg(pg_catalog.format('event trigger %I on %s runs %s, owned by %s',
                                                t.evtname, t.evtevent, t.evtfoid::regprocedure, p.proowner::regrole)
                              ORDER BY t.evtname)
  INTO findings
  FROM pg_catalog.pg_event_trigger AS t
  JOIN pg_catalog.pg_proc AS p ON p.oid = t.evtfoid
  JOIN pg_catalog.pg_roles AS r ON r.oid = p.proowner
  WHERE t.evtenabled <> 'D' AND NOT r.rolsuper AND r.rolname <> CURRENT_USER;
  IF findings IS NOT NULL THEN
    RAISE EXCEPTION 'pgmig will not run: an enabled event trigger runs a function that another role owns'
      USING DETAIL = pg_catalog.array_to_string(findings, E'\n'),
            HINT = 'a superuser can ALTER EVENT TRIGGER ... DISABLE for the migration, or give the function to a superuser';
  END IF;
END
{% endfilter %};

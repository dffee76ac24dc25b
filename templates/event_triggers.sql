-- Enabled event triggers run on every DDL command of migrate (the id maps' CREATE TABLE) as
-- the role running it: listed here, so that nothing runs during migrate unannounced.
DO {% filter dollar("check") %}
DECLARE
  e record;
BEGIN
  FOR e IN
    SELECT t.evtname, t.evtevent, t.evtfoid::regprocedure AS function, p.proowner::regrole AS owner
    FROM pg_catalog.pg_event_trigger AS t
    JOIN pg_catalog.pg_proc AS p ON p.oid = t.evtfoid
    WHERE t.evtenabled <> 'D'
    ORDER BY t.evtname
  LOOP
    RAISE NOTICE 'EVENT TRIGGER  % (%) runs % (owned by %) on migrate''s DDL, as the role running migrate',
      pg_catalog.quote_ident(e.evtname), e.evtevent, e.function, e.owner;
  END LOOP;
END
{% endfilter %};

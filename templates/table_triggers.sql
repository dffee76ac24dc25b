-- The triggers of the tables migrate writes fire for each row it inserts (and rollback's
-- deletes fire theirs): the guard above refuses those another role owns, but a trusted
-- one still does what it does beyond the row (a counter in another table, a queue of mails,
-- a NOTIFY), and neither verify nor rollback sees that. Listed here, so that nothing runs
-- during migrate unannounced.
DO {% filter dollar("check") %}
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid::regclass AS written_table, pg_catalog.pg_get_triggerdef(g.oid) AS definition, p.proowner::regrole AS owner
    FROM pg_catalog.unnest({{ plan.implicit_written }}) AS n (name)
    JOIN pg_catalog.pg_class AS c ON c.oid = pg_catalog.to_regclass(n.name)
    JOIN pg_catalog.pg_trigger AS g ON g.tgrelid = c.oid
    JOIN pg_catalog.pg_proc AS p ON p.oid = g.tgfoid
    WHERE NOT g.tgisinternal AND g.tgenabled IN ('O', 'A')
    ORDER BY 1, g.tgname
  LOOP
    RAISE NOTICE 'TRIGGER  %: % (function owned by %) fires as migrate writes and as rollback deletes; what it does beyond the row is neither verified nor undone',
      t.written_table, t.definition, t.owner;
  END LOOP;
END
{% endfilter %};

-- -v defer_constraints=on (transaction mode): a step whose target is empty drops its foreign
-- keys and secondary indexes and re-creates them, validated, after its insert: one check and
-- one build over all rows instead of one per row. Faster on big loads; holds ACCESS EXCLUSIVE
-- on that table and SHARE ROW EXCLUSIVE on the tables it references until COMMIT. The
-- definitions are read from the catalog (pg_get_constraintdef, pg_get_indexdef), so they come
-- back exactly as they were, with what pg_get_indexdef leaves out of an index: its
-- tablespace, REPLICA IDENTITY USING INDEX, CLUSTER ON, COMMENT and per-column statistics
-- targets. Session-only helpers (pg_temp): nothing of them stays.
-- pgmig.defer_constraints holds -v defer_constraints, checked to be a boolean before BEGIN.
CREATE FUNCTION pg_temp.pgmig_defer_constraints(target regclass) RETURNS boolean
LANGUAGE plpgsql
SET client_min_messages = warning
SET search_path = pg_catalog, pg_temp
AS {% filter dollar("defer") %}
DECLARE
  empty boolean;
  item record;
BEGIN
  IF NOT pg_catalog.current_setting('pgmig.defer_constraints')::boolean THEN
    RETURN false;
  END IF;
  EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %s)', target) INTO empty;
  IF NOT empty THEN
    RETURN false;
  END IF;
  -- tablespace and restore_after: what pg_get_indexdef omits, put back once the index is built.
  CREATE TEMP TABLE IF NOT EXISTS pgmig_deferred (target regclass, kind text, name text, definition text,
                                                  tablespace text, restore_after text[]) ON COMMIT DROP;
  INSERT INTO pgmig_deferred
  SELECT target, 'foreign key', c.conname, pg_get_constraintdef(c.oid), NULL, '{}'
  FROM pg_constraint AS c
  WHERE c.conrelid = target AND c.contype = 'f'
  UNION ALL
  SELECT target, 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
         (SELECT s.spcname FROM pg_tablespace AS s WHERE s.oid = ic.reltablespace),
         array_remove(ARRAY[
           CASE WHEN i.indisreplident THEN format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', target, ic.relname) END,
           CASE WHEN i.indisclustered THEN format('ALTER TABLE %s CLUSTER ON %I', target, ic.relname) END,
           (SELECT format('COMMENT ON INDEX %s IS %L', i.indexrelid::regclass, d.description)
            FROM pg_description AS d
            WHERE d.classoid = 'pg_class'::regclass AND d.objoid = i.indexrelid AND d.objsubid = 0)
         ], NULL)
         || ARRAY(SELECT format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS %s', i.indexrelid::regclass, a.attnum, a.attstattarget)
                  FROM pg_attribute AS a
                  WHERE a.attrelid = i.indexrelid AND a.attnum > 0 AND a.attstattarget >= 0
                  ORDER BY a.attnum)
  FROM pg_index AS i
  JOIN pg_class AS ic ON ic.oid = i.indexrelid
  WHERE i.indrelid = target
    AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid);
  FOR item IN SELECT * FROM pgmig_deferred AS d WHERE d.target = pgmig_defer_constraints.target LOOP
    IF item.kind = 'foreign key' THEN
      EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', target, item.name);
    ELSE
      EXECUTE format('DROP INDEX %s', item.name);
    END IF;
  END LOOP;
  RETURN true;
END
{% endfilter %};
CREATE FUNCTION pg_temp.pgmig_restore_constraints(target regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS {% filter dollar("restore") %}
DECLARE
  item record;
  restore_statement text;
  session_tablespace text := current_setting('default_tablespace');
BEGIN
  -- In the same transaction: a row that breaks a foreign key fails the step here.
  FOR item IN SELECT * FROM pgmig_deferred AS d WHERE d.target = pgmig_restore_constraints.target ORDER BY d.kind DESC LOOP
    IF item.kind = 'foreign key' THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, item.name, item.definition);
    ELSE
      -- Built where it was (default_tablespace: not built elsewhere and moved).
      PERFORM set_config('default_tablespace', coalesce(item.tablespace, ''), true);
      EXECUTE item.definition;
      PERFORM set_config('default_tablespace', session_tablespace, true);
      FOREACH restore_statement IN ARRAY item.restore_after LOOP
        EXECUTE restore_statement;
      END LOOP;
    END IF;
  END LOOP;
  DELETE FROM pgmig_deferred AS d WHERE d.target = pgmig_restore_constraints.target;
END
{% endfilter %};

-- -v defer_constraints=on (transaction mode): a step whose target is empty drops its foreign
-- keys and secondary indexes and re-creates them, validated, after its insert: one check and
-- one build over all rows instead of one per row. Faster on big loads; holds ACCESS EXCLUSIVE
-- on that table and SHARE ROW EXCLUSIVE on the tables it references until COMMIT. The
-- definitions are read from the catalog (pg_get_constraintdef, pg_get_indexdef), so they come
-- back exactly as they were. Session-only helpers (pg_temp): nothing of them stays.
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
  CREATE TEMP TABLE IF NOT EXISTS pgmig_deferred (target regclass, kind text, name text, definition text) ON COMMIT DROP;
  INSERT INTO pgmig_deferred
  SELECT target, 'foreign key', c.conname, pg_get_constraintdef(c.oid)
  FROM pg_constraint AS c
  WHERE c.conrelid = target AND c.contype = 'f'
  UNION ALL
  SELECT target, 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index AS i
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
BEGIN
  -- In the same transaction: a row that breaks a foreign key fails the step here.
  FOR item IN SELECT * FROM pgmig_deferred AS d WHERE d.target = pgmig_restore_constraints.target ORDER BY d.kind DESC LOOP
    IF item.kind = 'foreign key' THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, item.name, item.definition);
    ELSE
      EXECUTE item.definition;
    END IF;
  END LOOP;
  DELETE FROM pgmig_deferred AS d WHERE d.target = pgmig_restore_constraints.target;
END
{% endfilter %};

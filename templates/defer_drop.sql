
  -- -v defer_constraints=on, an empty target: its foreign keys and secondary indexes go now and
  -- come back after the insert (FKs validated: one check and one build instead of one per row).
  -- Their definitions are read from the catalog here, so they come back exactly as they were.
  deferring := current_setting('pgmig.defer_constraints') = 'on' AND NOT EXISTS (SELECT 1 FROM {{ s.target }});
  IF deferring THEN
    CREATE TEMP TABLE IF NOT EXISTS pgmig_deferred (kind text, name text, definition text) ON COMMIT DROP;
    DELETE FROM pgmig_deferred;
    INSERT INTO pgmig_deferred
    SELECT 'foreign key', c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint AS c
    WHERE c.conrelid = {{ s.target_lit }}::regclass AND c.contype = 'f'
    UNION ALL
    SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index AS i
    WHERE i.indrelid = {{ s.target_lit }}::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid);
    FOR deferred_item IN SELECT * FROM pgmig_deferred LOOP
      IF deferred_item.kind = 'foreign key' THEN
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', {{ s.target_lit }}, deferred_item.name);
      ELSE
        EXECUTE format('DROP INDEX %s', deferred_item.name);
      END IF;
    END LOOP;
  END IF;

  IF deferring THEN
    -- Back, in the same transaction: a row that breaks a foreign key fails the step here.
    FOR deferred_item IN SELECT * FROM pgmig_deferred ORDER BY kind DESC LOOP
      IF deferred_item.kind = 'foreign key' THEN
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', {{ s.target_lit }}, deferred_item.name, deferred_item.definition);
      ELSE
        EXECUTE deferred_item.definition;
      END IF;
    END LOOP;
  END IF;


  -- -v defer_constraints=on: what was deferred above comes back, validated: a row that
  -- breaks a foreign key fails the step here.
  IF deferring THEN
    PERFORM pg_temp.pgmig_restore_constraints({{ s.target|lit }});
  END IF;

  IF deferring THEN
    PERFORM pg_temp.pgmig_restore_constraints({{ s.target_lit }});
  END IF;

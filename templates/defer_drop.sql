
  -- -v defer_constraints=on: if {{ s.target|comment }} is empty, its foreign keys and secondary indexes
  -- wait for the insert (pg_temp.pgmig_defer_constraints, at the top of this script).
  deferring := pg_temp.pgmig_defer_constraints({{ s.target|lit }});

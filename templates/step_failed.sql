EXCEPTION WHEN OTHERS THEN
  -- Whatever failed, psql shows the step and its model line; SQLSTATE, detail and hint stay.
  GET STACKED DIAGNOSTICS err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
  RAISE EXCEPTION 'step {{ s.name|notice }} ({{ plan.model_file|notice }}:{{ s.line }}) failed: %', SQLERRM
    USING ERRCODE = SQLSTATE, DETAIL = err_detail, HINT = {{ step_hint }};

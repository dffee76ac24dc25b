DO {% filter dollar("guard") %}
BEGIN
  IF EXISTS (SELECT 1 FROM _pgmig.log
             WHERE model = {{ plan.model|lit }} AND script = 'migrate' AND step = '(all)' AND status = 'done') THEN
    RAISE EXCEPTION 'model {{ plan.model|notice }} is already migrated in this database; mode {{ second_wave_mode }} migrates in one wave'
      USING HINT = 'a {{ second_wave_mode }} run started again resumes where it stopped, so it cannot tell a second wave from a resume: '
                   'run rollback.sql first, or verify.sql to check the result; waves (--only, then the rest) need mode: transaction';
  END IF;
END
{% endfilter %};

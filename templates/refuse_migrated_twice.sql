DO {% filter dollar("guard") %}
BEGIN
  IF EXISTS (SELECT 1 FROM _pgmig.log
             WHERE model = {{ plan.model_lit }} AND script = 'migrate' AND step = '(all)' AND status = 'done') THEN
    RAISE EXCEPTION 'model {{ plan.model|notice }} is already migrated in this database'
      USING HINT = 'run rollback.sql first, or verify.sql to check the result';
  END IF;
END
{% endfilter %};

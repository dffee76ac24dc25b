{%- if let Some(o) = plan.only %}
-- --only {{ o.text|comment }}: a selection that matches no V1 row (a mistyped email) would migrate
-- nothing and still count as a wave: refused before anything is written.
DO {% filter dollar("only") %}
BEGIN
  IF NOT EXISTS (SELECT 1 FROM {{ o.table }} AS t WHERE {{ o.condition }}) THEN
    RAISE EXCEPTION '--only {{ o.text|notice }}: no row of {{ o.table|notice }} matches; nothing was changed'
      USING HINT = 'check the value (precheck.sql reports it too), or compile without --only to migrate every row';
  END IF;
END
{% endfilter %};
{%- endif %}

-- V1's tables as imported from the server: every column the scripts read, with its type, as
-- compiled. A table or column missing on the server, or of another type there, stops the
-- script before any step reads or writes, naming the first difference.
DO {% filter dollar("catalog") %}
DECLARE
  difference text;
BEGIN
  SELECT CASE WHEN pg_catalog.to_regclass(e.imported) IS NULL THEN pg_catalog.format('V1 table %s does not exist', e.tab)
              WHEN a.attname IS NULL THEN pg_catalog.format('V1 column %s.%I does not exist', e.tab, e.col)
              ELSE pg_catalog.format('V1 column %s.%I is %s, compiled as %s', e.tab, e.col,
                                     pg_catalog.format_type(a.atttypid, a.atttypmod), e.typ) END
  INTO difference
  FROM (VALUES {% for c in v.compiled_columns %}{% if !loop.first %},
               {% endif %}({{ loop.index }}, {{ c.table|lit }}, {{ c.imported|lit }}, {{ c.column|lit }}, {{ c.data_type|lit }}){% endfor %}) AS e (n, tab, imported, col, typ)
  LEFT JOIN pg_catalog.pg_attribute AS a
         ON a.attrelid = pg_catalog.to_regclass(e.imported) AND a.attname = e.col AND a.attnum > 0 AND NOT a.attisdropped
  WHERE a.attname IS NULL OR pg_catalog.format_type(a.atttypid, a.atttypmod) <> e.typ
  ORDER BY e.n
  LIMIT 1;
  IF difference IS NOT NULL THEN
    RAISE EXCEPTION '{{ checking }}: V1 on server {{ v.name|notice }} is not the one the script was compiled against: %; nothing was changed', difference
      USING HINT = 'compile the model again against this V1 and V2';
  END IF;
END
{% endfilter %};

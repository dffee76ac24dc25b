-- The catalogs this script was compiled against: every column of the tables it reads and
-- writes, with its type. A table or column missing here, or of another type, stops the
-- script before any step reads or writes, naming the first difference.
DO {% filter dollar("catalog") %}
DECLARE
  difference text;
BEGIN
  SELECT CASE WHEN pg_catalog.to_regclass(e.tab) IS NULL THEN pg_catalog.format('%s table %s does not exist', e.side, e.tab)
              WHEN a.attname IS NULL THEN pg_catalog.format('%s column %s.%I does not exist', e.side, e.tab, e.col)
              ELSE pg_catalog.format('%s column %s.%I is %s, compiled as %s', e.side, e.tab, e.col,
                                     pg_catalog.format_type(a.atttypid, a.atttypmod), e.typ) END
  INTO difference
  FROM (VALUES {% for c in plan.compiled_columns %}{% if !loop.first %},
               {% endif %}({{ loop.index }}, {{ c.side|lit }}, {{ c.table|lit }}, {{ c.column|lit }}, {{ c.data_type|lit }}){% endfor %}) AS e (n, side, tab, col, typ)
  LEFT JOIN pg_catalog.pg_attribute AS a
         ON a.attrelid = pg_catalog.to_regclass(e.tab) AND a.attname = e.col AND a.attnum > 0 AND NOT a.attisdropped
  WHERE a.attname IS NULL OR pg_catalog.format_type(a.atttypid, a.atttypmod) <> e.typ
  ORDER BY e.n
  LIMIT 1;
  IF difference IS NOT NULL THEN
    RAISE EXCEPTION '{{ checking }}: this database is not the one the script was compiled against: %; nothing was changed', difference
      USING HINT = 'is this the database to migrate, the one holding V2''s tables (not V1''s database)? If it is, compile the model again against its V1 and V2';
  END IF;
END
{% endfilter %};

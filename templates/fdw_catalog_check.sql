-- V1's tables as imported from the server: every column the scripts read, with its type, as
-- compiled. A table or column missing on the server, or of another type there, stops the
-- script before any step reads or writes, naming the first difference. The imported column
-- takes the local type of its V1 type's name: that one must be what V1's is too (a domain
-- over the same base type, or no domain), since postgres_fdw converts each value to it.
DO {% filter dollar("catalog") %}
DECLARE
  difference text;
BEGIN
  SELECT CASE WHEN pg_catalog.to_regclass(e.imported) IS NULL THEN pg_catalog.format('V1 table %s does not exist', e.tab)
              WHEN a.attname IS NULL THEN pg_catalog.format('V1 column %s.%I does not exist', e.tab, e.col)
              WHEN pg_catalog.format_type(a.atttypid, a.atttypmod) <> e.typ
              THEN pg_catalog.format('V1 column %s.%I is %s, compiled as %s', e.tab, e.col,
                                     pg_catalog.format_type(a.atttypid, a.atttypmod), e.typ)
              ELSE pg_catalog.format('V1 column %s.%I is of type %s, which is %s here and %s on V1', e.tab, e.col, e.typ,
                                     here.kind, e.kind) END
  INTO difference
  FROM (SELECT c.n, c.tab, c.imported, c.col, c.typ,
               CASE WHEN c.base <> c.typ THEN 'a domain over ' || c.base ELSE 'no domain' END
        FROM (VALUES {% for c in v.compiled_columns %}{% if !loop.first %},
                     {% endif %}({{ loop.index }}, {{ c.table|lit }}, {{ c.imported|lit }}, {{ c.column|lit }}, {{ c.data_type|lit }}, {{ c.base_type|lit }}){% endfor %}) AS c (n, tab, imported, col, typ, base)
       ) AS e (n, tab, imported, col, typ, kind)
  LEFT JOIN pg_catalog.pg_attribute AS a
         ON a.attrelid = pg_catalog.to_regclass(e.imported) AND a.attname = e.col AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN LATERAL (
    SELECT CASE WHEN y.typtype = 'd' THEN 'a domain over ' || pg_catalog.format_type(y.typbasetype, y.typtypmod) ELSE 'no domain' END
    FROM pg_catalog.pg_type AS y
    WHERE y.oid = a.atttypid
  ) AS here (kind) ON true
  WHERE a.attname IS NULL OR pg_catalog.format_type(a.atttypid, a.atttypmod) <> e.typ OR here.kind <> e.kind
  ORDER BY e.n
  LIMIT 1;
  IF difference IS NOT NULL THEN
    RAISE EXCEPTION '{{ checking }}: V1 on server {{ v.name|notice }} is not the one the script was compiled against: %; nothing was changed', difference
      USING HINT = 'compile the model again against this V1 and V2';
  END IF;
END
{% endfilter %};

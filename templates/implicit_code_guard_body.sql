  runner text := CURRENT_USER;
  owner_named text := coalesce(pg_catalog.current_setting('pgmig.owner', true), '');
  runner_bypasses_rls boolean;
  written_table regclass;
  findings text[];
BEGIN
  SELECT r.rolsuper OR r.rolbypassrls INTO runner_bypasses_rls FROM pg_catalog.pg_roles AS r WHERE r.rolname = runner;
  FOR written_table IN
    SELECT c.oid::regclass
    FROM pg_catalog.unnest(written_names) AS n (name)
    JOIN pg_catalog.pg_class AS c ON c.oid = pg_catalog.to_regclass(n.name)
    WHERE c.relkind IN ('r', 'p', 'v')
  LOOP
    -- LOCK takes no parameter; the name is regclass's output, quoted by PostgreSQL.
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ROW EXCLUSIVE MODE', written_table);
  END LOOP;

  WITH RECURSIVE
  written (rel) AS (
    SELECT pg_catalog.to_regclass(n.name)::oid
    FROM pg_catalog.unnest(written_names) AS n (name)
    WHERE pg_catalog.to_regclass(n.name) IS NOT NULL
    UNION
    SELECT e.reached
    FROM written AS w
    JOIN (
      SELECT i.inhparent, i.inhrelid
      FROM pg_catalog.pg_inherits AS i
      UNION ALL
      SELECT k.confrelid, k.conrelid
      FROM pg_catalog.pg_constraint AS k
      WHERE k.contype = 'f' AND (k.confdeltype IN ('c', 'n', 'd') OR k.confupdtype IN ('c', 'n', 'd'))
      UNION ALL
      SELECT r.ev_class, d.refobjid
      FROM pg_catalog.pg_rewrite AS r
      JOIN pg_catalog.pg_depend AS d
        ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
       AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
    ) AS e (via, reached) ON e.via = w.rel
  ),
  -- A view's rule reads the relations it names, views among them.
  read (rel) AS (
    SELECT pg_catalog.to_regclass(n.name)::oid
    FROM pg_catalog.unnest(read_names) AS n (name)
    WHERE pg_catalog.to_regclass(n.name) IS NOT NULL
    UNION
    SELECT d.refobjid
    FROM read AS v
    JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = v.rel AND r.ev_type = '1'
    JOIN pg_catalog.pg_depend AS d
      ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
  ),
  -- Column types, through domains to their base types and arrays to their elements.
  column_type (rel, col, typ) AS (
    SELECT a.attrelid, a.attname, a.atttypid
    FROM written AS w
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = w.rel AND a.attnum > 0 AND NOT a.attisdropped
    UNION
    SELECT ct.rel, ct.col, CASE WHEN y.typtype = 'd' THEN y.typbasetype ELSE y.typelem END
    FROM column_type AS ct
    JOIN pg_catalog.pg_type AS y ON y.oid = ct.typ AND (y.typtype = 'd' OR y.typelem <> 0)
  ),
  -- What runs: (relation, what it is, catalog and oid of the object whose dependencies name
  -- the functions, and the function itself when the catalog names it directly).
  attached (rel, kind, classid, objid, fn) AS (
    SELECT t.tgrelid, pg_catalog.format('trigger %I', t.tgname), 'pg_catalog.pg_trigger'::regclass, t.oid, t.tgfoid
    FROM written AS w
    JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = w.rel AND t.tgenabled <> 'D'
    UNION ALL
    SELECT d.adrelid,
           pg_catalog.format(CASE a.attgenerated WHEN '' THEN 'DEFAULT of column %I' ELSE 'generated column %I' END, a.attname),
           'pg_catalog.pg_attrdef'::regclass, d.oid, 0::oid
    FROM written AS w
    JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = w.rel
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
    UNION ALL
    SELECT k.conrelid, pg_catalog.format('constraint %I', k.conname), 'pg_catalog.pg_constraint'::regclass, k.oid, 0::oid
    FROM written AS w
    JOIN pg_catalog.pg_constraint AS k ON k.conrelid = w.rel
    UNION ALL
    SELECT i.indrelid, pg_catalog.format('index %I', x.relname), 'pg_catalog.pg_class'::regclass, i.indexrelid, 0::oid
    FROM written AS w
    JOIN pg_catalog.pg_index AS i ON i.indrelid = w.rel
    JOIN pg_catalog.pg_class AS x ON x.oid = i.indexrelid
    UNION ALL
    SELECT r.ev_class, pg_catalog.format(CASE r.ev_type WHEN '1' THEN 'view' ELSE 'rule %I' END, r.rulename),
           'pg_catalog.pg_rewrite'::regclass, r.oid, 0::oid
    FROM (SELECT w.rel, true AS writes FROM written AS w UNION ALL SELECT v.rel, false FROM read AS v) AS s
    JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = s.rel AND (s.writes OR r.ev_type = '1')
    UNION ALL
    SELECT p.polrelid, pg_catalog.format('row level security policy %I', p.polname), 'pg_catalog.pg_policy'::regclass, p.oid, 0::oid
    FROM (SELECT w.rel FROM written AS w UNION SELECT v.rel FROM read AS v) AS s
    JOIN pg_catalog.pg_class AS c ON c.oid = s.rel AND c.relrowsecurity
    JOIN pg_catalog.pg_policy AS p ON p.polrelid = c.oid
    WHERE NOT runner_bypasses_rls
    UNION ALL
    SELECT ct.rel, pg_catalog.format('DEFAULT of domain %s (column %I)', y.oid::regtype, ct.col),
           'pg_catalog.pg_type'::regclass, y.oid, 0::oid
    FROM column_type AS ct
    JOIN pg_catalog.pg_type AS y ON y.oid = ct.typ AND y.typtype = 'd'
    UNION ALL
    SELECT ct.rel, pg_catalog.format('constraint %I of domain %s (column %I)', k.conname, k.contypid::regtype, ct.col),
           'pg_catalog.pg_constraint'::regclass, k.oid, 0::oid
    FROM column_type AS ct
    JOIN pg_catalog.pg_constraint AS k ON k.contypid = ct.typ
  ),
  -- The functions they call, and those behind the operators they use.
  called (rel, kind, fn) AS (
    SELECT a.rel, a.kind, a.fn
    FROM attached AS a
    WHERE a.fn <> 0
    UNION
    SELECT a.rel, a.kind, coalesce(o.oprcode::oid, d.refobjid)
    FROM attached AS a
    JOIN pg_catalog.pg_depend AS d
      ON d.classid = a.classid AND d.objid = a.objid
     AND d.refclassid IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_operator'::regclass)
    LEFT JOIN pg_catalog.pg_operator AS o ON d.refclassid = 'pg_catalog.pg_operator'::regclass AND o.oid = d.refobjid
  )
  SELECT pg_catalog.array_agg(f.what ORDER BY f.what) INTO findings
  FROM (
    SELECT DISTINCT pg_catalog.format('%s: %s runs %s%s, owned by %s', c.rel::regclass, c.kind, p.oid::regprocedure,
                                      CASE WHEN p.prosecdef THEN ' (SECURITY DEFINER)' ELSE '' END, p.proowner::regrole) AS what
    FROM called AS c
    JOIN pg_catalog.pg_proc AS p ON p.oid = c.fn
    JOIN pg_catalog.pg_roles AS o ON o.oid = p.proowner
    WHERE NOT o.rolsuper AND o.rolname <> runner AND o.rolname <> owner_named
  ) AS f;
  IF findings IS NOT NULL THEN
    RAISE EXCEPTION 'pgmig will not run: the tables it writes or reads would run functions that another role owns, with the rights of %', runner
      USING DETAIL = pg_catalog.array_to_string(findings, E'\n'),
            HINT = 'that role can change what they do at any moment. Have a superuser review each function and take it '
                   '(ALTER FUNCTION ... OWNER TO a superuser), or run the scripts as that role (least privilege: it needs '
                   'CREATE on this database and SELECT on V1), or name it with psql -v pgmig_owner=ROLE if you trust it';
  END IF;
END
{#- The declarations after `written_names text[]` and `read_names text[]`, and the check:
    the body of the DO block in implicit_code_guard.sql and of the function in
    implicit_code_guard_function.sql. #}

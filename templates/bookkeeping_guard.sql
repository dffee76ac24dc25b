-- pgmig's bookkeeping must be pgmig's own. Schema _pgmig and everything in it belong to the
-- role running this script (or to the role named by -v pgmig_owner=ROLE), and nothing is
-- attached that would run another role's code with this role's rights: a trigger a database
-- owner put on _pgmig.log would otherwise run as the superuser who runs migrate.
-- Checked once, before _pgmig is used: what passes cannot change under this script, since
-- only the owner (or a superuser) can create or attach anything in a schema that grants no
-- CREATE to others, on tables that grant no TRIGGER or write privilege to others.
\if :{?pgmig_owner}
\else
\set pgmig_owner ''
\endif
SET pgmig.owner = :'pgmig_owner';
DO {% filter dollar("guard") %}
DECLARE
  bookkeeping oid;
  runner text := CURRENT_USER;
  owner_named text := pg_catalog.current_setting('pgmig.owner');
  trusted oid[];
  findings text[];
BEGIN
  SELECT n.oid INTO bookkeeping FROM pg_catalog.pg_namespace AS n WHERE n.nspname = '_pgmig';
  IF bookkeeping IS NULL THEN
    RAISE EXCEPTION 'schema _pgmig does not exist: pgmig has migrated nothing in this database'
      USING HINT = 'run migrate.sql first';
  END IF;
  SELECT pg_catalog.array_agg(r.oid) INTO trusted
  FROM pg_catalog.pg_roles AS r
  WHERE r.rolname = runner OR (owner_named <> '' AND r.rolname = owner_named);
  IF owner_named <> '' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r WHERE r.rolname = owner_named) THEN
    RAISE EXCEPTION 'pgmig_owner: there is no role named "%"', owner_named;
  END IF;

  SELECT pg_catalog.array_agg(f.what ORDER BY f.what) INTO findings
  FROM (
    SELECT pg_catalog.format('schema _pgmig is owned by %s', n.nspowner::regrole) AS what
    FROM pg_catalog.pg_namespace AS n
    WHERE n.oid = bookkeeping AND n.nspowner <> ALL (trusted)
    UNION ALL
    SELECT pg_catalog.format('schema _pgmig grants %s to %s', a.privilege_type,
                             CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END)
    FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS a
    WHERE n.oid = bookkeeping AND a.privilege_type = 'CREATE' AND a.grantee <> ALL (trusted)
    UNION ALL
    SELECT pg_catalog.format('%s %s is owned by %s', k.kind, c.oid::regclass, c.relowner::regrole)
    FROM pg_catalog.pg_class AS c, LATERAL (SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence'
                                                   WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                                                   WHEN 'p' THEN 'partitioned table' WHEN 'c' THEN 'type' ELSE 'relation' END AS kind) AS k
    WHERE c.relnamespace = bookkeeping AND c.relowner <> ALL (trusted)
    UNION ALL
    SELECT pg_catalog.format('%s is a %s: pgmig makes only tables, indexes and sequences in _pgmig', c.oid::regclass,
                             CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                                            WHEN 'p' THEN 'partitioned table' WHEN 'c' THEN 'composite type' ELSE 'partitioned index' END)
    FROM pg_catalog.pg_class AS c
    WHERE c.relnamespace = bookkeeping AND c.relkind NOT IN ('r', 'i', 'S')
    UNION ALL
    SELECT pg_catalog.format('%s grants %s to %s', c.oid::regclass, a.privilege_type,
                             CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END)
    FROM pg_catalog.pg_class AS c, pg_catalog.aclexplode(c.relacl) AS a
    WHERE c.relnamespace = bookkeeping AND a.grantee <> ALL (trusted)
      AND a.privilege_type NOT IN ('SELECT', 'USAGE')
    UNION ALL
    SELECT pg_catalog.format('column %I of %s grants %s to %s', t.attname, c.oid::regclass, a.privilege_type,
                             CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END)
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_attribute AS t ON t.attrelid = c.oid
    CROSS JOIN LATERAL pg_catalog.aclexplode(t.attacl) AS a
    WHERE c.relnamespace = bookkeeping AND a.grantee <> ALL (trusted) AND a.privilege_type <> 'SELECT'
    UNION ALL
    SELECT pg_catalog.format('trigger %I on %s runs %s, owned by %s', t.tgname, t.tgrelid::regclass, t.tgfoid::regprocedure, p.proowner::regrole)
    FROM pg_catalog.pg_trigger AS t
    JOIN pg_catalog.pg_class AS c ON c.oid = t.tgrelid
    JOIN pg_catalog.pg_proc AS p ON p.oid = t.tgfoid
    WHERE c.relnamespace = bookkeeping
    UNION ALL
    SELECT pg_catalog.format('rule %I on %s', r.rulename, r.ev_class::regclass)
    FROM pg_catalog.pg_rewrite AS r
    JOIN pg_catalog.pg_class AS c ON c.oid = r.ev_class
    WHERE c.relnamespace = bookkeeping
    UNION ALL
    SELECT pg_catalog.format('row level security policy %I on %s', p.polname, p.polrelid::regclass)
    FROM pg_catalog.pg_policy AS p
    JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
    WHERE c.relnamespace = bookkeeping
    UNION ALL
    SELECT pg_catalog.format('row level security is enabled on %s', c.oid::regclass)
    FROM pg_catalog.pg_class AS c
    WHERE c.relnamespace = bookkeeping AND (c.relrowsecurity OR c.relforcerowsecurity)
    UNION ALL
    SELECT pg_catalog.format('%s %s is owned by %s', CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
                             p.oid::regprocedure, p.proowner::regrole)
    FROM pg_catalog.pg_proc AS p
    WHERE p.pronamespace = bookkeeping AND p.proowner <> ALL (trusted)
    UNION ALL
    SELECT pg_catalog.format('%s is an aggregate or window function: pgmig makes none in _pgmig', p.oid::regprocedure)
    FROM pg_catalog.pg_proc AS p
    WHERE p.pronamespace = bookkeeping AND p.prokind NOT IN ('f', 'p')
    UNION ALL
    -- A table's row type and its array are the table's; any other type is not pgmig's.
    SELECT pg_catalog.format('type %s (owned by %s): pgmig makes no types in _pgmig', y.oid::regtype, y.typowner::regrole)
    FROM pg_catalog.pg_type AS y
    LEFT JOIN pg_catalog.pg_type AS e ON e.oid = y.typelem AND y.typcategory = 'A'
    WHERE y.typnamespace = bookkeeping AND y.typrelid = 0 AND coalesce(e.typrelid, 0) = 0
    UNION ALL
    SELECT pg_catalog.format('operator %s (owned by %s): pgmig makes no operators in _pgmig', o.oid::regoperator, o.oprowner::regrole)
    FROM pg_catalog.pg_operator AS o
    WHERE o.oprnamespace = bookkeeping
    UNION ALL
    SELECT pg_catalog.format('%s %I (owned by %s): pgmig makes none in _pgmig', x.kind, x.name, x.owner::regrole)
    FROM (
      SELECT 'collation' AS kind, o.collname AS name, o.collowner AS owner FROM pg_catalog.pg_collation AS o WHERE o.collnamespace = bookkeeping
      UNION ALL SELECT 'conversion', o.conname, o.conowner FROM pg_catalog.pg_conversion AS o WHERE o.connamespace = bookkeeping
      UNION ALL SELECT 'operator class', o.opcname, o.opcowner FROM pg_catalog.pg_opclass AS o WHERE o.opcnamespace = bookkeeping
      UNION ALL SELECT 'operator family', o.opfname, o.opfowner FROM pg_catalog.pg_opfamily AS o WHERE o.opfnamespace = bookkeeping
      UNION ALL SELECT 'text search configuration', o.cfgname, o.cfgowner FROM pg_catalog.pg_ts_config AS o WHERE o.cfgnamespace = bookkeeping
      UNION ALL SELECT 'text search dictionary', o.dictname, o.dictowner FROM pg_catalog.pg_ts_dict AS o WHERE o.dictnamespace = bookkeeping
      UNION ALL SELECT 'statistics object', o.stxname, o.stxowner FROM pg_catalog.pg_statistic_ext AS o WHERE o.stxnamespace = bookkeeping
      UNION ALL SELECT 'extension', o.extname, o.extowner FROM pg_catalog.pg_extension AS o WHERE o.extnamespace = bookkeeping
    ) AS x
  ) AS f;
  IF findings IS NOT NULL THEN
    RAISE EXCEPTION 'pgmig will not use schema _pgmig: it holds what pgmig did not make or what % does not own', runner
      USING DETAIL = pg_catalog.array_to_string(findings, E'\n'),
            HINT = 'what another role owns or attached can run its code with your rights. Check what is there; if it is '
                   'pgmig''s bookkeeping, owned by a role you trust, name that role with psql -v pgmig_owner=ROLE (or '
                   'ALTER ... OWNER TO ' || pg_catalog.quote_ident(runner) || ' and drop what was attached); otherwise '
                   'DROP SCHEMA _pgmig CASCADE (the log, id maps and rejects of every model go with it)';
  END IF;
END
{% endfilter %};

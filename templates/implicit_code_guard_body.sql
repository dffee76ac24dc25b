  runner text := CURRENT_USER;
  owner_named text := coalesce(pg_catalog.current_setting('pgmig.owner', true), '');
  runner_bypasses_rls boolean;
  runner_is_superuser boolean;
  -- What the writes reach and the reads read, each relation locked before it is checked.
  written_rels oid[] := '{}';
  read_rels oid[] := '{}';
  newly_locked integer;
  to_lock record;
  findings text[];
  call_findings text[];
  jit_before text := pg_catalog.current_setting('jit');
  work_mem_before text := pg_catalog.current_setting('work_mem');
  plan_cache_mode_before text := pg_catalog.current_setting('plan_cache_mode');
  lock_timeout_before text := pg_catalog.current_setting('lock_timeout');
  -- Under REPEATABLE READ (verify, export) the transaction's snapshot was taken by its first
  -- query, before this: what commits while a lock below is waited for stays invisible to the
  -- checks, though the reads after them see it (V1's owner held a table, renamed it while
  -- verify waited and put a view calling its function in its place). There no lock is waited
  -- for: one that is not free at once stops the script, to be run again.
  snapshot_taken boolean := pg_catalog.current_setting('transaction_isolation') <> 'read committed';
BEGIN
  SELECT r.rolsuper OR r.rolbypassrls, r.rolsuper INTO runner_bypasses_rls, runner_is_superuser
  FROM pg_catalog.pg_roles AS r WHERE r.rolname = runner;
  -- The catalogs' row estimates put these queries' cost past jit_above_cost: compiling them took
  -- 16 s, running it milliseconds (workout at scale 10). Off for them alone, then as it was.
  -- The same estimates (millions of rows where there are hundreds) size their hash tables by
  -- work_mem: under the scripts' 256MB one call took 0.8 s, under the default 4MB 0.05 s,
  -- and batched mode calls it at every batch. For the same reason their plans are made once per
  -- session (generic), not again at every call for the same arrays.
  PERFORM pg_catalog.set_config('jit', 'off', true);
  PERFORM pg_catalog.set_config('work_mem', '4MB', true);
  PERFORM pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true);
  -- Lock first, then look: what is checked below cannot change until this transaction ends.
  -- The schemas this script names objects in (the model's calls' too): a FOR SHARE lock on
  -- their pg_namespace rows makes ALTER SCHEMA ... RENAME and DROP SCHEMA wait (GRANT on the
  -- schema and ALTER SCHEMA ... OWNER too), so that no schema of the same name, with other
  -- objects in it, takes their place and their names. (FOR KEY SHARE would let GRANT through, but pgmig lint's parser
  -- does not read it, and every statement must have known locks.) Row locks on a catalog take
  -- UPDATE on it, which only a superuser has, and a transaction that may write (verify and
  -- export read only): others go without (see README).
  IF runner_is_superuser AND pg_catalog.current_setting('transaction_read_only') = 'off' THEN
    PERFORM 1
    FROM pg_catalog.pg_namespace AS s
    WHERE s.nspname IN (SELECT i.parts[pg_catalog.cardinality(i.parts) - 1]
                        FROM pg_catalog.unnest(written_names || read_names || cast_type_names || called_function_names) AS n (name)
                        CROSS JOIN LATERAL pg_catalog.parse_ident(n.name, false) AS i (parts)
                        WHERE pg_catalog.cardinality(i.parts) > 1
                        UNION ALL
                        SELECT '_pgmig')
    ORDER BY s.oid
    FOR SHARE OF s;
  END IF;
  -- Then the relations: the tables written and what the writes reach (partitions,
  -- inheritance children, tables an ON DELETE/UPDATE action reaches, what rules write) in ROW
  -- EXCLUSIVE mode, which the writes take anyway: no trigger, rule, policy, default,
  -- constraint or index can be added to them until this transaction ends. The V1 relations
  -- read, and the relations the views among them read, in ACCESS SHARE mode, which only
  -- ACCESS EXCLUSIVE waits for (and the reads take anyway): no view is replaced and no table
  -- renamed to make room for one. LOCK refuses materialized views and foreign tables (which
  -- run no code when read): a query naming one takes ACCESS SHARE on it, so it is not dropped
  -- or renamed to make room for a view either (for a foreign partition a write reaches, that
  -- is less than ROW EXCLUSIVE). Locking one can change what the others reach (a view
  -- replaced while this waited for it), so the closures are computed again until a pass
  -- finds nothing new to lock.
  IF snapshot_taken THEN
    PERFORM pg_catalog.set_config('lock_timeout', '1ms', true);
  END IF;
  LOOP
    newly_locked := 0;
    FOR to_lock IN
      WITH RECURSIVE
      -- The relations the names mean now.
      named (rel, writes) AS (
        SELECT pg_catalog.to_regclass(n.name)::oid, n.writes
        FROM (SELECT w.name, true FROM pg_catalog.unnest(written_names) AS w (name)
              UNION ALL
              SELECT v.name, false FROM pg_catalog.unnest(read_names) AS v (name)) AS n (name, writes)
        WHERE pg_catalog.to_regclass(n.name) IS NOT NULL
      ),
      written (rel) AS (
        SELECT m.rel FROM named AS m WHERE m.writes
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
        SELECT m.rel FROM named AS m WHERE NOT m.writes
        UNION
        SELECT d.refobjid
        FROM read AS v
        JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = v.rel AND r.ev_type = '1'
        JOIN pg_catalog.pg_depend AS d
          ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
         AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
      )
      SELECT c.oid, s.writes, c.relkind
      FROM (SELECT w.rel, true FROM written AS w
            UNION ALL
            SELECT v.rel, false FROM read AS v WHERE v.rel NOT IN (SELECT w.rel FROM written AS w)) AS s (rel, writes)
      JOIN pg_catalog.pg_class AS c ON c.oid = s.rel
      WHERE NOT c.oid = ANY (CASE WHEN s.writes THEN written_rels ELSE written_rels || read_rels END)
      ORDER BY s.writes DESC, c.oid
    LOOP
      -- LOCK and FROM take no parameter; the name is regclass's output, quoted by PostgreSQL.
      -- A partitioned table written to routes rows to its partitions, and ATTACH PARTITION
      -- takes only SHARE UPDATE EXCLUSIVE on it: ROW EXCLUSIVE would let its owner attach a
      -- partition (with triggers this check never saw) for the next INSERT to route into.
      BEGIN
        IF to_lock.relkind IN ('r', 'p', 'v') THEN
          EXECUTE pg_catalog.format('LOCK TABLE %s IN %s MODE', to_lock.oid::regclass,
                                    CASE WHEN to_lock.writes AND to_lock.relkind = 'p' THEN 'SHARE UPDATE EXCLUSIVE'
                                         WHEN to_lock.writes THEN 'ROW EXCLUSIVE'
                                         ELSE 'ACCESS SHARE' END);
        ELSIF to_lock.relkind IN ('m', 'f') THEN
          -- A condition that is false plans no scan: a foreign table's server is not contacted.
          EXECUTE pg_catalog.format('SELECT FROM %s WHERE false', to_lock.oid::regclass);
        END IF;
      EXCEPTION WHEN lock_not_available THEN
        IF NOT snapshot_taken THEN
          RAISE;
        END IF;
        RAISE EXCEPTION 'pgmig will not read %: another session holds or waits for a lock on it, and this script reads one snapshot taken before that lock could be had', to_lock.oid::regclass
          USING HINT = 'what that session changes would not be checked before it is read: run the script again when it is done';
      END;
      IF to_lock.writes THEN
        written_rels := written_rels || to_lock.oid;
      ELSE
        read_rels := read_rels || to_lock.oid;
      END IF;
      newly_locked := newly_locked + 1;
    END LOOP;
    EXIT WHEN newly_locked = 0;
  END LOOP;
  PERFORM pg_catalog.set_config('lock_timeout', lock_timeout_before, true);

  WITH RECURSIVE
  written (rel) AS (
    SELECT w.rel FROM pg_catalog.unnest(written_rels) AS w (rel)
  ),
  read (rel) AS (
    SELECT v.rel FROM pg_catalog.unnest(read_rels) AS v (rel)
  ),
  -- What runs on its own when the relations are written or read: (relation, what it is,
  -- catalog and oid of the object whose dependencies name the functions, operators and types
  -- it uses, and the function itself when the catalog names it directly).
  object (rel, kind, classid, objid, fn) AS (
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
    -- A partition key's expressions are dependencies of the table itself.
    SELECT p.partrelid, 'partition key', 'pg_catalog.pg_class'::regclass, p.partrelid, 0::oid
    FROM written AS w
    JOIN pg_catalog.pg_partitioned_table AS p ON p.partrelid = w.rel
  ),
  -- The types the script's values take: the columns' of the written and read relations, those
  -- the model's expressions cast to, and those the objects above cast to (a CHECK, a DEFAULT,
  -- a view turning a value into a domain runs the domain's CHECKs: fifth review); through
  -- domains to their base types and the types their CHECKs and DEFAULTs cast to, arrays to
  -- their elements, composite types to their attributes' and ranges to their subtypes.
  -- (`use` says how: a written column's domain runs its DEFAULT. A domain's CHECKs run
  -- wherever a value becomes the domain: a written column, a cast, a value a foreign table
  -- fetches (postgres_fdw converts it with the local type of the column's name); so they are
  -- checked for every use. `via` says where the type was met, for the messages.)
  column_type (rel, via, typ, use) AS (
    SELECT a.attrelid, pg_catalog.format('column %I', a.attname), a.atttypid, s.use
    FROM (SELECT w.rel, 'written' FROM written AS w UNION ALL SELECT v.rel, 'read' FROM read AS v) AS s (rel, use)
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = s.rel AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT NULL::oid, 'the model casts to it', pg_catalog.to_regtype(n.name)::oid, 'cast'
    FROM pg_catalog.unnest(cast_type_names) AS n (name)
    WHERE pg_catalog.to_regtype(n.name) IS NOT NULL
    UNION ALL
    -- A name the model calls may be a type's: PostgreSQL reads `public.email_t(x)`, when no
    -- function of that name takes x, as a cast to the type public.email_t (a function-style
    -- cast, which compile cannot tell from a call). So every type of a called name, in the
    -- schema the call names (pg_catalog when unqualified: search_path, and such a cast never
    -- looks in pg_temp), is one the model casts to.
    SELECT NULL::oid, 'the model casts to it', y.oid, 'cast'
    FROM pg_catalog.unnest(called_function_names) AS n (name)
    CROSS JOIN LATERAL pg_catalog.parse_ident(n.name) AS i (parts)
    JOIN pg_catalog.pg_namespace AS s
      ON s.nspname = CASE WHEN pg_catalog.cardinality(i.parts) = 1 THEN 'pg_catalog' ELSE i.parts[pg_catalog.cardinality(i.parts) - 1] END
    JOIN pg_catalog.pg_type AS y ON y.typnamespace = s.oid AND y.typname = i.parts[pg_catalog.cardinality(i.parts)]
    UNION ALL
    SELECT o.rel, pg_catalog.format('%s uses it', o.kind), d.refobjid, 'cast'
    FROM object AS o
    JOIN pg_catalog.pg_depend AS d
      ON d.classid = o.classid AND d.objid = o.objid AND d.refclassid = 'pg_catalog.pg_type'::regclass
    UNION
    SELECT ct.rel, part.via, part.typ, part.use
    FROM column_type AS ct
    JOIN pg_catalog.pg_type AS y ON y.oid = ct.typ
    CROSS JOIN LATERAL (
      SELECT y.typbasetype, ct.via, ct.use WHERE y.typtype = 'd'
      UNION ALL
      SELECT y.typelem, ct.via, ct.use WHERE y.typelem <> 0
      UNION ALL
      SELECT a.atttypid, ct.via, ct.use
      FROM pg_catalog.pg_attribute AS a
      WHERE y.typtype = 'c' AND a.attrelid = y.typrelid AND a.attnum > 0 AND NOT a.attisdropped
      UNION ALL
      SELECT r.rngsubtype, ct.via, ct.use FROM pg_catalog.pg_range AS r WHERE r.rngtypid = y.oid
      UNION ALL
      SELECT r.rngtypid, ct.via, ct.use FROM pg_catalog.pg_range AS r WHERE r.rngmultitypid = y.oid
      UNION ALL
      SELECT d.refobjid, pg_catalog.format('constraint %I of domain %s uses it', k.conname, y.oid::regtype), 'cast'
      FROM pg_catalog.pg_constraint AS k
      JOIN pg_catalog.pg_depend AS d
        ON d.classid = 'pg_catalog.pg_constraint'::regclass AND d.objid = k.oid AND d.refclassid = 'pg_catalog.pg_type'::regclass
      WHERE k.contypid = y.oid
      UNION ALL
      SELECT d.refobjid, pg_catalog.format('DEFAULT of domain %s uses it', y.oid::regtype), 'cast'
      FROM pg_catalog.pg_depend AS d
      WHERE y.typtype = 'd' AND d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = y.oid
        AND d.refclassid = 'pg_catalog.pg_type'::regclass AND d.refobjid <> y.typbasetype
    ) AS part (typ, via, use)
  ),
  -- Each type once, with where it was met (a relation; none for the model's casts).
  used_type (rel, typ) AS (
    SELECT DISTINCT ct.rel, ct.typ FROM column_type AS ct
  ),
  -- What runs: the objects above, and what the types bring.
  attached (rel, kind, classid, objid, fn) AS (
    SELECT o.rel, o.kind, o.classid, o.objid, o.fn FROM object AS o
    UNION ALL
    SELECT ct.rel, pg_catalog.format('DEFAULT of domain %s (%s)', y.oid::regtype, ct.via),
           'pg_catalog.pg_type'::regclass, y.oid, 0::oid
    FROM column_type AS ct
    JOIN pg_catalog.pg_type AS y ON y.oid = ct.typ AND y.typtype = 'd'
    WHERE ct.use = 'written'
    UNION ALL
    SELECT ct.rel, pg_catalog.format('constraint %I of domain %s (%s)', k.conname, k.contypid::regtype, ct.via),
           'pg_catalog.pg_constraint'::regclass, k.oid, 0::oid
    FROM column_type AS ct
    JOIN pg_catalog.pg_constraint AS k ON k.contypid = ct.typ
    UNION ALL
    -- Casts are found in pg_cast by type, whatever the search_path: one from or to a type the
    -- script's values take may run (an assignment to a column, a comparison, the model's `::`).
    SELECT t.rel, pg_catalog.format('cast from %s to %s', k.castsource::regtype, k.casttarget::regtype),
           'pg_catalog.pg_cast'::regclass, k.oid, k.castfunc
    FROM used_type AS t
    JOIN pg_catalog.pg_cast AS k ON k.castsource = t.typ AND k.castmethod = 'f'
    UNION ALL
    SELECT t.rel, pg_catalog.format('cast from %s to %s', k.castsource::regtype, k.casttarget::regtype),
           'pg_catalog.pg_cast'::regclass, k.oid, k.castfunc
    FROM used_type AS t
    JOIN pg_catalog.pg_cast AS k ON k.casttarget = t.typ AND k.castmethod = 'f'
    UNION ALL
    -- A type's own functions (input, output, a range's canonical and subtype_diff ...), which
    -- its pg_depend entries name; a domain's are PostgreSQL's.
    SELECT t.rel, pg_catalog.format('type %s', y.oid::regtype), 'pg_catalog.pg_type'::regclass, y.oid, 0::oid
    FROM used_type AS t
    JOIN pg_catalog.pg_type AS y ON y.oid = t.typ AND y.typtype <> 'd'
    UNION ALL
    SELECT t.rel, pg_catalog.format('transform for type %s', x.trftype::regtype),
           'pg_catalog.pg_transform'::regclass, x.oid, 0::oid
    FROM used_type AS t
    JOIN pg_catalog.pg_transform AS x ON x.trftype = t.typ
    UNION ALL
    -- The support functions of the operator classes its indexes and its partition key use:
    -- a B-tree's comparison, a hash function, a GiST's penalty run on every INSERT.
    SELECT i.indrelid, pg_catalog.format('index %I (operator class %s)', x.relname, oc.opcname),
           'pg_catalog.pg_amproc'::regclass, ap.oid, ap.amproc
    FROM written AS w
    JOIN pg_catalog.pg_index AS i ON i.indrelid = w.rel
    JOIN pg_catalog.pg_class AS x ON x.oid = i.indexrelid
    CROSS JOIN LATERAL pg_catalog.unnest(i.indclass::oid[]) AS ic (opclass)
    JOIN pg_catalog.pg_opclass AS oc ON oc.oid = ic.opclass
    JOIN pg_catalog.pg_amproc AS ap ON ap.amprocfamily = oc.opcfamily
    UNION ALL
    SELECT p.partrelid, pg_catalog.format('partition key (operator class %s)', oc.opcname),
           'pg_catalog.pg_amproc'::regclass, ap.oid, ap.amproc
    FROM written AS w
    JOIN pg_catalog.pg_partitioned_table AS p ON p.partrelid = w.rel
    CROSS JOIN LATERAL pg_catalog.unnest(p.partclass::oid[]) AS pc (opclass)
    JOIN pg_catalog.pg_opclass AS oc ON oc.oid = pc.opclass
    JOIN pg_catalog.pg_amproc AS ap ON ap.amprocfamily = oc.opcfamily
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
    SELECT DISTINCT pg_catalog.format('%s: %s runs %s%s, owned by %s', coalesce(c.rel::regclass::text, 'the model''s casts'), c.kind, p.oid::regprocedure,
                                      CASE WHEN p.prosecdef THEN ' (SECURITY DEFINER)' ELSE '' END, p.proowner::regrole) AS what
    FROM called AS c
    JOIN pg_catalog.pg_proc AS p ON p.oid = c.fn
    JOIN pg_catalog.pg_roles AS o ON o.oid = p.proowner
    WHERE NOT o.rolsuper AND o.rolname <> runner AND o.rolname <> owner_named
    UNION
    -- Types are the owner's objects that no lock of this check holds still. ALTER DOMAIN …
    -- ADD CONSTRAINT … NOT VALID takes no lock on the tables that use the domain (tested: it
    -- went through while the written table was held), and its CHECK then runs on every value
    -- that becomes the domain: the domains of written columns and of the model's casts. And
    -- CREATE CAST takes none either, and a type's owner may make a cast from or to it, which
    -- the scripts' conversions (`::text` of a value, the model's `::`) then call: an enum,
    -- range or composite type of any column read or written, or cast to (fourth review). A
    -- table's own row type is its owner's too, so the scripts never cast a row to text (they
    -- call record_out).
    SELECT pg_catalog.format(CASE WHEN y.typtype = 'd'
                                  THEN '%s: domain %s (%s) belongs to %s, who may give it a CHECK that calls its own code while this script runs (ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID waits for no lock)'
                                  ELSE '%s: type %s (%s) belongs to %s, who may make a cast from or to it that calls its own code while this script runs (CREATE CAST waits for no lock)' END,
                             coalesce(ct.rel::regclass::text, 'the model''s casts'), y.oid::regtype,
                             ct.via,
                             y.typowner::regrole)
    FROM column_type AS ct
    JOIN pg_catalog.pg_type AS y ON y.oid = ct.typ
    JOIN pg_catalog.pg_roles AS o ON o.oid = y.typowner
    WHERE ((y.typtype = 'd' AND ct.use IN ('written', 'cast')) OR y.typtype IN ('e', 'r', 'm', 'c'))
      AND NOT o.rolsuper AND o.rolname <> runner AND o.rolname <> owner_named
  ) AS f;
  PERFORM pg_catalog.set_config('jit', jit_before, true);
  PERFORM pg_catalog.set_config('work_mem', work_mem_before, true);
  PERFORM pg_catalog.set_config('plan_cache_mode', plan_cache_mode_before, true);
  IF findings IS NOT NULL THEN
    RAISE EXCEPTION 'pgmig will not run: the tables it writes or reads would run functions that another role owns, with the rights of %', runner
      USING DETAIL = pg_catalog.array_to_string(findings, E'\n'),
            HINT = 'that role can change what they do at any moment. Have a superuser review each function and take it '
                   '(ALTER FUNCTION ... OWNER TO a superuser; ALTER DOMAIN or ALTER TYPE ... OWNER TO for a type), or run the scripts as that role (least privilege: it needs '
                   'CREATE on this database and SELECT on V1), or name it with psql -v pgmig_owner=ROLE if you trust it';
  END IF;

  -- The functions the model's expressions call (src/check/calls.rs collects their names as the
  -- scripts print them). An unqualified name is pg_catalog's: search_path is pg_catalog,
  -- pg_temp, and PostgreSQL never looks functions up in pg_temp. Every overload of the name
  -- in its schema is checked, since the arguments' types pick among them. Each must be owned
  -- by a trusted role (the rule above); a built-in must be one PUBLIC may execute (those
  -- revoked from PUBLIC read files or administer the server); and none may be volatile, which
  -- is how PostgreSQL marks a function that acts beyond computing a value, but for the few
  -- that only draw a new value (random, uuids, sequences, salts, the clock). In another
  -- schema, no untrusted role may own it or CREATE in it: an overload that matches the
  -- arguments better, created there after this check, would be called instead. And the
  -- schema and the name must exist now (a function, or a type for a function-style cast):
  -- a schema made after this check (the database's owner may) was not checked, nor locked
  -- with the others above. pg_catalog's names need not exist (coalesce and nullif are
  -- syntax, and only a superuser creates there), nor _pgmig's: the script makes _pgmig and
  -- its library after this check, and checks first that _pgmig is its own.
  WITH
  trusted (role) AS (
    SELECT r.oid FROM pg_catalog.pg_roles AS r
    WHERE r.rolsuper OR r.rolname = runner OR r.rolname = owner_named
    UNION ALL
    -- pg_database_owner (public's owner since PostgreSQL 15) acts as this database's owner.
    SELECT dbo.oid
    FROM pg_catalog.pg_roles AS dbo
    JOIN pg_catalog.pg_database AS d ON d.datname = pg_catalog.current_database()
    JOIN pg_catalog.pg_roles AS dba ON dba.oid = d.datdba
    WHERE dbo.rolname = 'pg_database_owner'
      AND (dba.rolsuper OR dba.rolname = runner OR dba.rolname = owner_named)
  ),
  named (called, schema_name, function_name) AS (
    SELECT n.name,
           CASE WHEN pg_catalog.cardinality(i.parts) = 1 THEN 'pg_catalog' ELSE i.parts[pg_catalog.cardinality(i.parts) - 1] END,
           i.parts[pg_catalog.cardinality(i.parts)]
    FROM pg_catalog.unnest(called_function_names) AS n (name)
    CROSS JOIN LATERAL pg_catalog.parse_ident(n.name) AS i (parts)
  ),
  candidate (called, fn, why) AS (
    SELECT c.called, p.oid, w.why
    FROM named AS c
    JOIN pg_catalog.pg_namespace AS s ON s.nspname = c.schema_name
    JOIN pg_catalog.pg_proc AS p ON p.pronamespace = s.oid AND p.proname = c.function_name
    CROSS JOIN LATERAL (
      SELECT pg_catalog.format('owned by %s, another role', p.proowner::regrole)
      WHERE p.proowner NOT IN (SELECT t.role FROM trusted AS t)
      UNION ALL
      SELECT 'a built-in PUBLIC may not execute (it reads files or administers the server)'
      WHERE s.nspname = 'pg_catalog' AND NOT pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
      UNION ALL
      SELECT 'volatile: it may act beyond computing a value'
      WHERE p.provolatile = 'v'
        AND p.proname NOT IN ('random', 'gen_random_uuid', 'clock_timestamp', 'timeofday', 'nextval', 'currval',
                              'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4',
                              'gen_random_bytes', 'gen_salt', 'new_password_hash')
    ) AS w (why)
  ),
  replaceable (called, why) AS (
    SELECT c.called, pg_catalog.format('schema %I is owned by %s, another role', s.nspname, s.nspowner::regrole)
    FROM named AS c
    JOIN pg_catalog.pg_namespace AS s ON s.nspname = c.schema_name
    WHERE s.nspname <> 'pg_catalog' AND s.nspowner NOT IN (SELECT t.role FROM trusted AS t)
    UNION ALL
    SELECT c.called, pg_catalog.format('%s may create functions in schema %I',
                                       CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, s.nspname)
    FROM named AS c
    JOIN pg_catalog.pg_namespace AS s ON s.nspname = c.schema_name
    CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(s.nspacl, pg_catalog.acldefault('n', s.nspowner))) AS a
    WHERE s.nspname <> 'pg_catalog' AND a.privilege_type = 'CREATE' AND a.grantee <> s.nspowner
      AND a.grantee NOT IN (SELECT t.role FROM trusted AS t)
  ),
  absent (called, why) AS (
    SELECT c.called, pg_catalog.format('schema %I does not exist', c.schema_name)
    FROM named AS c
    WHERE c.schema_name <> '_pgmig'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace AS s WHERE s.nspname = c.schema_name)
    UNION ALL
    SELECT c.called, pg_catalog.format('schema %I has no function or type named %I', s.nspname, c.function_name)
    FROM named AS c
    JOIN pg_catalog.pg_namespace AS s ON s.nspname = c.schema_name
    WHERE s.nspname NOT IN ('pg_catalog', '_pgmig')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = s.oid AND p.proname = c.function_name)
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_type AS y WHERE y.typnamespace = s.oid AND y.typname = c.function_name)
  )
  SELECT pg_catalog.array_agg(f.what ORDER BY f.what) INTO call_findings
  FROM (
    SELECT pg_catalog.format('the model calls %s: %s is %s', c.called, c.fn::regprocedure, c.why)
    FROM candidate AS c
    UNION
    SELECT pg_catalog.format('the model calls %s: %s', r.called, r.why)
    FROM replaceable AS r
    UNION
    SELECT pg_catalog.format('the model calls %s: %s', a.called, a.why)
    FROM absent AS a
    UNION
    -- A type the model casts to must exist now, as a called name must: one made after this
    -- check (with a cast from text that calls its owner's code) was not checked.
    SELECT pg_catalog.format('the model casts to %s: there is no such type', n.name)
    FROM pg_catalog.unnest(cast_type_names) AS n (name)
    WHERE pg_catalog.to_regtype(n.name) IS NULL
  ) AS f (what);
  IF call_findings IS NOT NULL THEN
    RAISE EXCEPTION 'pgmig will not run: the model calls functions or casts to types that are not safe to run with the rights of %', runner
      USING DETAIL = pg_catalog.array_to_string(call_findings, E'\n'),
            HINT = 'a function another role owns, or can replace by a better-matching overload, is that role''s code: have a superuser '
                   'review it and take it (ALTER FUNCTION ... OWNER TO a superuser; REVOKE CREATE ON SCHEMA from other roles), or name the '
                   'role with psql -v pgmig_owner=ROLE if you trust it. A privileged or volatile built-in acts beyond computing a value: '
                   'compute the value in V1 instead (a view or a column)';
  END IF;
END
{#- The declarations after `written_names text[]` and `read_names text[]`, and the check:
    the body of the DO block in implicit_code_guard.sql and of the function in
    implicit_code_guard_function.sql. #}

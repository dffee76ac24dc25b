-- What {{ needs.script|comment }} needs of the role running it, from the compiled model (PLAN.md lists
-- the grants): one error names every grant missing, before anything is written.
DO {% filter dollar("privileges") %}
DECLARE
  missing text;
BEGIN
  WITH needed (kind, schema_name, object_name, privileges) AS (
    VALUES {% for o in needs.needed %}{% if !loop.first %},
           {% endif %}({{ o.kind|lit }}, {{ o.schema|lit_or_null }}, {{ o.name|lit }}, {{ o.privileges|lit }}){% endfor %}
  ), found AS (
    SELECT o.kind, o.schema_name, o.object_name, p.privilege, p.n,
           CASE o.kind
             WHEN 'schema' THEN (SELECT s.oid FROM pg_catalog.pg_namespace AS s WHERE s.nspname = o.object_name)
             ELSE (SELECT c.oid FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS s ON s.oid = c.relnamespace
                   WHERE s.nspname = o.schema_name AND c.relname = o.object_name)
           END AS object_id
    FROM needed AS o
    CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.string_to_array(o.privileges, ', ')) WITH ORDINALITY AS p (privilege, n)
  ), lacking AS (
    -- An object that does not exist is left to the statement that uses it.
    SELECT f.kind, f.privilege, f.n,
           CASE f.kind WHEN 'schema' THEN pg_catalog.format('%I', f.object_name)
                       ELSE pg_catalog.format('%I.%I', f.schema_name, f.object_name) END AS object
    FROM found AS f
    WHERE f.object_id IS NOT NULL
      AND NOT CASE f.kind WHEN 'schema' THEN pg_catalog.has_schema_privilege(f.object_id, f.privilege)
                          WHEN 'sequence' THEN pg_catalog.has_sequence_privilege(f.object_id, f.privilege)
                          ELSE pg_catalog.has_table_privilege(f.object_id, f.privilege) END
  ), grants (rank, object, statement) AS (
{%- if needs.creates %}
    {#- With V1 on another server, the staging schema of its foreign tables is made afresh on
        every run. #}
    SELECT 1, '', pg_catalog.format('GRANT CREATE ON DATABASE %I TO %I;', pg_catalog.current_database(), CURRENT_USER)
    WHERE NOT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')
      AND ({% if needs.fdw %}true{% else %}pg_catalog.to_regnamespace('_pgmig') IS NULL{% if needs.installs_pgcrypto %} OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension AS e WHERE e.extname = 'pgcrypto'){% endif %}{% endif %})
    UNION ALL
{%- endif %}
{%- if needs.temp %}
    SELECT 1, '', pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO %I;', pg_catalog.current_database(), CURRENT_USER)
    WHERE NOT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY')
    UNION ALL
{%- endif %}
    -- _pgmig is pgmig's bookkeeping: the role that made it runs the scripts.
    SELECT 0, '', pg_catalog.format('-- run this script as %s instead: that role owns schema _pgmig (pgmig''s bookkeeping), which no GRANT replaces',
                                    n.nspowner::pg_catalog.regrole::text)
    FROM pg_catalog.pg_namespace AS n
    WHERE n.nspname = '_pgmig' AND NOT pg_catalog.pg_has_role(n.nspowner, 'USAGE')
    UNION ALL
{%- if !needs.owned.is_empty() %}
    -- CREATE INDEX needs the table's owner, which no GRANT replaces.
    SELECT 0, pg_catalog.format('%I.%I', o.schema_name, o.object_name),
           pg_catalog.format('-- run this script as %s (or a member of it): it builds a temporary index on %I.%I, which only the owner can',
                             c.relowner::pg_catalog.regrole::text, o.schema_name, o.object_name)
    FROM (VALUES {% for t in needs.owned %}{% if !loop.first %},
           {% endif %}({{ t.schema|lit }}, {{ t.name|lit }}){% endfor %}) AS o (schema_name, object_name)
    JOIN pg_catalog.pg_namespace AS s ON s.nspname = o.schema_name
    JOIN pg_catalog.pg_class AS c ON c.relnamespace = s.oid AND c.relname = o.object_name
    WHERE NOT pg_catalog.pg_has_role(c.relowner, 'USAGE')
    UNION ALL
{%- endif %}
{%- if needs.fdw %}
    SELECT 2, '', 'CREATE EXTENSION postgres_fdw;  -- by a superuser: it is not a trusted extension'
    FROM pg_catalog.pg_roles AS r
    WHERE r.rolname = CURRENT_USER AND NOT r.rolsuper
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension AS e WHERE e.extname = 'postgres_fdw')
    UNION ALL
    SELECT 3, '', pg_catalog.format('GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO %I;', CURRENT_USER)
    FROM pg_catalog.pg_roles AS r
    WHERE r.rolname = CURRENT_USER AND NOT r.rolsuper
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_data_wrapper AS w
                      WHERE w.fdwname = 'postgres_fdw' AND pg_catalog.has_foreign_data_wrapper_privilege(w.oid, 'USAGE'))
    UNION ALL
{%- endif %}
    SELECT CASE l.kind WHEN 'schema' THEN 4 ELSE 5 END, l.object,
           pg_catalog.format('GRANT %s ON %s %s TO %I;', pg_catalog.string_agg(l.privilege, ', ' ORDER BY l.n),
                             pg_catalog.upper(l.kind), l.object, CURRENT_USER)
    FROM lacking AS l
    GROUP BY l.kind, l.object
  )
  SELECT pg_catalog.string_agg('  ' || g.statement, E'\n' ORDER BY g.rank, g.object, g.statement) INTO missing
  FROM grants AS g;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION '{{ needs.script }}: role % lacks privileges it needs; nothing was changed. As a superuser or the owner of the objects, run:%',
      CURRENT_USER, E'\n' || missing
      USING HINT = 'PLAN.md lists every privilege the scripts need';
  END IF;
END
{% endfilter %};

{#- Column privileges across a swap (migrate's, and rollback's reverse one): `GRANT … (column)`
    lives on the column (pg_attribute.attacl), so DROP COLUMN takes it along, and pg_depend
    does not list it. Recorded in _pgmig.column_grants (templates/inplace/column_grants_table.sql)
    before the columns are dropped, granted again on the columns that take their names, then
    checked. `changed` lists the (table, column) pairs the swap drops; `script` names the
    recording script. -#}
{%- import "inplace/query.sql" as q -%}

{%- macro variables() -%}
pgmig_role text;
  pgmig_grant record;
  pgmig_granted integer;
  pgmig_missing text;
{%- endmacro -%}

{%- macro record(indent, model, script, changed) -%}
{{ indent }}-- Column privileges (GRANT … (column) ON …) live on the column, in pg_attribute.attacl:
{{ indent }}-- DROP COLUMN takes them along. Those of the columns dropped below are recorded here and
{{ indent }}-- granted again, after the renames, on the columns that take their names.
{{ indent }}INSERT INTO _pgmig.column_grants (model, script, table_name, column_name, grantor, grantee, privilege_type, is_grantable)
{{ indent }}SELECT {{ model|lit }}, {{ script|lit }}, changed.tbl, changed.col, g.grantor, g.grantee, g.privilege_type, g.is_grantable
{{ indent }}FROM (VALUES {% call q::changed_values(changed) %}{% endcall %}) AS changed(tbl, col)
{{ indent }}JOIN pg_catalog.pg_attribute AS a ON a.attrelid = changed.tbl::pg_catalog.regclass AND a.attname = changed.col
{{ indent }}CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) AS g;
{%- endmacro -%}

{%- macro grant_again(indent, model, script) -%}
{{ indent }}-- The recorded column privileges granted again, each by its grantor: PostgreSQL 15 makes
{{ indent }}-- the role running GRANT the grantor (GRANTED BY may name no other), so each GRANT runs
{{ indent }}-- as its grantor (set_config('role'): the name is a value, never SQL text) and the role
{{ indent }}-- goes back after it. A grantor holding its grant option through another recorded grant
{{ indent }}-- waits for that one: each pass grants those whose grantor owns the table or holds the
{{ indent }}-- option itself (on the table, or on the column by now), until a pass grants nothing.
{{ indent }}-- Dynamic SQL: the privileges are the catalog's, known at run time only; names go
{{ indent }}-- through %I, and the privilege is one of the four words _pgmig.column_grants allows.
{{ indent }}pgmig_role := pg_catalog.current_setting('role');
{{ indent }}FOR pgmig_pass IN 1..(SELECT count(*) FROM _pgmig.column_grants WHERE model = {{ model|lit }} AND script = {{ script|lit }}) LOOP
{{ indent }}  pgmig_granted := 0;
{{ indent }}  FOR pgmig_grant IN
{{ indent }}    SELECT gr.rolname AS grantor,
{{ indent }}           pg_catalog.format('GRANT %s (%I) ON TABLE %I.%I TO %s%s', r.privilege_type, r.column_name, n.nspname, c.relname,
{{ indent }}                             CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.format('%I', ge.rolname) END,
{{ indent }}                             CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS statement
{{ indent }}    {% call q::column_grants_from(indent ~ "    ") %}{% endcall %}
{{ indent }}    JOIN pg_catalog.pg_roles AS gr ON gr.oid = r.grantor
{{ indent }}    LEFT JOIN pg_catalog.pg_roles AS ge ON ge.oid = r.grantee
{{ indent }}    WHERE {% call q::column_grants_not_held(indent ~ "    ", model, script) %}{% endcall %}
{{ indent }}      AND (r.grantor = c.relowner
{{ indent }}           OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) AS o
{{ indent }}                      WHERE o.grantee = r.grantor AND o.privilege_type = r.privilege_type AND o.is_grantable)
{{ indent }}           OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(a.attacl) AS o
{{ indent }}                      WHERE o.grantee = r.grantor AND o.privilege_type = r.privilege_type AND o.is_grantable))
{{ indent }}    ORDER BY r.table_name, r.column_name, r.privilege_type, r.grantor, r.grantee
{{ indent }}  LOOP
{{ indent }}    PERFORM pg_catalog.set_config('role', pgmig_grant.grantor, true);
{{ indent }}    EXECUTE pgmig_grant.statement;
{{ indent }}    PERFORM pg_catalog.set_config('role', pgmig_role, true);
{{ indent }}    pgmig_granted := pgmig_granted + 1;
{{ indent }}  END LOOP;
{{ indent }}  EXIT WHEN pgmig_granted = 0;
{{ indent }}END LOOP;
{{ indent }}-- One not granted (its grantor has lost its grant option) stops the swap: nothing of it
{{ indent }}-- stays, rather than a column a role can no longer read.
{{ indent }}SELECT pg_catalog.string_agg({% call q::column_grant_text(indent ~ "  ", "c.relname", "r.column_name", "r") %}{% endcall %},
{{ indent }}                              '; ' ORDER BY r.table_name, r.column_name, r.privilege_type, r.grantee)
{{ indent }}INTO pgmig_missing
{{ indent }}{% call q::column_grants_from(indent) %}{% endcall %}
{{ indent }}WHERE {% call q::column_grants_not_held(indent, model, script) %}{% endcall %};
{{ indent }}IF pgmig_missing IS NOT NULL THEN
{{ indent }}  RAISE EXCEPTION 'column privileges not granted again: %', pgmig_missing
{{ indent }}    USING HINT = 'a grantor grants again only what it still has the grant option of (on the table or the column)';
{{ indent }}END IF;
{%- endmacro -%}

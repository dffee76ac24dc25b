{#- The queries of precheck's findings, verify's checks and rollback's counts (see Query in
    src/inplace/query.rs), each laid out for the place its caller prints it; and the
    statements built from the same parts: rollback's restore of the old values and the
    backups' digest. Names come as they are and are quoted here; conversions come as SQL
    expressions over their alias (the model's `using` rewritten token by token, see
    TypeChange::conversion in src/inplace/mod.rs: built in Rust). -#}
{%- import "inplace/shape.sql" as shape -%}
{%- macro key_text(alias, key) -%}
{%- for k in key.iter() %}{% if !loop.first %} || ', ' || {% endif %}{{ "{}="|format(k)|lit }} || {{ alias }}.{{ k|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro columns_of(alias, columns) -%}
{%- for c in columns.iter() %}{% if !loop.first %}, {% endif %}{{ alias }}.{{ c|ident }}{% endfor -%}
{%- endmacro -%}

{%- macro key_join(alias, key) -%}
{%- for k in key.iter() %}{% if !loop.first %} AND {% endif %}{{ alias }}.{{ k.column|ident }} = {% if let Some(c) = k.converted %}{{ c }}{% else %}bk.{{ k.column|ident }}{% endif %}{% endfor -%}
{%- endmacro -%}

{%- macro converted(v) -%}
{%- if let Some(c) = v.conversion %}CASE WHEN {{ c.helper }}({{ v.alias }}.{{ v.column|ident }}) THEN {{ c.expression }} END{% else %}{{ v.alias }}.{{ v.column|ident }}{% endif -%}
{%- endmacro -%}

{%- macro converted_list(values) -%}
{%- for v in values.iter() %}{% if !loop.first %}, {% endif %}{% call converted(v) %}{% endcall %}{% endfor -%}
{%- endmacro -%}

{%- macro all_converted(values) -%}
{%- for v in values.iter() %}{% if !loop.first %} AND {% endif %}({% call converted(v) %}{% endcall %}) IS NOT NULL{% endfor -%}
{%- endmacro -%}

{%- macro changed_values(changed) -%}
{%- for c in changed.iter() %}{% if !loop.first %}, {% endif %}({{ c.table|lit }}, {{ c.column|lit }}){% endfor -%}
{%- endmacro -%}

{#- Column privileges across the swaps (templates/inplace/column_grants.sql): one as a DBA
    reads it, from an aclexplode row or a _pgmig.column_grants row (`g`, the same columns). -#}
{%- macro column_grant_text(indent, table, column, g) -%}
pg_catalog.format('%I.%I: %s to %s%s (granted by %s)', {{ table }}, {{ column }}, {{ g }}.privilege_type,
{{ indent }}                  CASE WHEN {{ g }}.grantee = 0 THEN 'PUBLIC' ELSE {{ g }}.grantee::pg_catalog.regrole::text END,
{{ indent }}                  CASE WHEN {{ g }}.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, {{ g }}.grantor::pg_catalog.regrole)
{%- endmacro -%}

{#- The privileges in _pgmig.column_grants (`r`) with their table `c`, its schema `n` and the
    column of that name `a` (none once it is gone); `column_grants_not_held` keeps those of
    `model`'s `script` that the column does not hold now (a grant option recorded, held). -#}
{%- macro column_grants_from(indent) -%}
FROM _pgmig.column_grants AS r
{{ indent }}JOIN pg_catalog.pg_class AS c ON c.oid = r.table_name::pg_catalog.regclass
{{ indent }}JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
{{ indent }}LEFT JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attname = r.column_name AND NOT a.attisdropped
{%- endmacro -%}

{%- macro column_grants_not_held(indent, model, script) -%}
r.model = {{ model|lit }} AND r.script = {{ script|lit }}
{{ indent }}  AND NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(a.attacl) AS h
{{ indent }}                  WHERE h.grantor = r.grantor AND h.grantee = r.grantee AND h.privilege_type = r.privilege_type
{{ indent }}                    AND (h.is_grantable OR NOT r.is_grantable))
{%- endmacro -%}

{#- The column privileges of the changed columns, as precheck lists them (`a` the column, `c`
    its table, `g` one privilege). -#}
{%- macro changed_column_grants(changed) -%}
FROM (VALUES {% call changed_values(changed) %}{% endcall %}) AS changed(tbl, col)
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = changed.tbl::pg_catalog.regclass AND a.attname = changed.col
    JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
    CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) AS g
{%- endmacro -%}

{#- An order-free sum of row hashes over the backup `bk`'s key and originals: no sort, no
    string of the whole table, so a backup of any size seals in one pass. -#}
{%- macro backup_digest(columns) -%}
coalesce(sum(('x' || left(md5(ROW({% call columns_of("bk", columns) %}{% endcall %})::text), 16))::bit(64)::bigint::numeric), 0)::text
{%- endmacro -%}

{#- rollback: the old-typed columns filled before the reverse swap (see restore_old_values in
    src/inplace/view.rs). -#}
{%- macro restore(r) -%}
UPDATE {{ r.table }} AS t
    SET {% for c in r.columns.iter() %}{% if !loop.first %},
        {% endif %}{{ c.old|ident }} = CASE WHEN bk.{{ r.key[0].column|ident }} IS NOT NULL AND {{ c.converted }} IS NOT DISTINCT FROM cur.{{ c.column|ident }} THEN bk.{{ c.column|ident }}
{%- if let Some(p) = c.parent %}
                     WHEN {{ p.alias }}.{{ p.column|ident }} IS NOT NULL THEN {{ p.alias }}.{{ p.column|ident }}
{%- endif %}
                     ELSE (cur.{{ c.column|ident }})::{{ c.old_type }} END{% endfor %}
    FROM {{ r.table }} AS cur
    LEFT JOIN {{ r.backup }} AS bk ON {% call key_join("cur", r.key) %}{% endcall %}
{%- for c in r.columns.iter() %}{% if let Some(p) = c.parent %}
    LEFT JOIN {{ p.table }} AS {{ p.alias }} ON {{ p.converted }} = cur.{{ c.column|ident }}
{%- endif %}{% endfor %}
    WHERE cur.ctid = t.ctid
{%- endmacro -%}

{%- macro query(q) -%}
{%- match q -%}
{%- when Query::NullIntoNotNull { table, key, column } -%}
SELECT {% call key_text("t", key) %}{% endcall %} AS k
    FROM {{ table }} AS t
    WHERE t.{{ column|ident }} IS NULL
{%- when Query::NotConverting { table, key, column, helper } -%}
SELECT {% call key_text("t", key) %}{% endcall %} || ': ' || quote_literal(t.{{ column|ident }}) AS k
    FROM {{ table }} AS t
    WHERE t.{{ column|ident }} IS NOT NULL
      AND NOT {{ helper }}(t.{{ column|ident }})
{%- when Query::DuplicateKeys { table, values } -%}
SELECT row({% call converted_list(values) %}{% endcall %})::text AS k
    FROM {{ table }} AS t
    WHERE {% call all_converted(values) %}{% endcall %}
    GROUP BY {% call converted_list(values) %}{% endcall %}
    HAVING count(*) > 1
{%- when Query::OrphansAfterConversion { table, key, columns, converted, parent, matches } -%}
SELECT {% if key.is_empty() %}row({% call columns_of("c", columns) %}{% endcall %})::text{% else %}{% call key_text("c", key) %}{% endcall %}{% endif %} || ': ' || row({% call columns_of("c", columns) %}{% endcall %})::text AS k
    FROM {{ table }} AS c
    WHERE {% for c in columns.iter() %}{% if !loop.first %} AND {% endif %}c.{{ c|ident }} IS NOT NULL{% endfor %}
      AND {% call all_converted(converted) %}{% endcall %}
      AND NOT EXISTS (SELECT 1 FROM {{ parent }} AS p WHERE {% for m in matches.iter() %}{% if !loop.first %} AND {% endif %}{% call converted(m.parent) %}{% endcall %} = {% call converted(m.child) %}{% endcall %}{% endfor %})
{%- when Query::ViewsOnChanged { changed } -%}
SELECT DISTINCT v.oid::regclass::text || ' reads ' || changed.tbl || '.' || changed.col AS k
    FROM (VALUES {% call changed_values(changed) %}{% endcall %}) AS changed(tbl, col)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = changed.tbl::regclass AND a.attname = changed.col
    JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
    JOIN pg_catalog.pg_rewrite r ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid
    JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.oid <> a.attrelid
{%- when Query::ObjectsOnChanged { changed, known, own_triggers } -%}
WITH changed_column AS (
      SELECT a.attrelid, a.attnum
      FROM (VALUES {% call changed_values(changed) %}{% endcall %}) AS changed(tbl, col)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = changed.tbl::regclass AND a.attname = changed.col
    ), known(tbl, name) AS (
      {% if known.is_empty() %}SELECT NULL::text, NULL::text WHERE false{% else %}VALUES {% for o in known.iter() %}{% if !loop.first %}, {% endif %}({{ o.table|lit }}, {{ o.name|lit }}){% endfor %}{% endif %}
    ), known_constraint AS (
      SELECT c.oid, c.conindid FROM known JOIN pg_catalog.pg_constraint c ON c.conrelid = known.tbl::regclass AND c.conname = known.name
    ), known_index AS (
      SELECT i.indexrelid AS oid FROM known JOIN pg_catalog.pg_index i ON i.indrelid = known.tbl::regclass
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid AND ic.relname = known.name
      UNION SELECT conindid FROM known_constraint WHERE conindid <> 0
    ), dependency AS (
      SELECT d.* FROM pg_catalog.pg_depend d JOIN changed_column a
        ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
      UNION ALL
      SELECT d.* FROM pg_catalog.pg_depend d JOIN known_index i
        ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = i.oid
    )
    SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) || ' depends on '
           || min(pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)) AS k
    FROM dependency d
    WHERE d.deptype IN ('n', 'a', 'i')
      AND d.classid <> 'pg_catalog.pg_rewrite'::regclass
      AND NOT (d.classid = 'pg_catalog.pg_constraint'::regclass AND d.objid IN (SELECT oid FROM known_constraint))
      AND NOT (d.classid = 'pg_catalog.pg_class'::regclass AND d.objid IN (SELECT oid FROM known_index))
      AND NOT (d.classid = 'pg_catalog.pg_trigger'::regclass AND d.objid IN (
        SELECT tg.oid FROM pg_catalog.pg_trigger tg JOIN (VALUES {% for o in own_triggers.iter() %}{% if !loop.first %}, {% endif %}({{ o.table|lit }}, {{ o.name|lit }}){% endfor %}) AS own(tbl, name)
          ON tg.tgrelid = own.tbl::regclass AND tg.tgname = own.name))
      AND NOT (d.classid = 'pg_catalog.pg_attrdef'::regclass AND EXISTS (
        SELECT 1 FROM pg_catalog.pg_attrdef ad JOIN changed_column a ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE ad.oid = d.objid))
    GROUP BY d.classid, d.objid, d.objsubid
{%- when Query::ColumnGrantsCarried { changed } -%}
SELECT {% call column_grant_text("    ", "c.relname", "a.attname", "g") %}{% endcall %} AS k
    {% call changed_column_grants(changed) %}{% endcall %}
{%- when Query::GrantorsOutOfReach { changed } -%}
SELECT {% call column_grant_text("    ", "c.relname", "a.attname", "g") %}{% endcall %}
           || pg_catalog.format(': %s cannot SET ROLE %s', SESSION_USER, g.grantor::pg_catalog.regrole) AS k
    {% call changed_column_grants(changed) %}{% endcall %}
    WHERE NOT pg_catalog.pg_has_role(SESSION_USER, g.grantor, 'MEMBER')
{%- when Query::ColumnGrantsMissing { model } -%}
SELECT 1
    {% call column_grants_from("    ") %}{% endcall %}
    WHERE {% call column_grants_not_held("    ", model, "migrate") %}{% endcall %}
{%- when Query::DiffersFromBackup { table, backup, key, column, converted, new_type } -%}
SELECT 1
    FROM {{ backup }} AS bk
    LEFT JOIN {{ table }} AS t ON {% call key_join("t", key) %}{% endcall %}
    WHERE t.{{ key[0].column|ident }} IS NULL
       OR NOT (CAST(t.{{ column|ident }} AS text) COLLATE pg_catalog."C" IS NOT DISTINCT FROM CAST(CAST({{ converted }} AS {{ new_type }}) AS text) COLLATE pg_catalog."C")
{%- when Query::Orphans { table, parent, columns } -%}
SELECT 1
    FROM {{ table }} AS c
    WHERE {% for c in columns.iter() %}{% if !loop.first %} AND {% endif %}c.{{ c.column|ident }} IS NOT NULL{% endfor %}
      AND NOT EXISTS (SELECT 1 FROM {{ parent }} AS p WHERE {% for c in columns.iter() %}{% if !loop.first %} AND {% endif %}p.{{ c.referenced|ident }} = c.{{ c.column|ident }}{% endfor %})
{%- when Query::ChangedSinceMigrate { table, backup, key, column, converted } -%}
SELECT 1
      FROM {{ table }} AS cur
      LEFT JOIN {{ backup }} AS bk ON {% call key_join("cur", key) %}{% endcall %}
      WHERE NOT (bk.{{ key[0].column|ident }} IS NOT NULL AND {{ converted }} IS NOT DISTINCT FROM cur.{{ column|ident }})
{%- when Query::NotValidated { table, declared } -%}
SELECT 1 FROM pg_constraint AS c WHERE c.conrelid = {{ table|lit }}::regclass AND NOT c.convalidated
{%- if !declared.is_empty() %}
      AND c.conname::text <> ALL (ARRAY[{% for d in declared.iter() %}{% if !loop.first %}, {% endif %}{{ d|lit }}{% endfor %}])
{%- endif %}
{%- when Query::Differences { table, shape } -%}
SELECT 1 FROM (
    (({% call shape::expected(shape) %}{% endcall %})
     EXCEPT ALL
     ({% call shape::actual(table, shape) %}{% endcall %}))
    UNION ALL
    (({% call shape::actual(table, shape) %}{% endcall %})
     EXCEPT ALL
     ({% call shape::expected(shape) %}{% endcall %}))
    ) AS differences
{%- endmatch -%}
{%- endmacro -%}

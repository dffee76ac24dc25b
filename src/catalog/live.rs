//! Catalog from a live database, through pg_catalog queries.
//!
//! Runs with `search_path = ''` (restored afterwards) so that `format_type`,
//! `pg_get_expr`, `pg_get_constraintdef` and `pg_get_indexdef` schema-qualify user
//! objects as pg_dump does. Constraint and index definitions are read through the
//! same code as DDL files ([`super::ddl`]), so both readers spell them alike.
//! Objects that belong to extensions are left out, and so are constraints a
//! partition inherits from its parent (pg_dump does not repeat them either); a child of
//! `INHERITS (…)` has its parents' CHECKs, as the DDL reader gives them to it.

use super::ddl::Loader;
use super::normalize::normalize_expr_in;
use super::{quote_ident, Catalog, Check, Column, Domain, Identity, QualName, Sequence, Table};

const NOT_EXTENSION: &str = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')";

/// Reads the given schemas (all non-system schemas when empty).
pub fn from_database(
    client: &mut postgres::Client,
    schemas: &[String],
) -> Result<Catalog, postgres::Error> {
    let old_path: String = client
        .query_one("SELECT pg_catalog.current_setting('search_path')", &[])?
        .get(0);
    client.execute(
        "SELECT pg_catalog.set_config('search_path', '', false)",
        &[],
    )?;
    let result = read(client, schemas);
    client.execute(
        "SELECT pg_catalog.set_config('search_path', $1, false)",
        &[&old_path],
    )?;
    result
}

fn read(client: &mut postgres::Client, wanted: &[String]) -> Result<Catalog, postgres::Error> {
    let schemas: Vec<String> = client
        .query(
            "SELECT nspname::text FROM pg_catalog.pg_namespace n
              WHERE CASE WHEN pg_catalog.cardinality($1::text[]) = 0
                         THEN nspname !~ '^pg_' AND nspname <> 'information_schema'
                         ELSE nspname = ANY($1) END
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                     WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                       AND d.objid = n.oid AND d.deptype = 'e')
              ORDER BY 1",
            &[&wanted],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut loader = Loader::new("");
    loader.catalog_mut().schemas = schemas.clone();

    // Tables and columns.
    let rows = client.query(
        &format!(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relrowsecurity,
                    CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
                    CASE WHEN c.relispartition THEN
                      (SELECT pg_catalog.format('%I.%I', pn.nspname, pc.relname)
                         FROM pg_catalog.pg_inherits i
                         JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
                         JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                        WHERE i.inhrelid = c.oid) END,
                    CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
                    CASE WHEN NOT c.relispartition THEN
                      ARRAY(SELECT pg_catalog.format('%I.%I', pn.nspname, pc.relname)
                         FROM pg_catalog.pg_inherits i
                         JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
                         JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                        WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) END,
                    c.relpersistence = 'u', COALESCE(c.reloptions, '{{}}'::text[])
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND {NOT_EXTENSION}
              ORDER BY 2, 3"
        ),
        &[&schemas],
    )?;
    let mut oids: Vec<(u32, QualName)> = vec![];
    for r in &rows {
        let oid: u32 = r.get(0);
        let q = QualName::new(r.get::<_, String>(1), r.get::<_, String>(2));
        let partition_by: Option<String> = r.get(4);
        let parent: Option<String> = r.get(5);
        let bound: Option<String> = r.get(6);
        let inherits: Vec<String> = r.get::<_, Option<Vec<String>>>(7).unwrap_or_default();
        let cols = client.query(
            "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity::text, a.attgenerated::text
               FROM pg_catalog.pg_attribute a
               LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
              WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            &[&oid],
        )?;
        let columns = cols
            .iter()
            .map(|c| {
                let expr: Option<String> = c.get(3);
                let identity: String = c.get(4);
                let generated: String = c.get(5);
                let expr = expr.map(|e| normalize_expr_in(&e, None));
                Column {
                    name: c.get(0),
                    data_type: c.get(1),
                    not_null: c.get(2),
                    default: if generated.is_empty() {
                        expr.clone()
                    } else {
                        None
                    },
                    identity: match identity.as_str() {
                        "a" => Some(Identity::Always),
                        "d" => Some(Identity::ByDefault),
                        _ => None,
                    },
                    generated: if generated.is_empty() { None } else { expr },
                }
            })
            .collect();
        let partition_of = match (parent, bound) {
            (Some(p), Some(b)) => Some((qual_name(&p), super::normalize::canon_bound(&b))),
            _ => None,
        };
        let table = Table {
            name: q.clone(),
            columns,
            primary_key: None,
            uniques: vec![],
            foreign_keys: vec![],
            checks: vec![],
            indexes: vec![],
            row_level_security: r.get(3),
            partition_by: partition_by.map(|p| super::normalize::canon_tokens(&p)),
            partition_of,
            inherits: inherits.iter().map(|p| qual_name(p)).collect(),
            unlogged: r.get(8),
            storage_parameters: r.get(9),
        };
        loader.catalog_mut().tables.insert(q.clone(), table);
        oids.push((oid, q));
    }

    // Constraints and indexes, through the DDL reader.
    for (oid, q) in &oids {
        let cons = client.query(
            "SELECT c.conname::text, pg_catalog.pg_get_constraintdef(c.oid)
               FROM pg_catalog.pg_constraint c
              WHERE c.conrelid = $1 AND c.contype IN ('p', 'u', 'f', 'c')
                AND c.conparentid = 0
                AND (c.conislocal OR NOT (SELECT r.relispartition FROM pg_catalog.pg_class r WHERE r.oid = c.conrelid))
              ORDER BY CASE c.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'c' THEN 2 ELSE 3 END, c.conname",
            &[oid],
        )?;
        for c in &cons {
            let name: String = c.get(0);
            let def: String = c.get(1);
            loader.statement(&format!(
                "ALTER TABLE ONLY {q} ADD CONSTRAINT {} {def}",
                quote_ident(&name)
            ));
        }
        let idx = client.query(
            "SELECT pg_catalog.pg_get_indexdef(i.indexrelid)
               FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = $1
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid
                                   AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
              ORDER BY ic.relname",
            &[oid],
        )?;
        for i in &idx {
            let def: String = i.get(0);
            loader.statement(&def);
        }
    }
    // Constraints come in name order; keep the catalog independent of order where the
    // DDL reader would see them in file order.
    let (mut cat, warnings) = loader.into_parts();
    for w in warnings {
        eprintln!("pgmig: live catalog: {}", w.message);
    }

    // Enums.
    let rows = client.query(
        "SELECT n.nspname::text, t.typname::text,
                pg_catalog.array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
           FROM pg_catalog.pg_type t
           JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
           JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
          WHERE n.nspname = ANY($1) AND t.typtype = 'e'
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                 WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid = t.oid AND d.deptype = 'e')
          GROUP BY 1, 2",
        &[&schemas],
    )?;
    for r in rows {
        cat.enums.insert(
            QualName::new(r.get::<_, String>(0), r.get::<_, String>(1)),
            r.get(2),
        );
    }

    // Domains.
    let rows = client.query(
        "SELECT t.oid, n.nspname::text, t.typname::text, pg_catalog.format_type(t.typbasetype, t.typtypmod),
                t.typnotnull, t.typdefault
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = ANY($1) AND t.typtype = 'd'
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                 WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid = t.oid AND d.deptype = 'e')",
        &[&schemas],
    )?;
    for r in rows {
        let oid: u32 = r.get(0);
        let checks = client
            .query(
                "SELECT conname::text, pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint
                  WHERE contypid = $1 AND contype = 'c' ORDER BY conname",
                &[&oid],
            )?
            .iter()
            .map(|c| {
                let def: String = c.get(1);
                let (expression, not_valid) = check_body(&def);
                Check { name: c.get(0), expression, not_valid }
            })
            .collect();
        let default: Option<String> = r.get(5);
        cat.domains.insert(
            QualName::new(r.get::<_, String>(1), r.get::<_, String>(2)),
            Domain {
                data_type: r.get(3),
                not_null: r.get(4),
                default: default.map(|d| normalize_expr_in(&d, None)),
                checks,
            },
        );
    }

    // Sequences, with the column that owns them (serial: 'a', identity: 'i').
    let rows = client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text, pg_catalog.format_type(s.seqtypid, NULL),
                    s.seqstart, s.seqincrement, tn.nspname::text, tc.relname::text, a.attname::text
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
               LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                     AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                     AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
               LEFT JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
               LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
               LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE n.nspname = ANY($1) AND c.relkind = 'S' AND {NOT_EXTENSION}"
        ),
        &[&schemas],
    )?;
    for r in rows {
        let owner: Option<(QualName, String)> = match (
            r.get::<_, Option<String>>(5),
            r.get::<_, Option<String>>(6),
            r.get::<_, Option<String>>(7),
        ) {
            (Some(s), Some(t), Some(c)) => Some((QualName::new(s, t), c)),
            _ => None,
        };
        cat.sequences.insert(
            QualName::new(r.get::<_, String>(0), r.get::<_, String>(1)),
            Sequence {
                data_type: r.get(2),
                start: r.get(3),
                increment: r.get(4),
                owned_by: owner,
            },
        );
    }
    cat.canonicalize();
    Ok(cat)
}

/// `CHECK ((VALUE > 0))` (maybe `NOT VALID`) → the normalized expression, and whether it
/// is `NOT VALID`.
fn check_body(def: &str) -> (String, bool) {
    let d = def.trim();
    let (d, not_valid) = match d.strip_suffix("NOT VALID") {
        Some(d) => (d, true),
        None => (d, false),
    };
    let d = d.trim().strip_prefix("CHECK").unwrap_or(d).trim();
    (normalize_expr_in(d, None), not_valid)
}

/// `app."Odd Name"` (as `format('%I.%I')` writes it) → its schema and name.
fn qual_name(quoted: &str) -> QualName {
    let mut parts = super::normalize::split_qualified(quoted);
    let name = parts.pop().unwrap_or_default();
    QualName::new(parts.pop().unwrap_or_default(), name)
}

//! `pgmig-bench --models …`: the other models, pgmig's phases at each scale against a copy
//! floor.
//!
//! V1 comes from the model's own `sample.sql -v scale=N`. The floor is PostgreSQL copying the
//! very rows pgmig's first migrate wrote (held aside in schema `bench_hold`) into the emptied
//! V2 tables, parents first, in one transaction with V2's constraints and indexes in place,
//! then ANALYZE: the bytes, without reading V1, mapping or bookkeeping. It needs no
//! hand-written SQL per model, and it is stricter than the workout floor, which still joins V1.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{
    compile_model, db_size, pg_err, push, Bench, Series, MIGRATE, PRECHECK, ROLLBACK, VERIFY,
};

/// Models `--models` accepts: a `sample.sql` taking `-v scale=N -v schema=v1`, V1 in schema
/// `v1`, V2 in `public`, copied (an in-place model changes V1's own tables: no copy stands
/// for that; the drills and thywill samples have one fixed size).
pub const SCALABLE: &[&str] = &["school"];

pub const COPY_FLOOR: &str = "floor: copy of pgmig's V2 rows";
pub const MODEL_ORDER: &[&str] = &[PRECHECK, MIGRATE, VERIFY, ROLLBACK, COPY_FLOOR];

#[derive(Debug, Default)]
pub struct ModelResult {
    pub model: String,
    pub scale: u32,
    pub v1_rows: i64,
    /// Rows pgmig's migrate put into V2 (and the floor copies).
    pub v2_rows: i64,
    pub series: BTreeMap<String, Series>,
}

/// Rows in every table of `schema`, counted.
fn rows_in(c: &mut postgres::Client, schema: &str) -> Result<i64, String> {
    let sql = "SELECT coalesce(sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint), 0)::bigint
                 FROM pg_tables WHERE schemaname = $1";
    Ok(c.query_one(sql, &[&schema])
        .map_err(pg_err("count rows"))?
        .get(0))
}

/// V2's tables (quoted, qualified), parents before the tables whose foreign keys name them
/// (a parent outside V2's schema is there already).
fn tables_parents_first(c: &mut postgres::Client) -> Result<Vec<String>, String> {
    let names: Vec<String> = c
        .query("SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
        .map_err(pg_err("V2 tables"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let edges: Vec<(String, String)> = c
        .query(
            "SELECT format('%I.%I', cn.nspname, c.relname), format('%I.%I', pn.nspname, p.relname)
               FROM pg_constraint k
               JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
               JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
              WHERE k.contype = 'f' AND k.conrelid <> k.confrelid AND cn.nspname = 'public'",
            &[],
        )
        .map_err(pg_err("V2 foreign keys"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut order: Vec<String> = Vec::new();
    let mut left = names;
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| {
                edges
                    .iter()
                    .filter(|(child, _)| child == *t)
                    .all(|(_, parent)| !left.contains(parent))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(format!(
                "V2's foreign keys form a cycle among {}",
                left.join(", ")
            ));
        }
        left.retain(|t| !ready.contains(t));
        order.extend(ready);
    }
    Ok(order)
}

impl Bench<'_> {
    pub(super) fn model_scale(
        &self,
        model: &str,
        scale: u32,
        pg: &mut postgres::Client,
    ) -> Result<ModelResult, String> {
        let dir = self.opts.models_dir.join(model);
        let db = format!("bench_{model}_s{scale}");
        pg.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
            .map_err(pg_err("drop db"))?;
        pg.batch_execute(&format!("CREATE DATABASE {db}"))
            .map_err(pg_err("create db"))?;
        let mut c = self.cluster.connect(&db).map_err(pg_err("connect"))?;
        c.batch_execute("CREATE SCHEMA v1")
            .map_err(pg_err("schema"))?;
        self.psql_file(&db, &dir.join("v1.sql"), Some("v1"), &[])?;
        self.psql_file(&db, &dir.join("v2.sql"), Some("public"), &[])?;
        eprintln!("bench: {model} scale {scale}: generating V1 sample data");
        self.psql_file(
            &db,
            &dir.join("sample.sql"),
            Some("v1"),
            &[("scale", scale.to_string()), ("schema", "v1".into())],
        )?;
        c.batch_execute("VACUUM (FREEZE, ANALYZE)")
            .map_err(pg_err("vacuum"))?;
        let mut r = ModelResult {
            model: model.into(),
            scale,
            v1_rows: rows_in(&mut c, "v1")?,
            ..Default::default()
        };
        if rows_in(&mut c, "public")? != 0 {
            return Err(format!(
                "{model}: V2 holds rows before migrate; the copy floor needs it empty"
            ));
        }
        let scripts = self.cluster.base_dir().join(format!("{model}-scripts"));
        compile_model(
            &self.opts.pgmig_exe,
            &dir.join("model.yaml"),
            &dir,
            &scripts,
        )?;
        let tables = tables_parents_first(&mut c)?;
        let empty_v2 = format!(
            "DROP SCHEMA IF EXISTS _pgmig CASCADE; TRUNCATE {} RESTART IDENTITY; CHECKPOINT",
            tables.join(", ")
        );

        r.series = MODEL_ORDER
            .iter()
            .map(|n| (n.to_string(), Series::default()))
            .collect();
        for run in 0..self.opts.runs {
            eprintln!(
                "bench: {model} scale {scale}: run {}/{}",
                run + 1,
                self.opts.runs
            );
            c.batch_execute(&empty_v2).map_err(pg_err("reset"))?;
            let (s, p) = self.pgmig_run(&db, &scripts, "precheck", &[])?;
            push(&mut r.series, PRECHECK, s, p, None);
            let before = db_size(&mut c)?;
            let (s, p) = self.pgmig_run(&db, &scripts, "migrate", &[])?;
            push(
                &mut r.series,
                MIGRATE,
                s,
                p,
                Some(db_size(&mut c)? - before),
            );
            if run == 0 {
                r.v2_rows = rows_in(&mut c, "public")?;
                let mut hold = String::from(
                    "DROP SCHEMA IF EXISTS bench_hold CASCADE; CREATE SCHEMA bench_hold;",
                );
                for t in &tables {
                    let bare = t.strip_prefix("public.").unwrap_or(t);
                    hold.push_str(&format!(
                        "CREATE TABLE bench_hold.{bare} AS SELECT * FROM {t};"
                    ));
                }
                c.batch_execute(&hold)
                    .map_err(pg_err("hold pgmig's V2 rows"))?;
            }
            let (s, p) = self.pgmig_run(&db, &scripts, "verify", &[])?;
            push(&mut r.series, VERIFY, s, p, None);
            let (s, p) = self.pgmig_run(&db, &scripts, "rollback", &[])?;
            push(&mut r.series, ROLLBACK, s, p, None);
            let left = rows_in(&mut c, "public")?;
            if left != 0 {
                return Err(format!(
                    "{model} scale {scale}: {left} rows left in V2 after rollback"
                ));
            }

            c.batch_execute(&empty_v2).map_err(pg_err("reset"))?;
            let before = db_size(&mut c)?;
            let s = copy_floor(&mut c, &tables)?;
            push(
                &mut r.series,
                COPY_FLOOR,
                s,
                None,
                Some(db_size(&mut c)? - before),
            );
            let copied = rows_in(&mut c, "public")?;
            if copied != r.v2_rows {
                return Err(format!(
                    "{model} scale {scale}: the floor copied {copied} rows, pgmig wrote {}",
                    r.v2_rows
                ));
            }
        }
        Ok(r)
    }
}

/// The held rows into V2, parents first, one transaction; then ANALYZE. Generated columns
/// are left to V2; identity values are copied as they are.
fn copy_floor(c: &mut postgres::Client, tables: &[String]) -> Result<f64, String> {
    let mut sql = String::from("BEGIN;");
    for t in tables {
        let columns: String = c
            .query_one(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                  WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
                &[t],
            )
            .map_err(pg_err("V2 columns"))?
            .get(0);
        let bare = t.strip_prefix("public.").unwrap_or(t);
        sql.push_str(&format!("INSERT INTO {t} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM bench_hold.{bare};"));
    }
    for t in tables {
        sql.push_str(&format!("ANALYZE {t};"));
    }
    sql.push_str("COMMIT;");
    let started = Instant::now();
    c.batch_execute(&sql).map_err(pg_err("copy floor"))?;
    Ok(started.elapsed().as_secs_f64())
}

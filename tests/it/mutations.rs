//! The mutation harness: does verify.sql catch every corruption of a migrated database?
//!
//! Per model (and the workout model batched and per entity), migrate runs once into a
//! template database. A catalogue of corruptions is generated from the plan: one value of
//! every column of every filled table, a deleted and an extra row per table, a key added to
//! and removed from every id map, the bookkeeping (a reject's reason, a `_pgmig.reference`
//! row, a saved sequence value), every declared column of the reference rows, and V1 changed
//! after migrate. Each is committed to a copy of the template (`CREATE DATABASE … TEMPLATE`),
//! then verify.sql runs under psql: the corruption is named when verify fails with a FAIL line
//! naming the table (or step, map, V1 table) it touched. The score is printed per kind; every
//! corruption must be named except those the harness lists as not detectable, with the reason.

use std::collections::BTreeMap;
use std::path::Path;

use pgmig::catalog::{quote_ident, QualName};
use pgmig::plan::{Key, Plan, Step};
use pgmig::sql_text::quote_literal as lit;

use crate::support::scripts::{must_pass, run, stderr};
use crate::support::{cluster, repo_root, TestDb};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ChangedValue,
    DeletedRow,
    ExtraRow,
    MapKeyAdded,
    MapKeyRemoved,
    ReferenceValue,
    RejectReason,
    ReferenceBookRow,
    SavedSequence,
    V1Changed,
    /// A fresh random value (a password hash, a uuid) set to another row's.
    FreshShared,
    /// A fresh random value replaced by another of the same function.
    FreshReplaced,
    /// A repaired value changed, with `_pgmig.changes` and the seals forged to match.
    RepairForged,
    /// In place: a value of the backup in `_pgmig` changed, or a backup row deleted.
    BackupValue,
    BackupRow,
}

/// Why verify cannot see a corruption: the harness states it, the test accepts the miss.
const OTHERS_ROWS: &str = "the table held rows before migrate: a row no id map holds may be the application's (verify reports how many, as information)";
const NOT_REPEATABLE: &str = "the value comes from a non-repeatable function (a fresh uuid, hash or random value) and is no key: verify checks it is set, distinct and of its form, nothing can recompute it";
const IN_PLACE_UNTOUCHED: &str =
    "in place, migrate does not write this column: its value is the application's before and after";

/// Why a changed value of `column` (quoted) in the rows `step` migrated can't be seen, if it can't.
fn not_comparable(step: &Step, column: &str, type_name: &str) -> Option<&'static str> {
    let keys = key_columns(step);
    let written = step.columns.iter().find(|c| quote_ident(&c.name) == column);
    let defaulted = step
        .defaulted
        .iter()
        .find(|d| quote_ident(&d.name) == column);
    let volatile = written.is_some_and(|c| c.volatile) || defaulted.is_some_and(|d| d.volatile);
    // A time left to now() is checked against migrate's window: a day later is outside it.
    let timed = defaulted.is_some() && type_name.starts_with("timestamp");
    // A value of a known form (a bcrypt hash) changed by the harness ('x' appended) is out of it.
    let formed = written.is_some_and(|c| c.fresh.as_ref().is_some_and(|f| f.pattern.is_some()));
    (volatile && !keys.iter().any(|k| k == column) && !timed && !formed).then_some(NOT_REPEATABLE)
}

struct Corruption {
    kind: Kind,
    /// What is corrupted, for the report.
    what: String,
    /// Statements to try in order: the first that changes a row is the corruption (V2's
    /// CHECK, UNIQUE and NOT NULL constraints may refuse some; foreign keys are not enforced,
    /// as when data is loaded around them).
    candidates: Vec<String>,
    /// Statements run after the candidate that applied, in its transaction (the forged
    /// bookkeeping that goes with it).
    then: Vec<String>,
    /// verify names it when one of its FAIL lines holds one of these.
    names: Vec<String>,
    undetectable: Option<&'static str>,
}

enum Outcome {
    Named,
    /// verify passed, or failed without naming what was corrupted: its output.
    Missed(String),
    /// No candidate statement could be applied.
    NotApplicable,
}

/// One migrated database and the plan that made it.
struct Subject {
    label: &'static str,
    /// The model's name.
    model: String,
    /// The checked plan; `None` in place.
    plan: Option<Plan>,
    /// The schema the scripts migrate.
    target_schema: String,
    scripts: tempfile::TempDir,
    template: TestDb,
    /// Rows of each filled table before migrate.
    rows_before: BTreeMap<String, i64>,
}

fn compile_text(
    model_dir: &Path,
    v1: &pgmig::SchemaInput,
    edit: impl Fn(&str) -> String,
) -> (pgmig::Compiled, tempfile::TempDir) {
    let text = std::fs::read_to_string(model_dir.join("model.yaml")).unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("model.yaml"), edit(&text)).unwrap();
    let compiled = pgmig::compile(
        &src.path().join("model.yaml"),
        v1,
        &pgmig::SchemaInput::Ddl(model_dir.join("v2.sql")),
    )
    .unwrap_or_else(|e| panic!("{} must compile: {e:?}", model_dir.display()));
    let scripts = tempfile::tempdir().unwrap();
    pgmig::compile::write(&compiled.scripts, scripts.path()).unwrap();
    (compiled, scripts)
}

/// Migrates `db` with the model of `model_dir` (its text edited by `edit`) and checks that
/// verify passes on the untouched result: the baseline every corruption is measured against.
fn subject(
    label: &'static str,
    model_dir: &str,
    db: TestDb,
    edit: impl Fn(&str) -> String,
) -> Subject {
    let v1 = pgmig::SchemaInput::Ddl(repo_root().join("models").join(model_dir).join("v1.sql"));
    subject_from(label, model_dir, &v1, db, edit)
}

/// [`subject`] with V1's schema read from `v1` (a live database: a staged source).
fn subject_from(
    label: &'static str,
    model_dir: &str,
    v1: &pgmig::SchemaInput,
    db: TestDb,
    edit: impl Fn(&str) -> String,
) -> Subject {
    let (compiled, scripts) = compile_text(&repo_root().join("models").join(model_dir), v1, edit);
    let plan = compiled.plan;
    let target_schema = match &plan {
        Some(plan) => plan.target_schema.clone(),
        None => pgmig::inplace::load(&compiled.source.text)
            .expect("an in-place model that compiled loads")
            .schema()
            .to_string(),
    };
    let rows_before = plan
        .iter()
        .flat_map(|plan| &plan.steps)
        .map(|s| {
            (
                s.target.to_string(),
                scalar(&db, &format!("SELECT count(*) FROM {}", s.target)),
            )
        })
        .collect();
    must_pass(run(&db, scripts.path(), "migrate.sql", &[]), "migrate");
    must_pass(
        run(&db, scripts.path(), "verify.sql", &[]),
        "verify of the untouched migration",
    );
    Subject {
        label,
        model: compiled.name,
        plan,
        target_schema,
        scripts,
        template: db,
        rows_before,
    }
}

fn scalar(db: &TestDb, sql: &str) -> i64 {
    db.client()
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", crate::support::pg_error_text(&e)))
        .get(0)
}

/// A table's columns: (quoted name, type name, type category), generated ones left out.
fn columns_of(db: &TestDb, table: &str) -> Vec<(String, String, String)> {
    let sql = "SELECT quote_ident(a.attname), format_type(a.atttypid, NULL), ty.typcategory::text
               FROM pg_attribute AS a JOIN pg_type AS ty ON ty.oid = a.atttypid
               WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
               ORDER BY a.attnum";
    db.client()
        .query(sql, &[&table])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Another value of the same type for column `c` of alias `t`, or None where the type has no
/// obvious neighbour (then another row's value, or NULL, is tried).
fn shifted(c: &str, type_name: &str, category: &str) -> Option<String> {
    Some(match (category, type_name) {
        ("N", _) => format!("coalesce(t.{c} + 1, 1)"),
        ("S", _) => format!("coalesce(t.{c} || 'x', 'x')"),
        ("B", _) => format!("coalesce(NOT t.{c}, true)"),
        ("D", "date") => format!("coalesce(t.{c} + 1, DATE '2001-02-03')"),
        ("D", _) => format!("coalesce(t.{c} + interval '1 day', TIMESTAMP '2001-02-03 04:05:06')"),
        ("U", "uuid") => "gen_random_uuid()".into(),
        ("U", "jsonb" | "json") => "'{\"mutated\": true}'".into(),
        ("A", _) => format!("CASE WHEN cardinality(t.{c}) > 0 THEN t.{c}[2:] ELSE t.{c} END"),
        _ => return None,
    })
}

/// Statements changing column `c` of the row `row` (a ctid subquery) of `table`, each only
/// when the value really changes.
fn value_changes(table: &str, row: &str, c: &str, type_name: &str, category: &str) -> Vec<String> {
    let other = format!("(SELECT o.{c} FROM {table} AS o WHERE o.{c} IS DISTINCT FROM t.{c} ORDER BY o.{c}::text LIMIT 1)");
    shifted(c, type_name, category)
        .into_iter()
        .chain([other, "NULL".to_string()])
        .map(|value| format!("UPDATE {table} AS t SET {c} = {value} WHERE t.ctid = {row} AND ({value}) IS DISTINCT FROM t.{c}"))
        .collect()
}

/// A copy of the row `row` of `table` with fresh values in `fresh` columns (keys, unique
/// columns): an extra row that collides with nothing.
fn extra_row(db: &TestDb, table: &str, row: &str, fresh: &[String]) -> String {
    let cols = columns_of(db, table);
    let pairs: Vec<String> = cols
        .iter()
        .filter(|(c, _, _)| fresh.contains(c))
        .map(|(c, ty, cat)| {
            let value = match (cat.as_str(), ty.as_str()) {
                ("N", _) => format!("(SELECT max(o.{c}) FROM {table} AS o) + 1000"),
                ("U", "uuid") => "gen_random_uuid()".into(),
                ("S", _) => format!("t.{c} || '-extra'"),
                _ => shifted(c, ty, cat).unwrap_or(format!("t.{c}")),
            };
            format!("{}, {value}", lit(&unquoted(c)))
        })
        .collect();
    format!(
        "INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(t) || jsonb_build_object({}))).* FROM {table} AS t WHERE t.ctid = {row}",
        pairs.join(", ")
    )
}

fn unquoted(ident: &str) -> String {
    match ident.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => ident.to_string(),
    }
}

/// Columns of `table` in its primary key or a unique index (quoted).
fn unique_columns(db: &TestDb, table: &str) -> Vec<String> {
    let sql = "SELECT DISTINCT quote_ident(a.attname)
               FROM pg_index AS i JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
               WHERE i.indrelid = $1::text::regclass AND i.indisunique";
    db.client()
        .query(sql, &[&table])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn key_columns(step: &Step) -> Vec<String> {
    match &step.key {
        Key::Keep { columns } => columns.iter().map(|c| quote_ident(c)).collect(),
        Key::New { column, .. } => vec![quote_ident(column)],
    }
}

/// The first row (by key) of `step`'s target that the step migrated, as a ctid subquery.
fn migrated_row(step: &Step) -> String {
    let keys = key_columns(step);
    let on: Vec<String> = keys.iter().map(|k| format!("x.{k} = m.{k}")).collect();
    let order: Vec<String> = keys.iter().map(|k| format!("x.{k}")).collect();
    format!(
        "(SELECT x.ctid FROM {} AS x JOIN {} AS m ON {} ORDER BY {} LIMIT 1)",
        step.target,
        step.map_table,
        on.join(" AND "),
        order.join(", ")
    )
}

fn catalogue(s: &Subject) -> Vec<Corruption> {
    let db = &s.template;
    let plan = s.plan.as_ref().expect("a model of steps has a plan");
    let model = lit(&s.model);
    let mut out = Vec::new();
    let steps_of = |table: &QualName| -> Vec<String> {
        std::iter::once(table.name.clone())
            .chain(
                plan.steps
                    .iter()
                    .filter(|x| &x.target == table)
                    .map(|x| x.name.clone()),
            )
            .collect()
    };
    let mut seen_tables = std::collections::BTreeSet::new();
    for step in &plan.steps {
        let table = step.target.to_string();
        let names = steps_of(&step.target);
        if seen_tables.insert(table.clone()) {
            let row = migrated_row(step);
            for (c, ty, cat) in columns_of(db, &table) {
                out.push(Corruption {
                    kind: Kind::ChangedValue,
                    what: format!("{table}.{c}"),
                    candidates: value_changes(&table, &row, &c, &ty, &cat),
                    names: names.clone(),
                    undetectable: not_comparable(step, &c, &ty),
                    then: Vec::new(),
                });
            }
            out.push(Corruption {
                kind: Kind::DeletedRow,
                what: table.clone(),
                candidates: vec![format!("DELETE FROM {table} AS t WHERE t.ctid = {row}")],
                names: names.clone(),
                undetectable: None,
                then: Vec::new(),
            });
            out.push(Corruption {
                kind: Kind::ExtraRow,
                what: table.clone(),
                candidates: vec![extra_row(db, &table, &row, &unique_columns(db, &table))],
                names: names.clone(),
                undetectable: (s.rows_before[&table] > 0).then_some(OTHERS_ROWS),
                then: Vec::new(),
            });
        }
        fresh_and_repairs(s, step, &mut out);
        let map = step.map_table.to_string();
        let map_row = format!("(SELECT m.ctid FROM {map} AS m ORDER BY m::text LIMIT 1)");
        let all_map_columns: Vec<String> = columns_of(db, &map)
            .into_iter()
            .map(|(c, _, _)| c)
            .collect();
        let map_names = vec![step.name.clone(), step.map_table.name.clone()];
        out.push(Corruption {
            kind: Kind::MapKeyAdded,
            what: map.clone(),
            candidates: vec![extra_row(db, &map, &map_row, &all_map_columns)],
            names: map_names.clone(),
            undetectable: None,
            then: Vec::new(),
        });
        out.push(Corruption {
            kind: Kind::MapKeyRemoved,
            what: map.clone(),
            candidates: vec![format!("DELETE FROM {map} AS t WHERE t.ctid = {map_row}")],
            names: map_names,
            undetectable: None,
            then: Vec::new(),
        });
    }
    for r in &plan.references {
        let table = r.table.to_string();
        let row = format!(
            "(SELECT x.ctid FROM {table} AS x JOIN _pgmig.reference AS b ON b.model = {model} AND b.table_name = {} AND to_jsonb(x) @> b.key ORDER BY b.key::text LIMIT 1)",
            lit(&table)
        );
        let types = columns_of(db, &table);
        for c in r.columns.iter().filter(|c| !r.key.contains(&c.name)) {
            let q = quote_ident(&c.name);
            let Some((_, ty, cat)) = types.iter().find(|(n, _, _)| n == &q) else {
                continue;
            };
            out.push(Corruption {
                kind: Kind::ReferenceValue,
                what: format!("{table}.{q}"),
                candidates: value_changes(&table, &row, &q, ty, cat),
                names: vec![r.table.name.clone()],
                undetectable: None,
                then: Vec::new(),
            });
        }
        out.push(Corruption {
            kind: Kind::ReferenceBookRow,
            what: format!("_pgmig.reference of {table}"),
            candidates: vec![format!(
                "DELETE FROM _pgmig.reference AS t WHERE t.ctid = (SELECT b.ctid FROM _pgmig.reference AS b WHERE b.model = {model} AND b.table_name = {} ORDER BY b.key::text LIMIT 1)",
                lit(&table)
            )],
            names: vec![r.table.name.clone(), "_pgmig.reference".into()],
            undetectable: None,
            then: Vec::new(),
        });
    }
    let first_reject = format!("(SELECT b.ctid FROM _pgmig.rejects AS b WHERE b.model = {model} ORDER BY b.step, b.rule, b.source_key::text LIMIT 1)");
    let reject_step: Vec<String> = db
        .client()
        .query(
            &format!("SELECT step FROM _pgmig.rejects AS t WHERE t.ctid = {first_reject}"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(step) = reject_step.first() {
        out.push(Corruption {
            kind: Kind::RejectReason,
            what: format!("_pgmig.rejects of {step}"),
            candidates: vec![format!("UPDATE _pgmig.rejects AS t SET reason = t.reason || ' (edited)' WHERE t.ctid = {first_reject}")],
            names: vec![step.clone(), "_pgmig.rejects".into()],
            undetectable: None,
            then: Vec::new(),
        });
    }
    out.push(Corruption {
        kind: Kind::SavedSequence,
        what: "_pgmig.sequences".into(),
        candidates: vec![format!(
            "UPDATE _pgmig.sequences AS t SET last_value = t.last_value + 1 WHERE t.ctid = (SELECT b.ctid FROM _pgmig.sequences AS b WHERE b.model = {model} ORDER BY b.sequence LIMIT 1)"
        )],
        names: vec!["_pgmig.sequences".into()],
        undetectable: None,
        then: Vec::new(),
    });
    for (table, key) in &plan.v1_tables {
        let printed = QualName::new(&plan.read_schema, &table.name).to_string();
        let order = if key.is_empty() {
            "x::text".to_string()
        } else {
            key.iter()
                .map(|k| format!("x.{}", quote_ident(k)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let first = format!("(SELECT x.ctid FROM {printed} AS x ORDER BY {order} LIMIT 1)");
        let rejected = format!(
            "(SELECT x.ctid FROM {printed} AS x JOIN _pgmig.rejects AS b ON b.model = {model} AND b.source_table = {} AND to_jsonb(x) @> b.source_key ORDER BY b.source_key::text LIMIT 1)",
            lit(&printed)
        );
        let readers: Vec<String> = std::iter::once(table.name.clone())
            .chain(
                plan.steps
                    .iter()
                    .filter(|x| x.reads.iter().any(|r| r.name == table.name))
                    .map(|x| x.name.clone()),
            )
            .collect();
        for (which, row) in [("first row", first), ("a rejected row", rejected)] {
            let candidates = columns_of(db, &printed)
                .into_iter()
                .filter(|(c, _, _)| !key.iter().any(|k| &quote_ident(k) == c))
                .flat_map(|(c, ty, cat)| value_changes(&printed, &row, &c, &ty, &cat))
                .collect();
            out.push(Corruption {
                kind: Kind::V1Changed,
                what: format!("{printed}, {which}"),
                candidates,
                names: readers.clone(),
                undetectable: None,
                then: Vec::new(),
            });
        }
    }
    out
}

/// The seals of `model`'s bookkeeping recomputed as migrate computes them: what whoever can
/// write `_pgmig` can do after forging a row there.
fn reseal(model: &str) -> String {
    format!(
        "UPDATE _pgmig.seals AS s SET rows = d.rows, digest = d.digest
         FROM (SELECT count(*) AS rows, md5(coalesce(string_agg(x.line, E'\\n' ORDER BY x.line), '')) AS digest
               FROM (SELECT ROW(b.step, b.table_name, b.key, b.column_name, b.old_value, b.new_value)::text AS line
                     FROM _pgmig.changes AS b WHERE b.model = {model}) AS x) AS d
         WHERE s.model = {model} AND s.subject = '_pgmig.changes'"
    )
}

/// The values of `step` that no one can recompute (fresh random ones) and the repaired ones.
fn fresh_and_repairs(s: &Subject, step: &Step, out: &mut Vec<Corruption>) {
    let table = step.target.to_string();
    let model = lit(&s.model);
    let row = migrated_row(step);
    let names = vec![step.name.clone()];
    for c in step.columns.iter().filter(|c| c.fresh.is_some()) {
        let q = quote_ident(&c.name);
        out.push(Corruption {
            kind: Kind::FreshShared,
            what: format!("{table}.{q}"),
            candidates: vec![format!(
                "UPDATE {table} AS t SET {q} = (SELECT o.{q} FROM {table} AS o WHERE o.ctid <> t.ctid ORDER BY o.{q} LIMIT 1) WHERE t.ctid = {row}"
            )],
            names: names.clone(),
            undetectable: None,
            then: Vec::new(),
        });
        out.push(Corruption {
            kind: Kind::FreshReplaced,
            what: format!("{table}.{q}"),
            candidates: vec![format!(
                "UPDATE {table} AS t SET {q} = {} WHERE t.ctid = {row}",
                c.expr
            )],
            names: names.clone(),
            undetectable: Some(NOT_REPEATABLE),
            then: Vec::new(),
        });
    }
    for r in &step.repairs {
        let q = quote_ident(&r.column);
        let change = format!(
            "(SELECT c.ctid FROM _pgmig.changes AS c WHERE c.model = {model} AND c.step = {} AND c.column_name = {} ORDER BY c.key::text LIMIT 1)",
            lit(&step.name),
            lit(&r.column)
        );
        let repaired_row = format!(
            "(SELECT x.ctid FROM {table} AS x JOIN _pgmig.changes AS c ON to_jsonb(x) @> c.key WHERE c.ctid = {change})"
        );
        // An address of the attacker's, or a phone number: whichever V2's CHECKs take.
        let candidates = ["'attacker@evil.example'", "'+15550001234'"]
            .iter()
            .map(|v| format!("UPDATE {table} AS t SET {q} = {v} WHERE t.ctid = {repaired_row}"))
            .collect();
        out.push(Corruption {
            kind: Kind::RepairForged,
            what: format!("{table}.{q}"),
            candidates,
            names: names.clone(),
            undetectable: None,
            then: vec![
                format!(
                    "UPDATE _pgmig.changes AS c SET new_value = (SELECT CAST(x.{q} AS text) FROM {table} AS x WHERE to_jsonb(x) @> c.key) WHERE c.ctid = {change}"
                ),
                reseal(&model),
            ],
        });
    }
}

/// Applies `c` to a fresh copy of the template and runs verify on it.
fn try_corruption(s: &Subject, c: &Corruption) -> Outcome {
    let copy = cluster().copy_db(&s.template, "mutant");
    let applied = {
        let mut client = copy.client();
        c.candidates.iter().any(|sql| {
            client
                .batch_execute("BEGIN; SET LOCAL session_replication_role = replica")
                .unwrap();
            match client.execute(sql.as_str(), &[]) {
                Ok(n) if n > 0 => {
                    for then in &c.then {
                        client.batch_execute(then).unwrap_or_else(|e| {
                            panic!("{then}: {}", crate::support::pg_error_text(&e))
                        });
                    }
                    client.batch_execute("COMMIT").unwrap();
                    true
                }
                _ => {
                    client.batch_execute("ROLLBACK").unwrap();
                    false
                }
            }
        })
    };
    let outcome = if !applied {
        Outcome::NotApplicable
    } else {
        let out = run(&copy, s.scripts.path(), "verify.sql", &[]);
        let text = stderr(&out);
        let named = text
            .lines()
            .any(|l| l.contains("FAIL") && c.names.iter().any(|n| l.contains(n.as_str())));
        if !out.status.success() && named {
            Outcome::Named
        } else {
            let fails: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("FAIL") || l.contains("ERROR"))
                .collect();
            Outcome::Missed(if out.status.success() {
                "verify passed".into()
            } else {
                fails.join(" | ")
            })
        }
    };
    copy.drop_db();
    outcome
}

/// In place (no steps: V1's tables become V2's): every column of every table with a backup
/// in `_pgmig` (its key and the originals of its converted columns), a deleted and an extra
/// row, and the backup's values and rows.
fn in_place_catalogue(s: &Subject) -> Vec<Corruption> {
    let db = &s.template;
    let backups: Vec<(String, String)> = db
        .client()
        .query(
            "SELECT c.relname::text, quote_ident(c.relname) FROM pg_class AS c
             WHERE c.relnamespace = '_pgmig'::regnamespace AND c.relkind = 'r' AND starts_with(c.relname, $1)
             ORDER BY 1",
            &[&format!("backup_{}_", s.model)],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out = Vec::new();
    for (backup_name, backup_ident) in backups {
        let name = backup_name[format!("backup_{}_", s.model).len()..].to_string();
        let table = QualName::new(&s.target_schema, &name).to_string();
        let backup = format!("_pgmig.{backup_ident}");
        let key: Vec<String> = db
            .client()
            .query(
                "SELECT quote_ident(a.attname) FROM pg_index AS i JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY a.attnum",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        // The backup's `batch` is migrate's own progress, not an original value.
        let converted: Vec<String> = columns_of(db, &backup)
            .into_iter()
            .map(|(c, _, _)| c)
            .filter(|c| !key.contains(c) && c != "batch")
            .collect();
        let on: Vec<String> = key
            .iter()
            .map(|k| format!("x.{k}::text = b.{k}::text"))
            .collect();
        let order: Vec<String> = key.iter().map(|k| format!("x.{k}")).collect();
        let row = format!(
            "(SELECT x.ctid FROM {table} AS x JOIN {backup} AS b ON {} ORDER BY {} LIMIT 1)",
            on.join(" AND "),
            order.join(", ")
        );
        let backup_row = format!(
            "(SELECT x.ctid FROM {backup} AS x ORDER BY {} LIMIT 1)",
            order.join(", ")
        );
        let names = vec![name.clone()];
        for (c, ty, cat) in columns_of(db, &table) {
            out.push(Corruption {
                kind: Kind::ChangedValue,
                what: format!("{table}.{c}"),
                candidates: value_changes(&table, &row, &c, &ty, &cat),
                names: names.clone(),
                undetectable: (!converted.contains(&c) && !key.contains(&c))
                    .then_some(IN_PLACE_UNTOUCHED),
                then: Vec::new(),
            });
        }
        out.push(Corruption {
            kind: Kind::DeletedRow,
            what: table.clone(),
            candidates: vec![format!("DELETE FROM {table} AS t WHERE t.ctid = {row}")],
            names: names.clone(),
            undetectable: None,
            then: Vec::new(),
        });
        // No extra row: in place, every row is the application's; one inserted since migrate is not migrate's to account for.
        for (c, ty, cat) in columns_of(db, &backup)
            .into_iter()
            .filter(|(c, _, _)| converted.contains(c))
        {
            out.push(Corruption {
                kind: Kind::BackupValue,
                what: format!("{backup}.{c}"),
                candidates: value_changes(&backup, &backup_row, &c, &ty, &cat),
                names: names.clone(),
                undetectable: None,
                then: Vec::new(),
            });
        }
        out.push(Corruption {
            kind: Kind::BackupRow,
            what: backup.clone(),
            candidates: vec![format!(
                "DELETE FROM {backup} AS t WHERE t.ctid = {backup_row}"
            )],
            names,
            undetectable: None,
            then: Vec::new(),
        });
    }
    out
}

/// Runs the catalogue `catalogue` makes of `s`, prints its score per kind, and fails on any
/// miss the harness does not list as not detectable (or on a listed one that verify now catches).
fn score(s: Subject, catalogue: fn(&Subject) -> Vec<Corruption>) {
    let started = std::time::Instant::now();
    let catalogue = catalogue(&s);
    let mut per_kind: BTreeMap<Kind, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut surprises = Vec::new();
    for c in &catalogue {
        let e = per_kind.entry(c.kind).or_default();
        match (try_corruption(&s, c), c.undetectable) {
            (Outcome::NotApplicable, _) => e.3 += 1,
            (Outcome::Named, None) => e.0 += 1,
            (Outcome::Named, Some(why)) => surprises.push(format!(
                "{:?} {}: named, but listed as not detectable ({why})",
                c.kind, c.what
            )),
            (Outcome::Missed(_), Some(_)) => e.2 += 1,
            (Outcome::Missed(how), None) => {
                e.1 += 1;
                surprises.push(format!("{:?} {}: missed ({how})", c.kind, c.what));
            }
        }
    }
    let mut report = format!(
        "mutation score, {} ({} corruptions, {:.1} s):\n",
        s.label,
        catalogue.len(),
        started.elapsed().as_secs_f64()
    );
    for (kind, (named, missed, undetectable, not_applicable)) in &per_kind {
        report.push_str(&format!(
            "  {:<18} {:>3}/{:<3} named  {:>2} not detectable  {:>2} not applicable (nothing there, or V2's constraints refuse it)\n",
            format!("{kind:?}"),
            named,
            named + missed,
            undetectable,
            not_applicable
        ));
    }
    println!("{report}");
    assert!(surprises.is_empty(), "{report}\n{}", surprises.join("\n"));
    s.template.drop_db();
}

#[test]
fn verify_names_every_corruption_of_workout() {
    let db = crate::support::workout::workout_db("mut_workout");
    score(
        subject("workout", "workout", db, |m| m.to_string()),
        catalogue,
    );
}

#[test]
fn verify_names_every_corruption_of_workout_batched() {
    let db = crate::support::workout::workout_db("mut_workout_batched");
    score(
        subject("workout batched", "workout", db, |m| {
            m.replacen(
                "\nname: workout\n",
                "\nname: workout\nmode: { batched: { size: 5 } }\n",
                1,
            )
        }),
        catalogue,
    );
}

#[test]
fn verify_names_every_corruption_of_workout_per_entity() {
    let db = crate::support::workout::workout_db("mut_workout_entity");
    score(
        subject("workout per entity", "workout", db, |m| {
            m.replacen(
                "\nname: workout\n",
                "\nname: workout\nmode: { per_entity: { root: workout_plans, size: 5 } }\n",
                1,
            )
        }),
        catalogue,
    );
}

#[test]
fn verify_names_every_corruption_of_school() {
    let db = crate::support::school::school_db("mut_school", 1);
    score(
        subject("school", "school", db, |m| m.to_string()),
        catalogue,
    );
}

#[test]
fn verify_names_every_corruption_of_drills() {
    let db = crate::support::drills::drills_db("mut_drills", 1);
    score(
        subject("drills", "drills", db, |m| m.to_string()),
        catalogue,
    );
}

#[test]
fn verify_names_every_corruption_of_uuid_in_place() {
    let db = crate::support::uuid::uuid_db("mut_uuid", false);
    score(
        subject("uuid in place", "uuid", db, |m| m.to_string()),
        in_place_catalogue,
    );
}

#[test]
fn verify_names_every_corruption_of_thywill() {
    let tmp = tempfile::tempdir().unwrap();
    let db = crate::support::thywill::thywill_db("mut_thywill", tmp.path());
    let v1 = pgmig::SchemaInput::Database(db.url());
    score(
        subject_from("thywill", "thywill", &v1, db, |m| m.to_string()),
        catalogue,
    );
}

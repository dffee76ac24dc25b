//! PostgreSQL checks the model: every step's statements are prepared by PostgreSQL itself,
//! inside a transaction that is always rolled back, and an error comes back as a diagnostic
//! naming the step, the model line and PostgreSQL's message.
//!
//! pgmig's own checker knows tables, columns and many types; PostgreSQL knows every
//! function, operator and cast. `timestamp + 12` or a `date_add(…)` that does not exist pass
//! the first and would only fail at precheck. Two places can check:
//! - `--check-db URL`, a scratch database the user names: V1's DDL file is loaded into the
//!   schema the scripts read V1 from and V2's into the target schema. Loading a DDL file
//!   executes it, so it only ever happens there, and it is rolled back.
//! - a live V2 (`--v2 URL`) that holds V1's tables too: nothing is loaded, statements are
//!   only prepared, never planned nor run (the id maps are made as empty tables or views, in
//!   the rolled-back transaction).
//!
//! The id maps live in `_pgmig`, as in the scripts, so later steps' `id()` joins resolve.

mod in_place;
mod probes;

use std::collections::BTreeSet;
use std::path::Path;

use crate::catalog::QualName;
use crate::diagnostic::{Diagnostic, Diagnostics, Pos, SourceFile};
use crate::error::CompileError;
use crate::model::{pos_of, Model, Text};
use crate::plan::Plan;
use crate::sql_text::mentions_qualified;

pub use in_place::check_in_place;

/// Where PostgreSQL checks the model.
pub enum CheckDb<'a> {
    /// A scratch database: both DDL files are loaded into it (and rolled back).
    Scratch {
        url: &'a str,
        v1_ddl: &'a Path,
        v2_ddl: &'a Path,
    },
    /// V2's own database, which already holds V1's tables: nothing is loaded.
    LiveV2 { url: &'a str },
}

/// Prepares every statement of `plan`'s steps in `db`. `Ok` with a warning when the live
/// V2 could not be used (V1's tables are not there, or the role may not make `_pgmig`);
/// errors naming the model lines PostgreSQL rejected.
pub fn check(
    plan: &Plan,
    model: &Model,
    source: &SourceFile,
    db: CheckDb,
) -> Result<Diagnostics, CompileError> {
    let (url, which) = match &db {
        CheckDb::Scratch { url, .. } => (*url, "--check-db"),
        CheckDb::LiveV2 { url } => (*url, "V2"),
    };
    rolled_back(url, which, |tx| run(tx, plan, model, &db)).map_err(|e| e.into_compile(source))
}

/// Connects to `url` and runs `work` in a transaction that is rolled back whatever happened:
/// nothing stays, neither the DDL loaded nor the id maps nor the `_pgmig` schema.
fn rolled_back<T>(
    url: &str,
    which: &str,
    work: impl FnOnce(&mut postgres::Transaction) -> Result<T, CheckError>,
) -> Result<T, CheckError> {
    let config = crate::run::parse_conninfo(url)
        .map_err(|e| CheckError::Input(format!("{which}: invalid connection string: {e}")))?;
    let mut client = config
        .connect(postgres::NoTls)
        .map_err(|e| CheckError::Database(format!("{which}: {e}")))?;
    let mut tx = client
        .transaction()
        .map_err(|e| CheckError::Database(format!("{which}: {e}")))?;
    let outcome = work(&mut tx);
    tx.rollback()
        .map_err(|e| CheckError::Database(format!("{which}: {e}")))?;
    outcome
}

/// Why a check failed, before it becomes a [`CompileError`].
enum CheckError {
    /// The model's SQL, as PostgreSQL rejected it.
    Model(Diagnostics),
    /// A DDL file could not be loaded, or a connection string is wrong (bad input).
    Input(String),
    /// The database could not be reached or read (a failed run).
    Database(String),
}

impl CheckError {
    fn into_compile(self, source: &SourceFile) -> CompileError {
        match self {
            CheckError::Model(diagnostics) => CompileError::Model {
                diagnostics,
                file: source.clone(),
            },
            CheckError::Input(message) => CompileError::CheckDb(message),
            CheckError::Database(message) => CompileError::Database {
                which: "check",
                message,
            },
        }
    }
}

/// The scripts' session: PostgreSQL's own names first, every other object qualified, and
/// the model's time zone.
fn pin_session(tx: &mut postgres::Transaction, time_zone: &str) -> Result<(), CheckError> {
    tx.batch_execute(&format!(
        "SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL standard_conforming_strings = on; SET LOCAL TIME ZONE {}",
        crate::sql_text::quote_literal(time_zone)
    ))
    .map_err(|e| CheckError::Database(pg_message(&e)))
}

/// Loads each `(which, DDL file, schema)` into the check's transaction, then the scripts'
/// search_path again; a DDL file that ends the transaction is refused.
fn load_all(
    tx: &mut postgres::Transaction,
    ddls: &[(&str, &Path, &str)],
) -> Result<(), CheckError> {
    let pg = |e: postgres::Error| CheckError::Database(pg_message(&e));
    let xid: i64 = tx
        .query_one("SELECT pg_catalog.txid_current()", &[])
        .map_err(pg)?
        .get(0);
    for (which, path, schema) in ddls {
        load(tx, which, path, schema)?;
    }
    let still: i64 = tx
        .query_one("SELECT pg_catalog.txid_current()", &[])
        .map_err(pg)?
        .get(0);
    if still != xid {
        return Err(CheckError::Input(
            "--check-db: a DDL file ended the check's transaction (COMMIT or ROLLBACK in it): what it made after that stays in the check database; remove transaction control from the DDL files".into(),
        ));
    }
    tx.batch_execute("SET LOCAL search_path = pg_catalog, pg_temp")
        .map_err(pg)
}

fn run(
    tx: &mut postgres::Transaction,
    plan: &Plan,
    model: &Model,
    db: &CheckDb,
) -> Result<Diagnostics, CheckError> {
    let pg = |e: postgres::Error| CheckError::Database(pg_message(&e));
    pin_session(tx, &plan.time_zone)?;
    let mut warnings = Diagnostics::default();
    match db {
        CheckDb::Scratch { v1_ddl, v2_ddl, .. } => load_all(
            tx,
            &[
                ("V1", v1_ddl, &plan.read_schema),
                ("V2", v2_ddl, &plan.target_schema),
            ],
        )?,
        CheckDb::LiveV2 { .. } => {
            let tables: Vec<String> = probes::v1_tables(plan)
                .iter()
                .map(|t| t.to_string())
                .collect();
            let missing: Vec<String> = tx
                .query("SELECT t FROM pg_catalog.unnest($1::text[]) AS t WHERE pg_catalog.to_regclass(t) IS NULL ORDER BY t", &[&tables])
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if !missing.is_empty() {
                warnings.push(not_checked(&format!(
                    "V1's tables are not in V2's database ({})",
                    missing.join(", ")
                )));
                return Ok(warnings);
            }
        }
    }
    if let Err(e) = tx.batch_execute("SAVEPOINT bookkeeping; CREATE SCHEMA IF NOT EXISTS _pgmig") {
        if matches!(db, CheckDb::LiveV2 { .. }) {
            tx.batch_execute("ROLLBACK TO SAVEPOINT bookkeeping")
                .map_err(pg)?;
            warnings.push(not_checked(&format!(
                "the id maps can't be made in V2's database: {}",
                pg_message(&e)
            )));
            return Ok(warnings);
        }
        return Err(pg(e));
    }
    if plan.steps.iter().any(|s| s.uses_library) {
        tx.batch_execute(crate::check::library::SQL).map_err(pg)?;
    }
    // Every step is checked, each probe in its own savepoint: one error does not hide the
    // next step's. What a rejected probe would have made (an id map) is missing for the
    // statements that join it, which are left out, not reported as errors of their own.
    let mut errors = Diagnostics::default();
    let mut failed_steps: BTreeSet<String> = BTreeSet::new();
    let mut unmade_maps: Vec<(QualName, String)> = Vec::new();
    let mut unchecked: Vec<(String, String)> = Vec::new();
    for probe in probes::of(plan) {
        if probe.whole && failed_steps.contains(&probe.step) {
            continue;
        }
        if let Some((_, maker)) = unmade_maps
            .iter()
            .find(|(map, _)| mentions_qualified(&probe.sql, &[&map.schema, &map.name]))
        {
            // The step's own statements joining its map: its error is already reported.
            let skipped = (probe.step.clone(), maker.clone());
            if probe.step != *maker && !unchecked.contains(&skipped) {
                unchecked.push(skipped);
            }
            continue;
        }
        if let Some(map) = &probe.defines {
            let exists: bool = tx
                .query_one(
                    "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                    &[&map.to_string()],
                )
                .map_err(pg)?
                .get(0);
            if exists {
                continue;
            }
        }
        tx.batch_execute("SAVEPOINT probe").map_err(pg)?;
        let result = if probe.defines.is_some() {
            tx.batch_execute(&probe.sql)
        } else {
            tx.prepare(&probe.sql).map(|_| ())
        };
        match result {
            Ok(()) => tx.batch_execute("RELEASE SAVEPOINT probe").map_err(pg)?,
            Err(e) if e.as_db_error().is_some() => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT probe")
                    .map_err(pg)?;
                errors.push(rejected(model, &probe, &e));
                failed_steps.insert(probe.step.clone());
                if let Some(map) = &probe.defines {
                    unmade_maps.push((map.clone(), probe.step.clone()));
                }
            }
            Err(e) => return Err(pg(e)),
        }
    }
    for (step, maker) in unchecked {
        errors.push(
            Diagnostic::warning(
                format!("PostgreSQL did not check the statements of step {step} that look up ids of step {maker}: its id map could not be made"),
                None,
            )
            .with_hint(format!("fix step {maker}; compile again to check the rest of {step}")),
        );
    }
    if errors.has_errors() {
        return Err(CheckError::Model(errors));
    }
    Ok(warnings)
}

/// Runs a DDL file with unqualified names landing in `schema` (made if missing).
fn load(
    tx: &mut postgres::Transaction,
    which: &str,
    path: &Path,
    schema: &str,
) -> Result<(), CheckError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CheckError::Input(format!("{}: {e}", path.display())))?;
    let schema = crate::sql_text::quote_ident(schema);
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path = {schema}, pg_catalog"
    ))
    .and_then(|()| tx.batch_execute(&text))
    .map_err(|e| {
        CheckError::Input(format!(
            "--check-db: loading {which}'s DDL ({}) failed: {}",
            path.display(),
            pg_message(&e)
        ))
    })
}

fn not_checked(why: &str) -> Diagnostic {
    Diagnostic::warning(format!("PostgreSQL did not check the model's SQL: {why}"), None)
        .with_hint("compile with --check-db URL, an empty scratch database: pgmig loads both DDL files there, prepares every step's statements and rolls back")
}

/// PostgreSQL's refusal of one probe, at the model value behind it.
fn rejected(model: &Model, probe: &probes::Probe, e: &postgres::Error) -> Diagnostic {
    let db = e.as_db_error().expect("a database error");
    let whose = if probe.what == "assertion" {
        format!("verify assertion {:?}", probe.step)
    } else {
        format!("{} of step {}", probe.what, probe.step)
    };
    let mut message = format!("PostgreSQL rejects {whose}: {}", db.message());
    if let Some(detail) = db.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    let hint = db.hint().map_or_else(
        || "fix the expression: this is what precheck and migrate would fail on".to_string(),
        |h| format!("PostgreSQL: {h}"),
    );
    Diagnostic::error(message, value_at(model, probe.line)).with_hint(hint)
}

/// The model value that starts on `line`: the whole of it is underlined.
fn value_at(model: &Model, line: usize) -> Option<Pos> {
    let mut values: Vec<&Text> = Vec::new();
    for (name, s) in &model.tables {
        values.push(name);
        values.extend(s.filter.iter());
        values.extend(s.reject.iter().map(|r| &r.when));
        values.extend(s.warn.iter().map(|w| &w.when));
        values.extend(s.columns.values());
        if let Some(crate::model::KeyDecl::New { new, by }) = s.key.as_deref() {
            values.push(new);
            values.extend(by.iter());
        }
    }
    values.extend(model.verify.iter().map(|a| &a.zero_rows));
    values
        .into_iter()
        .filter_map(pos_of)
        .find(|p| p.line == line)
}

fn pg_message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

//! The compiler's one entry point: model file + two schemas → plan → scripts.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics, Pos, SourceFile};
use crate::emit::{self, Scripts};
use crate::error::CompileError;
use crate::plan::Plan;
use crate::source::{connect, database_error, load_schema, one_database, SchemaInput, SchemaNotes};
use crate::{check, model, stats};

/// The result of a successful compile.
#[derive(Debug)]
pub struct Compiled {
    pub plan: Plan,
    pub scripts: Scripts,
    pub warnings: Diagnostics,
    pub source: SourceFile,
    /// What each schema reader passed over or could not read (V1, V2).
    pub schemas: [SchemaNotes; 2],
}

/// Which part of a model to compile: every step and row by default.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--entities`: step names or V1 tables (the steps reading them first).
    pub entities: Vec<String>,
    /// `--only`: a condition on one V1 table's columns, selecting the root rows.
    pub only: Option<String>,
}

/// Why `--check-db` can't be used with a schema read from a database, and what to do: a
/// database's schema is not loaded into the scratch database (its owners, extensions and
/// grants are another server's), and a live V2 holding V1 is checked where it is.
fn check_db_needs_files(plan: &crate::plan::Plan, v2: &SchemaInput) -> String {
    let dump = "dump a database's schema with `pg_dump --schema-only --no-owner --no-privileges --schema=NAME` and give that file";
    match v2 {
        SchemaInput::Database(_) if plan.source_server.is_none() => format!(
            "--check-db loads V1 and V2 from DDL files into the scratch database, but --v2 is a database: compile without --check-db and PostgreSQL prepares every step in V2's database itself (in a transaction it rolls back), or {dump}"
        ),
        _ => format!("--check-db loads V1 and V2 from DDL files into the scratch database: give --v1 and --v2 as .sql files; {dump}"),
    }
}

/// Loads, checks and renders a model against its V1 and V2 schemas.
pub fn compile(
    model_path: &Path,
    v1: &SchemaInput,
    v2: &SchemaInput,
) -> Result<Compiled, CompileError> {
    compile_selected(model_path, v1, v2, &Selection::default())
}

/// Like [`compile`], for the part of the model `selection` names.
pub fn compile_selected(
    model_path: &Path,
    v1: &SchemaInput,
    v2: &SchemaInput,
    selection: &Selection,
) -> Result<Compiled, CompileError> {
    compile_checked(model_path, v1, v2, selection, None)
}

/// Like [`compile_selected`]; PostgreSQL prepares every step's statements ([`crate::dbcheck`])
/// in `check_db` (a scratch database both DDL files are loaded into) or, without one, in a
/// live V2 that holds V1's tables.
pub fn compile_checked(
    model_path: &Path,
    v1: &SchemaInput,
    v2: &SchemaInput,
    selection: &Selection,
    check_db: Option<&str>,
) -> Result<Compiled, CompileError> {
    let entities = &selection.entities;
    let bytes = std::fs::read(model_path).map_err(|e| CompileError::Io {
        path: model_path.display().to_string(),
        message: e.to_string(),
    })?;
    // The file name alone: the scripts name it in comments and must not depend on the cwd.
    let name = model_path.file_name().map_or_else(
        || model_path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let text = model::model_text(&bytes).map_err(|(d, shown)| CompileError::Model {
        diagnostics: Diagnostics(vec![d]),
        file: SourceFile {
            name: name.clone(),
            text: shown,
        },
    })?;
    let source = SourceFile { name, text };
    if crate::inplace::is_in_place(&source.text) {
        if !entities.is_empty() || selection.only.is_some() {
            return Err(CompileError::Selection(
                "an in-place model has no steps or root rows to choose from".into(),
            ));
        }
        one_database(v1, v2)?;
        return crate::inplace::compile(source, v1, v2, check_db).map(with_lock_table);
    }
    let model = model::load(&source.text).map_err(|d| CompileError::Model {
        diagnostics: Diagnostics(d),
        file: source.clone(),
    })?;
    if model.source_server().is_none() {
        one_database(v1, v2)?;
    }
    // The two schemas are independent: read them side by side.
    let (v1_loaded, v2_loaded) = std::thread::scope(|scope| {
        let v2_loading = scope.spawn(|| load_schema("V2", v2, model.target_schema()));
        let v1_loaded = load_schema("V1", v1, model.source_schema());
        (
            v1_loaded,
            v2_loading
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    let (v1_catalog, v1_notes) = v1_loaded?;
    let (v2_catalog, v2_notes) = v2_loaded?;
    let (plan, mut warnings) =
        check::check(&model, &source, &v1_catalog, &v2_catalog).map_err(|diagnostics| {
            CompileError::Model {
                diagnostics,
                file: source.clone(),
            }
        })?;
    // The whole model (a subset's steps join the id maps of the steps it leaves out).
    let checked_in = match (check_db, v1, v2) {
        (Some(url), SchemaInput::Ddl(v1_ddl), SchemaInput::Ddl(v2_ddl)) => {
            Some(crate::dbcheck::CheckDb::Scratch {
                url,
                v1_ddl,
                v2_ddl,
            })
        }
        (Some(_), _, _) => return Err(CompileError::CheckDb(check_db_needs_files(&plan, v2))),
        (None, _, SchemaInput::Database(url)) if plan.source_server.is_none() => {
            Some(crate::dbcheck::CheckDb::LiveV2 { url })
        }
        (None, _, _) => None,
    };
    if let Some(db) = checked_in {
        warnings
            .0
            .extend(crate::dbcheck::check(&plan, &model, &source, db)?.0);
    }
    let fingerprint =
        emit::fingerprint_of(&plan).map_err(|e| CompileError::Render(e.to_string()))?;
    let mut plan = check::subset::select(plan, entities).map_err(CompileError::Selection)?;
    if let Some(condition) = &selection.only {
        plan =
            check::only::restrict(plan, condition, &v1_catalog).map_err(CompileError::Selection)?;
    }
    if let SchemaInput::Database(url) = v1 {
        let mut client = connect("V1", url)?;
        let sizes = stats::table_sizes(&mut client, &plan.source_schema)
            .map_err(|e| database_error("V1", e))?;
        stats::annotate(&mut plan, &sizes);
        for (step, line, rows) in stats::empty_filters(&mut client, &plan) {
            let at = source
                .text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.find("where:"))
                .map(|c| Pos {
                    line,
                    column: c + 1,
                    len: 6,
                });
            warnings.push(
                Diagnostic::warning(format!("the `where` of step {step} keeps no row of ~{rows}, by V1's statistics"), at)
                    .with_hint("check the condition; if V1 was never analyzed, run ANALYZE on it for a better estimate"),
            );
        }
    }
    let scripts =
        emit::render(&plan, &fingerprint).map_err(|e| CompileError::Render(e.to_string()))?;
    if let Some(d) = emit::guard::uncarried_control_character(&scripts)
        .or_else(|| emit::guard::foreign_meta_command(&scripts))
    {
        return Err(CompileError::Model {
            diagnostics: Diagnostics(vec![d]),
            file: source,
        });
    }
    Ok(with_lock_table(Compiled {
        plan,
        scripts,
        warnings,
        source,
        schemas: [v1_notes, v2_notes],
    }))
}

/// Appends to PLAN.md the lock each statement of migrate.sql takes, read back from the
/// rendered script by the linter: what the DBA will run is what the table describes.
fn with_lock_table(mut compiled: Compiled) -> Compiled {
    let migrate = compiled
        .scripts
        .files
        .iter()
        .find(|(n, _)| *n == "migrate.sql")
        .map(|(_, t)| t.clone());
    if let (Some(migrate), Some((_, plan))) = (
        migrate,
        compiled
            .scripts
            .files
            .iter_mut()
            .find(|(n, _)| *n == "PLAN.md"),
    ) {
        let mut rows = crate::lint::lock_table(&migrate);
        // The scripts' own checks read the system catalogs (ACCESS SHARE): that blocks no
        // application, and listing it would bury the locks that do.
        rows.retain(|r| !r.table.starts_with("pg_catalog."));
        plan.push_str("\n## Locks, statement by statement (migrate.sql)\n\n");
        plan.push_str("Read from the generated script by `pgmig lint --locks`; `(new)` marks a table the script made.\n\n");
        plan.push_str(&crate::lint::locks_markdown(&rows));
    }
    compiled
}

/// Writes the scripts into `dir` (created if missing).
pub fn write(scripts: &Scripts, dir: &Path) -> Result<(), CompileError> {
    let io = |e: std::io::Error| CompileError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    for (name, text) in &scripts.files {
        std::fs::write(dir.join(name), text).map_err(io)?;
    }
    Ok(())
}

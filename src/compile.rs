//! The driver: it chains the named passes of the crate's documentation, each a function from
//! one form to the next, and does nothing else.
//!
//! ```text
//! read_model  model file                          -> SourceFile
//! load        SourceFile + 2 SchemaInputs         -> Model + Schemas (both catalogs)
//! check       Model + Schemas                     -> Plan + warnings (PostgreSQL too, when asked)
//! select      Plan + Selection                    -> Plan (the steps and rows chosen)
//! annotate    Plan + live V1                      -> Plan with V1's sizes, window + warnings
//! emit        Plan + fingerprint                  -> Scripts
//! ```
//!
//! An in-place model branches after `read_model`: `load`, then [`crate::inplace::compile`]
//! in place of check → emit.

use std::path::Path;

use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, Diagnostics, Pos, SourceFile};
use crate::emit::{self, Scripts};
use crate::error::CompileError;
use crate::inplace::{self, InPlaceModel};
use crate::model::Model;
use crate::plan::Plan;
use crate::source::{connect, database_error, load_schema, one_database, SchemaInput, SchemaNotes};
use crate::{check, estimate, model, stats};

/// The result of a successful compile.
#[derive(Debug)]
pub struct Compiled {
    /// The checked plan; an in-place model has none (its scripts are derived from the catalogs).
    pub plan: Option<Plan>,
    /// The model's `name`.
    pub name: String,
    pub scripts: Scripts,
    pub warnings: Diagnostics,
    pub source: SourceFile,
    /// What each schema reader passed over or could not read (V1, V2).
    pub schemas: [SchemaNotes; 2],
}

/// The two catalogs a model is compiled against, and what their readers said.
#[derive(Debug)]
pub struct Schemas {
    pub v1: Catalog,
    pub v2: Catalog,
    /// V1's, then V2's.
    pub notes: [SchemaNotes; 2],
}

/// Which part of a model to compile: every step and row by default.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--entities`: step names or V1 tables (the steps reading them first).
    pub entities: Vec<String>,
    /// `--only`: a condition on one V1 table's columns, selecting the root rows.
    pub only: Option<String>,
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
    let source = read_model(model_path)?;
    if inplace::is_in_place(&source.text) {
        return compile_in_place(source, v1, v2, selection, check_db);
    }
    let model = model::load(&source.text).map_err(|d| model_error(Diagnostics(d), &source))?;
    let schemas = load(
        v1,
        v2,
        [model.source_schema(), model.target_schema()],
        model.source_server().is_none(),
    )?;
    let (plan, mut warnings) = check(&model, &source, &schemas, v1, v2, check_db)?;
    // Of the whole model: a subset's scripts verify and roll back with the whole's.
    let fingerprint =
        emit::fingerprint_of(&plan).map_err(|e| CompileError::Render(e.to_string()))?;
    let mut plan = select(plan, selection, &schemas.v1)?;
    annotate(&mut plan, v1, &source, &mut warnings)?;
    let scripts = emit(&plan, &fingerprint, &source)?;
    Ok(Compiled {
        name: plan.model.clone(),
        plan: Some(plan),
        scripts,
        warnings,
        source,
        schemas: schemas.notes,
    })
}

/// The in-place branch: the same load pass, then [`inplace::compile`] from the two catalogs.
fn compile_in_place(
    source: SourceFile,
    v1: &SchemaInput,
    v2: &SchemaInput,
    selection: &Selection,
    check_db: Option<&str>,
) -> Result<Compiled, CompileError> {
    if !selection.entities.is_empty() || selection.only.is_some() {
        return Err(CompileError::Selection(
            "an in-place model has no steps or root rows to choose from".into(),
        ));
    }
    let model: InPlaceModel =
        inplace::load(&source.text).map_err(|d| model_error(Diagnostics(d), &source))?;
    let schema = model.schema();
    let schemas = load(v1, v2, [schema, schema], true)?;
    let v1_ddl = match v1 {
        SchemaInput::Ddl(path) => Some(path.as_path()),
        _ => None,
    };
    let sizes = match v1 {
        SchemaInput::Database(url) => Some(
            stats::table_sizes(&mut connect("V1", url)?, schema)
                .map_err(|e| database_error("V1", e))?,
        ),
        _ => None,
    };
    let output = inplace::compile(
        &model,
        &source,
        &schemas.v1,
        &schemas.v2,
        check_db.map(|url| (url, v1_ddl)),
        sizes,
    )?;
    let scripts = output.scripts;
    if let Some(d) = emit::guard::foreign_meta_command(&scripts)
        .or_else(|| emit::guard::unguarded_statement(&scripts))
    {
        return Err(model_error(Diagnostics(vec![d]), &source));
    }
    Ok(Compiled {
        plan: None,
        name: model.name.as_str().to_string(),
        scripts,
        warnings: output.warnings,
        source,
        schemas: schemas.notes,
    })
}

/// The model file's text, named by its file name alone: the scripts name it in comments and
/// must not depend on the cwd.
fn read_model(model_path: &Path) -> Result<SourceFile, CompileError> {
    let bytes = std::fs::read(model_path).map_err(|e| CompileError::Io {
        path: model_path.display().to_string(),
        message: e.to_string(),
    })?;
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
    Ok(SourceFile { name, text })
}

/// The load pass: both catalogs, unqualified DDL names in `default_schemas` (V1's, V2's).
/// `one_database`: the scripts read V1 in the database they migrate, so two connection
/// strings must name that one database.
fn load(
    v1: &SchemaInput,
    v2: &SchemaInput,
    default_schemas: [&str; 2],
    one_database_only: bool,
) -> Result<Schemas, CompileError> {
    if one_database_only {
        one_database(v1, v2)?;
    }
    // The two schemas are independent: read them side by side.
    let (v1_loaded, v2_loaded) = std::thread::scope(|scope| {
        let v2_loading = scope.spawn(|| load_schema("V2", v2, default_schemas[1]));
        let v1_loaded = load_schema("V1", v1, default_schemas[0]);
        (
            v1_loaded,
            v2_loading
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    let (v1, v1_notes) = v1_loaded?;
    let (v2, v2_notes) = v2_loaded?;
    Ok(Schemas {
        v1,
        v2,
        notes: [v1_notes, v2_notes],
    })
}

/// The check pass: the model resolved against both catalogs into a plan; then, when asked
/// or when V2 is live, PostgreSQL prepares the whole model's statements (a subset's steps
/// join the id maps of the steps it leaves out).
fn check(
    model: &Model,
    source: &SourceFile,
    schemas: &Schemas,
    v1: &SchemaInput,
    v2: &SchemaInput,
    check_db: Option<&str>,
) -> Result<(Plan, Diagnostics), CompileError> {
    let (plan, mut warnings) = check::check(model, source, &schemas.v1, &schemas.v2)
        .map_err(|diagnostics| model_error(diagnostics, source))?;
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
            .extend(crate::dbcheck::check(&plan, model, source, db)?.0);
    }
    Ok((plan, warnings))
}

/// The select pass: the steps `--entities` names, then the root rows `--only` keeps.
/// Precheck's plan is selected alike.
fn select(mut plan: Plan, selection: &Selection, v1: &Catalog) -> Result<Plan, CompileError> {
    let precheck = plan
        .precheck
        .take()
        .map(|p| select(*p, selection, v1))
        .transpose()?;
    let plan = check::subset::select(plan, &selection.entities).map_err(CompileError::Selection)?;
    let mut plan = match &selection.only {
        Some(condition) => {
            check::only::restrict(plan, condition, v1).map_err(CompileError::Selection)?
        }
        None => plan,
    };
    plan.precheck = precheck.map(Box::new);
    Ok(plan)
}

/// The annotate pass: with V1 live, each step's size by V1's statistics, the window estimate
/// (timed on V1's server: [`estimate`]), and a warning for a `where` that keeps no row.
fn annotate(
    plan: &mut Plan,
    v1: &SchemaInput,
    source: &SourceFile,
    warnings: &mut Diagnostics,
) -> Result<(), CompileError> {
    let SchemaInput::Database(url) = v1 else {
        return Ok(());
    };
    let mut client = connect("V1", url)?;
    let sizes = stats::table_sizes(&mut client, &plan.source_schema)
        .map_err(|e| database_error("V1", e))?;
    stats::annotate(plan, &sizes);
    let measured = estimate::measure(&mut client, plan).map_err(|e| database_error("V1", e))?;
    estimate::annotate(plan, |t| sizes.get(t).map(|s| s.rows), measured);
    for (step, line, rows) in stats::empty_filters(&mut client, plan) {
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
    Ok(())
}

/// The emit pass: the scripts, refused if any text would reach psql otherwise than written,
/// or if a transaction would touch the application before the guard.
fn emit(plan: &Plan, fingerprint: &str, source: &SourceFile) -> Result<Scripts, CompileError> {
    let scripts =
        emit::render(plan, fingerprint).map_err(|e| CompileError::Render(e.to_string()))?;
    if let Some(d) = emit::guard::uncarried_control_character(&scripts)
        .or_else(|| emit::guard::foreign_meta_command(&scripts))
        .or_else(|| emit::guard::unguarded_statement(&scripts))
    {
        return Err(model_error(Diagnostics(vec![d]), source));
    }
    Ok(scripts)
}

fn model_error(diagnostics: Diagnostics, source: &SourceFile) -> CompileError {
    CompileError::Model {
        diagnostics,
        file: source.clone(),
    }
}

/// Why `--check-db` can't be used with a schema read from a database, and what to do: a
/// database's schema is not loaded into the scratch database (its owners, extensions and
/// grants are another server's), and a live V2 holding V1 is checked where it is.
fn check_db_needs_files(plan: &Plan, v2: &SchemaInput) -> String {
    let dump = "dump a database's schema with `pg_dump --schema-only --no-owner --no-privileges --schema=NAME` and give that file";
    match v2 {
        SchemaInput::Database(_) if plan.source_server.is_none() => format!(
            "--check-db loads V1 and V2 from DDL files into the scratch database, but --v2 is a database: compile without --check-db and PostgreSQL prepares every step in V2's database itself (in a transaction it rolls back), or {dump}"
        ),
        _ => format!("--check-db loads V1 and V2 from DDL files into the scratch database: give --v1 and --v2 as .sql files; {dump}"),
    }
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

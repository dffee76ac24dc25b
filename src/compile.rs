//! The compiler's one entry point: model file + two schemas → plan → scripts.

use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog, ReadWarning, Skipped};
use crate::diagnostic::{Diagnostic, Diagnostics, Pos, SourceFile};
use crate::emit::{self, Scripts};
use crate::plan::Plan;
use crate::{check, model, stats};

/// Where a schema comes from: a DDL file or a live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaInput {
    Ddl(PathBuf),
    Database(String),
}

impl SchemaInput {
    /// A `postgres://` URL or a `key=value` conninfo is a database; anything else a file.
    pub fn parse(arg: &str) -> SchemaInput {
        let looks_like_db =
            arg.starts_with("postgres://") || arg.starts_with("postgresql://") || arg.contains('=');
        if looks_like_db && !Path::new(arg).exists() {
            SchemaInput::Database(arg.to_string())
        } else {
            SchemaInput::Ddl(arg.into())
        }
    }
}

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

/// What a schema reader says about its input besides the catalog (nothing for a database).
#[derive(Debug, Clone, Default)]
pub struct SchemaNotes {
    /// The DDL file as given on the command line.
    pub file: String,
    /// Statements passed over on purpose (not about tables), by kind.
    pub skipped: Skipped,
    /// Statements about tables that could not be read: the catalog may lack what they say.
    pub warnings: Vec<ReadWarning>,
}

/// How many unread statements are listed unless all are asked for.
pub const WARNINGS_SHOWN: usize = 3;

impl SchemaNotes {
    /// `warning: 12 statements of v1.sql were not understood (first 3 below; --show-all-warnings
    /// for all)`, then `  v1.sql:LINE: what` for each listed; empty without warnings.
    pub fn render_warnings(&self, show_all: bool) -> String {
        let n = self.warnings.len();
        if n == 0 {
            return String::new();
        }
        let shown = if show_all { n } else { n.min(WARNINGS_SHOWN) };
        let what = if n == 1 { "statement" } else { "statements" };
        let verb = if n == 1 { "was" } else { "were" };
        let more = if shown < n {
            format!(" (first {shown} below; --show-all-warnings for all)")
        } else {
            ":".to_string()
        };
        let mut out = format!(
            "warning: {n} {what} of {} {verb} not understood{more}\n",
            self.file
        );
        for w in &self.warnings[..shown] {
            let line = w.line.map_or(String::new(), |l| format!(":{l}"));
            out.push_str(&format!("  {}{line}: {}\n", self.file, w.message));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("the model has errors")]
    Model {
        diagnostics: Diagnostics,
        file: SourceFile,
    },
    #[error("{which}: {message}")]
    Schema {
        which: &'static str,
        message: String,
    },
    #[error("{which}: can't read the schema from the database: {message}")]
    Database {
        which: &'static str,
        message: String,
    },
    #[error("{0}")]
    Selection(String),
    /// `--v1` and `--v2` name two databases, but the model reads V1 in the one it migrates.
    #[error("{0}")]
    Sources(String),
    /// `--check-db` can't be used as given (a DDL file it can't load, a V1 that is no file).
    #[error("{0}")]
    CheckDb(String),
    #[error("rendering the scripts failed: {0}")]
    Render(String),
}

impl CompileError {
    /// 2 for bad input; 1 when a database could not be reached or read.
    pub fn exit_code(&self) -> i32 {
        match self {
            CompileError::Database { .. } | CompileError::Render(_) => 1,
            _ => 2,
        }
    }
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
    if let Some(d) =
        uncarried_control_character(&scripts).or_else(|| foreign_meta_command(&scripts))
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

/// psql reads a script line by line and drops a carriage return before a line feed: a name
/// holding one (or another ASCII control character but a tab or a line feed) would reach
/// PostgreSQL changed. Literals are written with escapes (`E'…\x0D…'`, `E'…\r…'`); a name
/// (from a schema or the model's SQL) has no such form here, so it is an error naming where
/// it is.
fn uncarried_control_character(scripts: &emit::Scripts) -> Option<Diagnostic> {
    scripts.files.iter().filter(|(name, _)| name.ends_with(".sql")).find_map(|(name, text)| {
        let (n, line) = text.split('\n').enumerate().find(|(_, l)| l.chars().any(|c| c.is_ascii_control() && c != '\t'))?;
        let shown: String = line.chars().map(|c| if c.is_ascii_control() && c != '\t' { '␍' } else { c }).collect();
        Some(
            Diagnostic::error(format!("a name holds a carriage return or another control character: {name}:{} would be `{}`", n + 1, shown.trim()), None)
                .with_hint("rename the object: psql drops a carriage return before a line feed, so the script would name another one; line feeds and tabs in names are fine"),
        )
    })
}

/// The last line of defence against text that escaped its quotes: each script is read as psql
/// reads it, and every meta-command must be one the templates write (`\set`, `\if`, `\elif`,
/// `\else`, `\endif`, `\getenv`, `\echo`, and `\g` to a plain file name). Any other (`\!`,
/// `\o`, `\copy`, …) means a name or value from the model or a schema ended its quotes: it is
/// an error, and nothing is written.
pub(crate) fn foreign_meta_command(scripts: &emit::Scripts) -> Option<Diagnostic> {
    scripts.files.iter().filter(|(name, _)| name.ends_with(".sql")).find_map(|(name, text)| {
        let mut scanner = crate::psql::scanner::SqlScanner::new();
        text.split('\n').enumerate().find_map(|(n, line)| {
            let meta = scanner.feed_line(line, n + 1, None).meta?;
            let (command, rest) = crate::run::meta::split_name(&meta);
            let allowed = match command {
                "set" | "if" | "elif" | "else" | "endif" | "getenv" | "echo" => true,
                "g" => rest.trim().strip_prefix('\'').and_then(|f| f.strip_suffix('\'')).is_some_and(|f| crate::run::meta::plain_file_name(f).is_ok()),
                _ => false,
            };
            (!allowed).then(|| {
                Diagnostic::error(format!("{name}:{} would run psql's `\\{command}`: a name or a value from the model or a schema ends its quotes there", n + 1), None)
                    .with_hint("this is a defect of pgmig's quoting: report it with the model; rename the object or rewrite the value meanwhile")
            })
        })
    })
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

fn read(path: &Path) -> Result<String, CompileError> {
    std::fs::read_to_string(path).map_err(|e| CompileError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Reads one schema; unqualified DDL names land in `default_schema`.
pub fn load_schema(
    which: &'static str,
    input: &SchemaInput,
    default_schema: &str,
) -> Result<(Catalog, SchemaNotes), CompileError> {
    if let Some(read) = crate::stage::schema_input(which, input, default_schema) {
        return read.map(|catalog| (catalog, SchemaNotes::default()));
    }
    match input {
        SchemaInput::Ddl(path) => {
            let text = read(path)?;
            let load = catalog::from_ddl(&text, default_schema).map_err(|message| {
                CompileError::Schema {
                    which,
                    message: format!("{}: {message}", path.display()),
                }
            })?;
            let notes = SchemaNotes {
                file: path.display().to_string(),
                skipped: load.skipped,
                warnings: load.warnings,
            };
            Ok((load.catalog, notes))
        }
        SchemaInput::Database(url) => {
            let mut client = connect(which, url)?;
            let catalog =
                catalog::from_database(&mut client, &[]).map_err(|e| database_error(which, e))?;
            Ok((catalog, SchemaNotes::default()))
        }
    }
}

/// The scripts run in one database and, without `source: {server: …}`, read V1 there: a V1
/// and a V2 given as two different databases would be compiled as if they were one, and
/// the scripts would read whatever V2's database holds under V1's names. Two connection
/// strings are the same database when the server (its port and start time) and the
/// database (name and oid) are.
fn one_database(v1: &SchemaInput, v2: &SchemaInput) -> Result<(), CompileError> {
    let (SchemaInput::Database(v1_url), SchemaInput::Database(v2_url)) = (v1, v2) else {
        return Ok(());
    };
    if v1_url == v2_url {
        return Ok(());
    }
    // (database, its oid, the server: its start time and port).
    let identity = |which: &'static str,
                    url: &str|
     -> Result<(String, u32, String), CompileError> {
        let row = connect(which, url)?
            .query_one(
                "SELECT pg_catalog.current_database()::text,
                        (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()),
                        pg_catalog.format('%s:%s', pg_catalog.pg_postmaster_start_time(), pg_catalog.current_setting('port'))",
                &[],
            )
            .map_err(|e| database_error(which, e))?;
        Ok((row.get(0), row.get(1), row.get(2)))
    };
    let v1_identity = identity("V1", v1_url)?;
    let v2_identity = identity("V2", v2_url)?;
    if v1_identity == v2_identity {
        return Ok(());
    }
    let ((v1_name, _, v1_server), (v2_name, _, v2_server)) = (&v1_identity, &v2_identity);
    let servers = if v1_server == v2_server {
        " on one server"
    } else {
        " on two servers"
    };
    Err(CompileError::Sources(format!(
        "--v1 is database {v1_name} and --v2 is database {v2_name}{servers}, but the model reads V1 in the database it migrates: the scripts would read V2's database as V1\n  help: load V1 into a schema of V2's database (`source: {{schema: v1}}`) and compile against that, or read V1 from its server (`source: {{server: NAME, schema: …}}`)"
    )))
}

pub(crate) fn connect(which: &'static str, url: &str) -> Result<postgres::Client, CompileError> {
    let config = crate::run::parse_conninfo(url).map_err(|e| CompileError::Schema {
        which,
        message: format!("invalid connection string: {e}"),
    })?;
    config
        .connect(postgres::NoTls)
        .map_err(|e| database_error(which, e))
}

pub(crate) fn database_error(which: &'static str, e: postgres::Error) -> CompileError {
    CompileError::Database {
        which,
        message: e.to_string(),
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

//! `pgmig`: the command line. Parses arguments, calls the library, maps errors to exit codes
//! (2: bad input, 1: a failed run).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pgmig::{run, CompileError, SchemaInput};

/// What `--v1` and `--v2` accept, for the help of the commands that read schemas.
macro_rules! schemas_help {
    () => {
        "Schemas (--v1, --v2): a DDL file, a database URL (postgresql://…), a conninfo \
(host=… dbname=…), or sqlite:FILE (V1 only)."
    };
}

#[derive(Parser)]
#[command(
    name = "pgmig",
    version,
    about = "Compile PostgreSQL data migrations from two schemas and a YAML model",
    after_help = concat!(schemas_help!(), "\n\n\
Exit codes: 0 success; 1 a failed run (a script or check failed, a database could not be reached); 2 bad input (model, arguments, files).")
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanFormat {
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a model into precheck.sql, migrate.sql, verify.sql, rollback.sql, export.sql and PLAN.md.
    #[command(after_help = concat!(schemas_help!(), "\n\n\
Exit codes: 0 written; 1 a schema's database could not be reached; 2 bad input (model, DDL,\n\
arguments): every error of the model at once, nothing written."))]
    Compile(CompileArgs),
    /// Run a compiled script (precheck, migrate, verify, rollback, export, cleanup, or a path) under pgmig's lock.
    #[command(after_help = "Script variables (-v NAME=VALUE, as with psql):\n  \
dry_run=1              migrate (transaction mode), rollback: run, report, then roll back\n  \
batch_size=N           batched migrate: keys per committed batch (first run only)\n  \
lock_timeout=5s        how long a statement waits for a lock\n  \
statement_timeout=0    a bound on each statement (0: none)\n  \
work_mem=256MB         memory per sort and hash of migrate's statements\n  \
defer_constraints=on   migrate: an empty target's foreign keys and secondary indexes are\n                         \
re-created, validated, after its insert\n  \
cascade=on             rollback: V2's foreign keys delete (or set to NULL) others' rows that\n                         \
reference migrated rows, instead of refusing\n  \
modified=delete        rollback: delete migrated rows changed since migrate as they are now,\n                         \
instead of refusing\n\n\
Exit codes: 0 success; 1 the script failed (its open transaction is rolled back) or the\n\
database could not be reached; 2 bad input.")]
    Run {
        /// precheck | migrate | verify | rollback | export | cleanup, or the path of a .sql file.
        script: String,
        /// Directory holding the compiled scripts.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The database: URL (postgresql://…) or conninfo (host=… dbname=…).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        db: String,
        /// psql variables, as with psql: -v dry_run=1
        #[arg(short = 'v', long = "set", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// V1's server, for models with `source: {server: …}`: sets v1_host, v1_port,
        /// v1_dbname and v1_user; its password reaches the script only through the environment.
        #[arg(long)]
        v1: Option<String>,
        /// Progress as JSON lines on stdout (step started, batch done, step done, run done/failed).
        #[arg(long)]
        json: bool,
        /// Batched migrate only: N sessions copy each step's batches (each claims the next
        /// batch no other holds and commits it); steps still run one after another.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: Option<u16>,
    },
    /// Write the archives of a migration (CSV: created V2 rows, V1 rows read, rejects) into a
    /// directory, by running the compiled export.sql.
    #[command(
        after_help = "Exit codes: 0 written; 1 export.sql failed or the database could not be reached;\n\
2 bad input (no export.sql in --dir, an unusable --to)."
    )]
    Export {
        /// Directory holding the compiled scripts.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Where the CSV files go (created if missing).
        #[arg(long)]
        to: PathBuf,
        /// The database: URL (postgresql://…) or conninfo (host=… dbname=…).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        db: String,
        /// V1's own text archive directory, copied into the model's `archives:` directory
        /// first (its files are kept; only missing ones are written).
        #[arg(long)]
        v1_archive: Option<PathBuf>,
        /// V1's server, for models with `source: {server: …}` (export.sql reads V1 there), as
        /// with `pgmig run --v1`.
        #[arg(long)]
        v1: Option<String>,
    },
    /// The rows migrations quarantined (`_pgmig.rejects`), as a table or as CSV.
    #[command(
        after_help = "Exit codes: 0 printed (also when the reader stops early, as `| head` does); 1 the\n\
database could not be reached or read."
    )]
    Rejects {
        /// The database: URL (postgresql://…) or conninfo (host=… dbname=…).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        db: String,
        /// Only this model's rejects.
        #[arg(long)]
        model: Option<String>,
        /// CSV (RFC 4180, with the whole V1 row as JSON) on stdout.
        #[arg(long)]
        csv: bool,
    },
    /// Show the pgmig log of a database: every step, its counts and state.
    #[command(
        after_help = "Exit codes: 0 printed (also when the reader stops early, as `| head` does); 1 the\n\
database could not be reached or read."
    )]
    Status {
        /// The database: URL (postgresql://…) or conninfo (host=… dbname=…).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        db: String,
        /// One JSON object on stdout: {"steps": [...], "totals": {...}}.
        #[arg(long)]
        json: bool,
    },
    /// Write a draft model from two schemas: tables and columns matched, TODOs where unsure.
    #[command(after_help = concat!(schemas_help!(), "\n\n\
Exit codes: 0 draft written (TODOs are listed; the draft fails compilation until they are\n\
answered); 1 a schema's database could not be reached; 2 bad input."))]
    Init(InitArgs),
    /// Lint SQL scripts: the lock each statement takes, and the ones that hurt a live database
    /// (rules in README, "Locks and lint").
    #[command(
        after_help = "Exit codes: 0 no error-level finding (warnings allowed); 1 an error-level finding;\n\
2 a file could not be read."
    )]
    Lint {
        /// The .sql files (psql scripts: meta-commands skipped, DO and procedure bodies read).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the per-statement lock table (Markdown) instead of the findings.
        #[arg(long)]
        locks: bool,
        /// `json`: {"files": [{"file", "findings", "locks", "skipped"}], "errors", "warnings"} on stdout.
        #[arg(long, value_enum)]
        format: Option<PlanFormat>,
    },
    /// Load a SQLite database into a PostgreSQL schema with pgloader (row counts checked).
    #[command(
        after_help = "Exit codes: 0 staged, row counts equal; 1 anything failed (the source, pgloader, the\n\
database, a schema that exists): nothing is left in the database."
    )]
    Stage {
        /// The source: sqlite:FILE
        source: String,
        /// The database: URL (postgresql://…) or conninfo (host=… dbname=…).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        db: String,
        /// The schema to create (must not exist).
        #[arg(long)]
        schema: String,
        /// Stage a file whose indexes miss rows (PRAGMA integrity_check): every row is read by a
        /// full scan and the missed ones are listed in SCHEMA.sqlite_missing_index_entries.
        #[arg(long)]
        full_scan: bool,
    },
}

#[derive(clap::Args)]
struct CompileArgs {
    /// The YAML model.
    model: PathBuf,
    /// V1 schema: a DDL file, a database URL (postgresql://…), a conninfo (host=… dbname=…),
    /// or sqlite:FILE.
    #[arg(long)]
    v1: String,
    /// V2 schema: a DDL file, a database URL (postgresql://…) or a conninfo (host=… dbname=…).
    #[arg(long)]
    v2: String,
    /// Output directory [default: out/<model name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also print the plan: `json` prints it as data on stdout (schema in README).
    #[arg(long, value_enum)]
    format: Option<PlanFormat>,
    /// Only these steps: step names, or V1 tables (every step reading it first), comma-separated.
    /// The scripts refuse to run until the steps they need and leave out are migrated.
    /// [default out: out/<model>.<entity>…]
    #[arg(long, value_delimiter = ',')]
    entities: Vec<String>,
    /// Only the root rows matching this condition on one V1 table, e.g. `users.email = 'a@b.c'`;
    /// the steps hanging off them follow through their own `where`. [default out: out/<model>.only]
    #[arg(long)]
    only: Option<String>,
    /// A scratch database for PostgreSQL to check the model in: both DDL files are loaded
    /// there (they are executed: name no database you care about), every step's statements
    /// prepared, and all of it rolled back. A live --v2 is checked without it.
    #[arg(long, value_name = "URL")]
    check_db: Option<String>,
    /// List every statement of the DDL files the reader did not understand (first 3 otherwise).
    #[arg(long)]
    show_all_warnings: bool,
}

#[derive(clap::Args)]
struct InitArgs {
    /// V1 schema: a DDL file, a database URL (postgresql://…), a conninfo (host=… dbname=…),
    /// or sqlite:FILE.
    #[arg(long)]
    v1: String,
    /// V2 schema: a DDL file, a database URL (postgresql://…) or a conninfo (host=… dbname=…).
    #[arg(long)]
    v2: String,
    /// Where V1's tables are, seen from the target database.
    #[arg(long, default_value = "v1")]
    source_schema: String,
    /// Where V2's tables are.
    #[arg(long, default_value = "public")]
    target_schema: String,
    /// V1 is on another server: the draft reads it through postgres_fdw under this name
    /// (`source: {server: NAME, schema: SOURCE_SCHEMA}`).
    #[arg(long)]
    v1_server: Option<String>,
    /// Write the draft here instead of stdout.
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
    /// List every statement of the DDL files the reader did not understand (first 3 otherwise).
    #[arg(long)]
    show_all_warnings: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Compile(args) => compile(args),
        Command::Run {
            script,
            dir,
            db,
            vars,
            v1,
            json,
            jobs,
        } => run_script(&script, &dir, &db, &vars, v1.as_deref(), json, jobs),
        Command::Status { db, json } => status(&db, json),
        Command::Rejects { db, model, csv } => rejects(&db, model.as_deref(), csv),
        Command::Export {
            dir,
            to,
            db,
            v1_archive,
            v1,
        } => export(&dir, &to, &db, v1_archive.as_deref(), v1.as_deref()),
        Command::Init(args) => init(args),
        Command::Stage {
            source,
            db,
            schema,
            full_scan,
        } => stage(&source, &db, &schema, full_scan),
        Command::Lint {
            files,
            locks,
            format,
        } => lint(&files, locks, format),
    };
    ExitCode::from(code as u8)
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A default output folder's name from the model's name and step names (which can be any
/// table name): one path component, never `..` or hidden.
fn folder_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    safe.trim_start_matches('.').to_string()
}

fn compile(args: CompileArgs) -> i32 {
    let CompileArgs {
        model,
        v1,
        v2,
        out,
        format,
        entities,
        only,
        check_db,
        show_all_warnings,
    } = args;
    let selection = &pgmig::compile::Selection { entities, only };
    let check_db = check_db.as_deref();
    match pgmig::compile::compile_checked(
        &model,
        &SchemaInput::parse(&v1),
        &SchemaInput::parse(&v2),
        selection,
        check_db,
    ) {
        Ok(compiled) if compiled.plan.is_none() && format.is_some() => {
            // An in-place model's scripts come from the catalogs, not from a step plan: there is
            // no plan to print, and printing `null` would read as an empty one.
            eprintln!(
                "error: --format json prints a copy model's step plan; {} is an in-place model (its plan is PLAN.md); nothing was written",
                model.display()
            );
            2
        }
        Ok(compiled) => {
            for notes in &compiled.schemas {
                eprint!("{}", notes.render_warnings(show_all_warnings));
            }
            eprint!("{}", compiled.warnings.render(&compiled.source, color()));
            let only = selection.only.as_ref().map(|_| "only");
            let default = std::iter::once(compiled.name.as_str())
                .chain(selection.entities.iter().map(String::as_str))
                .chain(only)
                .collect::<Vec<_>>()
                .join(".");
            let dir = out.unwrap_or_else(|| PathBuf::from("out").join(folder_name(&default)));
            if let Err(e) = pgmig::compile::write(&compiled.scripts, &dir) {
                eprintln!("error: {e}");
                return e.exit_code();
            }
            for (which, notes) in ["V1", "V2"].iter().zip(&compiled.schemas) {
                if !notes.skipped.is_empty() {
                    let list: Vec<String> = notes
                        .skipped
                        .iter()
                        .map(|(k, n)| format!("{k}: {n}"))
                        .collect();
                    eprintln!(
                        "{which}: statements skipped (not about tables): {}",
                        list.join(", ")
                    );
                }
            }
            let files: Vec<&str> = compiled
                .scripts
                .files
                .iter()
                .map(|(name, _)| *name)
                .collect();
            eprintln!("wrote {} into {}", files.join(", "), dir.display());
            if let Some(PlanFormat::Json) = format {
                match serde_json::to_string_pretty(&compiled.plan) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return 1;
                    }
                }
            }
            0
        }
        Err(CompileError::Model { diagnostics, file }) => {
            eprint!("{}", diagnostics.render(&file, color()));
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// The compiled scripts `pgmig run` knows by name.
const SCRIPTS: [&str; 6] = [
    "precheck", "migrate", "verify", "rollback", "export", "cleanup",
];

fn run_script(
    script: &str,
    dir: &std::path::Path,
    db: &str,
    vars: &[String],
    v1: Option<&str>,
    json: bool,
    jobs: Option<u16>,
) -> i32 {
    let path = if SCRIPTS.contains(&script) {
        dir.join(format!("{script}.sql"))
    } else {
        PathBuf::from(script)
    };
    if !path.exists() && !script.contains(['/', '.']) {
        // A bare word that is no file is a misspelled script name, not a path.
        let nearest = SCRIPTS
            .iter()
            .min_by_key(|s| strsim::damerau_levenshtein(s, script))
            .filter(|s| strsim::damerau_levenshtein(s, script) <= 3);
        let hint = nearest.map_or(String::new(), |s| format!("did you mean `{s}`? "));
        eprintln!(
            "error: `{script}` is not a script: {hint}(one of {}, or the path of a .sql file)",
            SCRIPTS.join(", ")
        );
        return 2;
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    };
    let mut variables = BTreeMap::new();
    for v in vars {
        match v.split_once('=') {
            Some((k, val)) => variables.insert(k.to_string(), val.to_string()),
            None => variables.insert(v.to_string(), String::new()),
        };
    }
    if let Some(url) = v1 {
        match v1_variables(url) {
            Ok(v1_vars) => variables.extend(v1_vars),
            Err(e) => {
                eprintln!("error: --v1: {e}");
                return 2;
            }
        }
    }
    // fdw_setup.sql's test for V1's server: without it the script stops at its first line
    // with a psql variable named, where the runner's own flag is the answer.
    if text.contains(r"\if :{?v1_host}") && !variables.contains_key("v1_host") {
        eprintln!(
            "error: {}: the model reads V1 on another server (source: {{server: …}}): give V1's database with --v1 URL (postgresql://HOST:PORT/DBNAME?user=USER, or host=… dbname=…; its password only through PGMIG_V1_PASSWORD)",
            path.display()
        );
        return 2;
    }
    let name = path
        .file_name()
        .map_or(script.to_string(), |n| n.to_string_lossy().into_owned());
    if jobs.is_some() && !run::copies_batches(&text) {
        eprintln!(
            "error: --jobs: {name} copies no batches: --jobs is for the migrate.sql of a batched model \
(mode: {{batched: {{size: N}}}}); transaction, per-entity and in-place scripts run in one session"
        );
        return 2;
    }
    let format = if json {
        run::Format::Json
    } else {
        run::Format::Human
    };
    let result = run::connect_as(db, format).and_then(|mut conn| {
        let jobs = usize::from(jobs.unwrap_or(1));
        run::run_script_with_jobs(&mut conn, &name, &text, &variables, jobs)
    });
    match result {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// The psql variables of a V1 server, from its URL or conninfo. The password goes into the
/// environment variable the scripts' `\getenv` reads, never into a variable or a log.
fn v1_variables(url: &str) -> Result<BTreeMap<String, String>, String> {
    let config = run::parse_conninfo(url).map_err(|e| e.to_string())?;
    let mut vars = BTreeMap::new();
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => return Err("no host".into()),
    };
    vars.insert("v1_host".to_string(), host);
    vars.insert(
        "v1_port".to_string(),
        config
            .get_ports()
            .first()
            .copied()
            .unwrap_or(5432)
            .to_string(),
    );
    vars.insert(
        "v1_dbname".to_string(),
        config.get_dbname().ok_or("no dbname")?.to_string(),
    );
    vars.insert(
        "v1_user".to_string(),
        config.get_user().unwrap_or("postgres").to_string(),
    );
    if let Some(password) = config.get_password() {
        // Single-threaded here, before any connection: no other thread reads the environment.
        std::env::set_var(
            "PGMIG_V1_PASSWORD",
            String::from_utf8_lossy(password).as_ref(),
        );
    }
    Ok(vars)
}

/// export.sql writes into the current directory (psql's `\copy` takes no variables), so
/// the export runs from inside `to`; then the model's text archives are written from their
/// CSVs (see `pgmig::run::archives`).
fn export(
    dir: &std::path::Path,
    to: &std::path::Path,
    db: &str,
    v1_archive: Option<&std::path::Path>,
    v1: Option<&str>,
) -> i32 {
    let script = match std::fs::canonicalize(dir.join("export.sql")) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", dir.join("export.sql").display());
            return 2;
        }
    };
    let v1_archive = match v1_archive.map(std::fs::canonicalize).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: --v1-archive: {e}");
            return 2;
        }
    };
    let text = match std::fs::read_to_string(&script) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", script.display());
            return 2;
        }
    };
    if let Err(e) = std::fs::create_dir_all(to).and_then(|()| std::env::set_current_dir(to)) {
        eprintln!("error: {}: {e}", to.display());
        return 2;
    }
    let code = run_script(
        &script.display().to_string(),
        std::path::Path::new("."),
        db,
        &[],
        v1,
        false,
        None,
    );
    if code != 0 {
        return code;
    }
    match pgmig::run::archives::write_archives(
        &text,
        std::path::Path::new("."),
        v1_archive.as_deref(),
    ) {
        Ok(written) => {
            if written.copied > 0 {
                eprintln!("export: copied {} files of the V1 archive", written.copied);
            }
            for (dir, made, kept) in &written.entries {
                eprintln!(
                    "export: wrote {made} files into {dir}/ ({kept} kept from the V1 archive)"
                );
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn rejects(db: &str, model: Option<&str>, csv: bool) -> i32 {
    let result = run::connect(db)
        .and_then(|mut conn| run::print_rejects(&mut conn, model, csv, &mut std::io::stdout()));
    match result {
        Ok(()) => 0,
        Err(e) if e.is_closed_output() => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn status(db: &str, json: bool) -> i32 {
    let result = run::connect(db).and_then(|mut conn| {
        if json {
            run::print_status_json(&mut conn, &mut std::io::stdout())
        } else {
            run::print_status(&mut conn, &mut std::io::stdout())
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) if e.is_closed_output() => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn init(a: InitArgs) -> i32 {
    // The model's name: the output's directory for `…/NAME/model.yaml`, else the file's stem.
    let name = match &a.out {
        Some(p) if p.file_stem().is_some_and(|s| s == "model") => p
            .canonicalize()
            .ok()
            .or_else(|| std::env::current_dir().ok().map(|d| d.join(p)))
            .and_then(|p| Some(p.parent()?.file_name()?.to_string_lossy().into_owned())),
        Some(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()),
        None => None,
    };
    let opts = pgmig::init::Options {
        v1: SchemaInput::parse(&a.v1),
        v2: SchemaInput::parse(&a.v2),
        source_schema: a.source_schema,
        target_schema: a.target_schema,
        source_server: a.v1_server,
        name: name.unwrap_or_else(|| "draft".into()),
    };
    let output = match pgmig::init::init(&opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return e.exit_code();
        }
    };
    for notes in &output.schemas {
        eprint!("{}", notes.render_warnings(a.show_all_warnings));
    }
    match &a.out {
        Some(p) => {
            let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
            if let Err(e) = parent
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(p, &output.yaml))
            {
                eprintln!("error: {}: {e}", p.display());
                return 2;
            }
        }
        None => print!("{}", output.yaml),
    }
    for todo in &output.draft.todos {
        eprintln!("TODO  {todo}");
    }
    let matched = output
        .draft
        .steps
        .iter()
        .filter(|s| s.source.is_some())
        .count();
    eprintln!(
        "init: {} steps ({matched} with a V1 source), {} TODO{}{}",
        output.draft.steps.len(),
        output.draft.todos.len(),
        if output.draft.todos.is_empty() {
            ""
        } else {
            ": the draft fails compilation until they are answered"
        },
        a.out
            .as_ref()
            .map_or(String::new(), |p| format!("; written to {}", p.display())),
    );
    0
}

fn lint(files: &[PathBuf], locks: bool, format: Option<PlanFormat>) -> i32 {
    let mut reports = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(text) => reports.push((f.display().to_string(), pgmig::lint::lint(&text))),
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                return 2;
            }
        }
    }
    let errors: usize = reports
        .iter()
        .map(|(_, r)| r.count(pgmig::lint::Severity::Error))
        .sum();
    let warnings: usize = reports
        .iter()
        .map(|(_, r)| r.count(pgmig::lint::Severity::Warning))
        .sum();
    if let Some(PlanFormat::Json) = format {
        let files: Vec<serde_json::Value> = reports
            .iter()
            .map(|(file, r)| {
                let mut v =
                    serde_json::json!({"file": file, "findings": r.findings, "skipped": r.skipped});
                if locks {
                    v["locks"] = serde_json::json!(r.locks);
                }
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"files": files, "errors": errors, "warnings": warnings})
        );
    } else if locks {
        for (file, r) in &reports {
            if reports.len() > 1 {
                println!("## {file}\n");
            }
            println!("{}", pgmig::lint::locks_markdown(&r.locks));
        }
    } else {
        for (file, r) in &reports {
            print!("{}", r.render(file));
        }
        eprintln!(
            "lint: {} file{}, {errors} error{}, {warnings} warning{}",
            reports.len(),
            if reports.len() == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        );
    }
    i32::from(errors > 0)
}

fn stage(source: &str, db: &str, schema: &str, full_scan: bool) -> i32 {
    let result = pgmig::stage::parse_source(source)
        .and_then(|path| pgmig::stage::stage(&path, db, schema, full_scan));
    match result {
        Ok(staged) => {
            for (table, rows) in &staged.tables {
                eprintln!("staged {table}: {rows} rows");
            }
            for m in &staged.missing {
                eprintln!(
                    "staged {} rowid {} {}: missing from index {}, listed in {}",
                    m.table,
                    m.rowid,
                    m.key,
                    m.index,
                    pgmig::stage::damage::DAMAGE_TABLE
                );
            }
            eprintln!(
                "staged {} tables into schema {}",
                staged.tables.len(),
                staged.schema
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag and argument of every subcommand says what it is for in `--help`.
    #[test]
    fn every_flag_has_a_description() {
        let cli = super::Cli::command();
        let mut undescribed = Vec::new();
        for sub in cli.get_subcommands() {
            if sub.get_about().is_none() {
                undescribed.push(format!("pgmig {}", sub.get_name()));
            }
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && arg.get_help().is_none() {
                    undescribed.push(format!("pgmig {} {id}", sub.get_name()));
                }
            }
        }
        assert!(
            undescribed.is_empty(),
            "without a description: {undescribed:?}"
        );
    }

    /// Every subcommand's help ends with its exit codes.
    #[test]
    fn every_subcommand_says_its_exit_codes() {
        let cli = super::Cli::command();
        let silent: Vec<&str> = cli
            .get_subcommands()
            .filter(|sub| {
                !sub.get_after_help()
                    .is_some_and(|h| h.to_string().contains("Exit codes: 0"))
            })
            .map(|sub| sub.get_name())
            .collect();
        assert!(silent.is_empty(), "no exit codes in: {silent:?}");
    }
}

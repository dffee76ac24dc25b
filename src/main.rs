//! `pgmig`: the command line. Parses arguments, calls the library, maps errors to exit codes
//! (2: bad input, 1: a failed run).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pgmig::{run, CompileError, SchemaInput};

#[derive(Parser)]
#[command(name = "pgmig", version, about = "Compile PostgreSQL data migrations from two schemas and a YAML model")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a model into precheck.sql, migrate.sql, verify.sql, rollback.sql and PLAN.md.
    Compile {
        /// The YAML model.
        model: PathBuf,
        /// V1 schema: a DDL file or a database URL.
        #[arg(long)]
        v1: String,
        /// V2 schema: a DDL file or a database URL.
        #[arg(long)]
        v2: String,
        /// Output directory [default: out/<model name>].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a compiled script (precheck, migrate, verify, rollback, or a path) under pgmig's lock.
    Run {
        /// precheck | migrate | verify | rollback, or the path of a .sql file.
        script: String,
        /// Directory holding the compiled scripts.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Database URL or conninfo.
        #[arg(long, env = "DATABASE_URL")]
        db: String,
        /// psql variables, as with psql: -v dry_run=1
        #[arg(short = 'v', long = "set", value_name = "NAME=VALUE")]
        vars: Vec<String>,
    },
    /// Show the pgmig log of a database: every step, its counts and state.
    Status {
        #[arg(long, env = "DATABASE_URL")]
        db: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Compile { model, v1, v2, out } => compile(model, &v1, &v2, out),
        Command::Run { script, dir, db, vars } => run_script(&script, &dir, &db, &vars),
        Command::Status { db } => status(&db),
    };
    ExitCode::from(code as u8)
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn compile(model: PathBuf, v1: &str, v2: &str, out: Option<PathBuf>) -> i32 {
    match pgmig::compile(&model, &SchemaInput::parse(v1), &SchemaInput::parse(v2)) {
        Ok(compiled) => {
            eprint!("{}", compiled.warnings.render(&compiled.source, color()));
            let dir = out.unwrap_or_else(|| PathBuf::from("out").join(&compiled.plan.model));
            if let Err(e) = pgmig::compile::write(&compiled.scripts, &dir) {
                eprintln!("error: {e}");
                return e.exit_code();
            }
            for (which, skipped) in ["V1", "V2"].iter().zip(&compiled.skipped) {
                if !skipped.is_empty() {
                    let list: Vec<String> = skipped.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                    eprintln!("{which}: statements skipped (not about tables): {}", list.join(", "));
                }
            }
            eprintln!("compiled {} steps into {}", compiled.plan.steps.len(), dir.display());
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

fn run_script(script: &str, dir: &std::path::Path, db: &str, vars: &[String]) -> i32 {
    let path = match script {
        "precheck" | "migrate" | "verify" | "rollback" => dir.join(format!("{script}.sql")),
        other => PathBuf::from(other),
    };
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
    let name = path.file_name().map_or(script.to_string(), |n| n.to_string_lossy().into_owned());
    let result = run::connect(db).and_then(|mut conn| run::run_script(&mut conn, &name, &text, &variables));
    match result {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn status(db: &str) -> i32 {
    let result = run::connect(db).and_then(|mut conn| run::print_status(&mut conn, &mut std::io::stdout()));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

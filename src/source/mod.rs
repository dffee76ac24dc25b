//! Every schema input: a DDL file, a live database (URL or conninfo), a SQLite file; reading
//! a catalog from it and connecting to it.

mod connect;
mod notes;

use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog};
use crate::error::CompileError;

pub(crate) use connect::{connect, database_error, one_database};
pub use notes::{SchemaNotes, WARNINGS_SHOWN};

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

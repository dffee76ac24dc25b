//! Every schema input: a DDL file, a live database (URL or conninfo), a SQLite file; reading
//! a catalog from it and connecting to it. The load pass of `compile` and `pgmig init` read
//! their schemas here, and nothing here knows of a model.

mod connect;
mod notes;

use std::path::{Path, PathBuf};

use crate::catalog::{self, Catalog};
use crate::error::CompileError;

pub(crate) use connect::{connect, database_error, one_database};
pub use notes::{SchemaNotes, WARNINGS_SHOWN};

/// Where a schema comes from: a DDL file, a live database or a SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaInput {
    Ddl(PathBuf),
    Database(String),
    /// `sqlite:FILE`: V1 read as `pgmig stage` would load it (see [`crate::stage`]).
    Sqlite(PathBuf),
}

impl SchemaInput {
    /// A `postgres://` URL or a `key=value` conninfo is a database, `sqlite:FILE` a SQLite
    /// file; anything else, or a file of that very name, a DDL file.
    pub fn parse(arg: &str) -> SchemaInput {
        if Path::new(arg).exists() {
            return SchemaInput::Ddl(arg.into());
        }
        if let Some(path) = crate::stage::sqlite_path(arg) {
            return SchemaInput::Sqlite(path);
        }
        let looks_like_db =
            arg.starts_with("postgres://") || arg.starts_with("postgresql://") || arg.contains('=');
        if looks_like_db {
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
        // A missing or non-SQLite file is bad input (exit 2).
        SchemaInput::Sqlite(path) => {
            let catalog = crate::stage::from_sqlite(path, default_schema)
                .map_err(|message| CompileError::Schema { which, message })?;
            Ok((catalog, SchemaNotes::default()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SchemaInput;

    #[test]
    fn an_argument_names_its_kind_of_input() {
        let missing = "/nonexistent/pgmig";
        assert_eq!(
            SchemaInput::parse(&format!("sqlite:{missing}/v1.db")),
            SchemaInput::Sqlite(format!("{missing}/v1.db").into())
        );
        assert_eq!(
            SchemaInput::parse(&format!("sqlite://{missing}/v1.db")),
            SchemaInput::Sqlite(format!("{missing}/v1.db").into())
        );
        assert_eq!(
            SchemaInput::parse("postgres://u@h/db"),
            SchemaInput::Database("postgres://u@h/db".into())
        );
        assert_eq!(
            SchemaInput::parse("host=h dbname=db"),
            SchemaInput::Database("host=h dbname=db".into())
        );
        assert_eq!(
            SchemaInput::parse(&format!("{missing}/v1.sql")),
            SchemaInput::Ddl(format!("{missing}/v1.sql").into())
        );
    }

    #[test]
    fn an_existing_file_is_ddl_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["sqlite:v1.db", "dbname=x"] {
            let path = dir.path().join(name);
            std::fs::write(&path, "").unwrap();
            let arg = path.to_str().unwrap();
            assert_eq!(SchemaInput::parse(arg), SchemaInput::Ddl(path.clone()));
        }
    }
}

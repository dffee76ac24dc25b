//! The one error of `compile`, whichever pass it comes from.

use crate::diagnostic::{Diagnostics, SourceFile};

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

//! The runner's one error type and its mapping to exit codes.

/// Everything that can stop `pgmig run` or `pgmig status`.
///
/// [`RunError::exit_code`] sorts them: 2 for bad input (the conninfo or the script itself is
/// wrong, nothing was sent to the database), 1 for a run that failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The connection string could not be parsed.
    #[error("invalid connection string: {message}")]
    Conninfo { message: String },

    /// The script is malformed: unknown meta-command, unbalanced `\if`, a non-boolean `\if`
    /// expression, an invalid variable name.
    #[error("{script}:{line}: {message}")]
    Script {
        script: String,
        line: usize,
        message: String,
    },

    /// The server could not be reached or refused the login.
    #[error("could not connect to the database: {message}")]
    Connect { message: String },

    /// Another session holds the pgmig advisory lock.
    #[error("pgmig's lock on this database is held by {holder}; refusing to start (another pgmig run holds it, or a session that took the same advisory lock key: any role that can connect may take one)")]
    LockHeld { holder: String },

    /// Schema `_pgmig` holds what the running role does not own (see `trust`).
    #[error("pgmig will not use schema _pgmig: {found}. Another role's objects there can run its code with your rights: check them, then give them to this role (ALTER ... OWNER TO), name their owner as trusted (pgmig run -v pgmig_owner=ROLE), or DROP SCHEMA _pgmig CASCADE")]
    UntrustedBookkeeping { found: String },

    /// A statement of the script failed.
    #[error("{script}:{line}: {message}\n  statement: {statement}{extra}", extra = render_extra(.details, *.rolled_back))]
    Database {
        script: String,
        /// 1-based line in the script (of the error position when the server gave one,
        /// else of the statement's first line).
        line: usize,
        /// First line of the failing statement.
        statement: String,
        /// `ERROR:  message` as the server sent it.
        message: String,
        /// DETAIL/HINT/CONTEXT lines, each prefixed by its label.
        details: Vec<String>,
        /// True when a transaction was open and the runner rolled it back.
        rolled_back: bool,
    },

    /// A query of the runner itself (lock, log, status) failed.
    #[error("{what}: {message}")]
    Query { what: String, message: String },

    /// Writing the output failed.
    #[error("could not write output: {0}")]
    Io(#[from] std::io::Error),
}

fn render_extra(details: &[String], rolled_back: bool) -> String {
    let mut s = String::new();
    for d in details {
        for (i, l) in d.lines().enumerate() {
            s.push_str(if i == 0 { "\n  " } else { "\n    " });
            s.push_str(l);
        }
    }
    if rolled_back {
        s.push_str("\n  the open transaction was rolled back");
    }
    s
}

impl RunError {
    /// 2 for bad input (conninfo, script syntax), 1 for a failed run.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Conninfo { .. } | RunError::Script { .. } => 2,
            _ => 1,
        }
    }

    /// The reader of the output went away (`pgmig rejects | head`): the output was not
    /// wanted any more, which is no failure.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, RunError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub(crate) fn query(what: &str, e: postgres::Error) -> RunError {
        RunError::Query {
            what: what.to_string(),
            message: describe_pg_error(&e),
        }
    }
}

/// One line for a `postgres::Error`: the server's message when it is a database error,
/// else the client's description (closed connection, I/O…).
pub(crate) fn describe_pg_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}:  {}", db.severity(), db.message()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                let t = inner.to_string();
                if !s.contains(&t) {
                    s.push_str(": ");
                    s.push_str(&t);
                }
                src = inner.source();
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_sort_input_from_run_failures() {
        let script = RunError::Script {
            script: "m.sql".into(),
            line: 3,
            message: "x".into(),
        };
        assert_eq!(script.exit_code(), 2);
        assert_eq!(
            RunError::Conninfo {
                message: "x".into()
            }
            .exit_code(),
            2
        );
        assert_eq!(
            RunError::LockHeld {
                holder: "pid 1".into()
            }
            .exit_code(),
            1
        );
        assert_eq!(
            RunError::Connect {
                message: "x".into()
            }
            .exit_code(),
            1
        );
    }

    #[test]
    fn database_error_names_script_line_statement_and_details() {
        let e = RunError::Database {
            script: "migrate.sql".into(),
            line: 12,
            statement: "DO $$".into(),
            message: "ERROR:  step workout_weeks failed: boom".into(),
            details: vec![
                "DETAIL:  Key (id)=(1) already exists.".into(),
                "CONTEXT:  PL/pgSQL function inline_code_block line 3 at RAISE".into(),
            ],
            rolled_back: true,
        };
        let s = e.to_string();
        assert_eq!(
            s,
            "migrate.sql:12: ERROR:  step workout_weeks failed: boom\n  statement: DO $$\n  DETAIL:  Key (id)=(1) already exists.\n  CONTEXT:  PL/pgSQL function inline_code_block line 3 at RAISE\n  the open transaction was rolled back"
        );
    }
}

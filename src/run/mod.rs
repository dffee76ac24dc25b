//! The runner: executes rendered scripts over the postgres crate.
//!
//! `pgmig run` gives the result `psql -X -v ON_ERROR_STOP=1 -f FILE` would, for the subset
//! of psql the generated scripts use: `\set`, `\unset`, `\if`/`\elif`/`\else`/`\endif`,
//! `\echo`, `\q`, and `:name`, `:'name'`, `:"name"`, `:{?name}` interpolation (see
//! [`crate::psql::scanner`], [`meta`], [`script`]). Runs take a session advisory lock ([`LOCK_KEY`]) so
//! only one pgmig run touches a database at a time.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! let mut conn = pgmig::run::connect("host=/tmp port=5432 dbname=app user=postgres")?;
//! let vars = BTreeMap::from([("dry_run".to_string(), "1".to_string())]);
//! let text = std::fs::read_to_string("out/app/migrate.sql").unwrap();
//! pgmig::run::run_script(&mut conn, "migrate.sql", &text, &vars)?;
//! pgmig::run::print_status(&mut conn, &mut std::io::stdout())?;
//! # Ok::<(), pgmig::run::RunError>(())
//! ```

pub mod archives;
pub mod conn;
pub mod error;
pub mod exec;
pub mod lock;
mod lock_wait;
pub mod meta;
pub mod progress;
pub mod rejects;
pub mod script;
pub mod status;
mod table;
mod trust;
pub mod ui;
pub mod workers;

pub use crate::psql::vars::{parse_assignment, Vars};
pub use conn::{
    connect, connect_as, connect_capturing, connect_capturing_as, parse_conninfo, Connection,
};
pub use error::RunError;
pub use exec::{run_script, run_script_with_jobs, RunSummary};
pub use lock::LOCK_KEY;
pub use rejects::print_rejects;
pub use status::{print_status, print_status_json, status_rows, LogRow, StatusRow, NO_RUN};
pub use ui::{Format, OutputLine};
pub use workers::copies_batches;

//! pgmig: a compiler for PostgreSQL data migrations.
//!
//! The pipeline, one stage per module, each handing the next a named form:
//!
//! ```text
//! model::load   (YAML text)          -> model::Model      spans kept for diagnostics
//! check::check  (Model + 2 Catalogs) -> plan::Plan        names resolved, order decided
//! emit::render  (Plan)               -> emit::Scripts     precheck/migrate/verify/rollback/PLAN.md
//! ```
//!
//! `catalog` reads schemas (DDL or live); `run` executes rendered scripts.

pub mod bench;
pub mod catalog;
pub mod check;
pub mod compile;
pub mod dbcheck;
pub mod diagnostic;
pub mod emit;
pub mod init;
pub mod inplace;
pub mod lint;
pub mod model;
pub mod plan;
pub mod psql;
pub mod run;
pub mod sql_text;
pub mod stage;
pub mod stats;
pub mod step_notice;

#[cfg(test)]
mod fuzz_tests;

pub use compile::{compile, CompileError, Compiled, SchemaInput};

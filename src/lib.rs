//! pgmig: a compiler for PostgreSQL data migrations.
//!
//! `compile` (the driver) chains the passes in the order they run, each a function from one
//! named form to the next:
//!
//! ```text
//! pass       function                        input                           -> output
//! read       compile::read_model             model file                      -> diagnostic::SourceFile
//! load       model::load                     SourceFile (YAML text)          -> model::Model (spans kept)
//!            source::load_schema, twice      source::SchemaInput (DDL file,  -> catalog::Catalog
//!                                            database, sqlite:FILE)             + source::SchemaNotes
//! check      check::check                    Model + 2 Catalogs              -> plan::Plan + warnings
//!            dbcheck::check (when asked)     Plan + a database               -> warnings (PostgreSQL prepares
//!                                                                               every statement)
//! select     check::subset::select,          Plan + --entities / --only      -> plan::Plan (the steps and
//!            check::only::restrict                                              root rows chosen)
//! annotate   stats::annotate                 Plan + a live V1                -> Plan with V1's sizes + warnings
//!            estimate::measure,              Plan + a live V1                -> Plan with each step's window
//!            estimate::annotate                                                 estimate (PLAN.md)
//! emit       emit::render, emit::guard       Plan + fingerprint              -> emit::Scripts (precheck, migrate,
//!                                                                               verify, rollback, export, PLAN.md),
//!                                                                               refused if text escaped its quotes
//!                                                                               or a transaction touches the
//!                                                                               application before the guard
//! ```
//!
//! An in-place model (`in_place: true`) is a peer branch after `load`:
//! `inplace::load` reads its model, `inplace::compile` takes the two catalogs and returns the
//! scripts and warnings. `error::CompileError` is the one error of every pass.
//!
//! Beside the compiler: `run` executes rendered scripts (with `psql`'s scanner and variables),
//! `lint` reads scripts for locks and risky statements, `init` drafts a model from two
//! schemas, `stage` loads a SQLite V1 into PostgreSQL, `sql_text` is the one SQL-text toolkit
//! and `diagnostic` renders errors. The benchmark is a crate of its own (bench/, `pgmig-bench`),
//! outside the product.

pub mod catalog;
pub mod check;
pub mod compile;
pub mod dbcheck;
pub mod diagnostic;
pub mod emit;
pub mod error;
pub mod estimate;
pub mod init;
pub mod inplace;
pub mod lint;
pub mod model;
pub mod plan;
pub mod psql;
pub mod run;
pub mod source;
pub mod sql_text;
pub mod stage;
pub mod stats;
pub mod step_contract;

#[cfg(test)]
mod fuzz_tests;

pub use compile::{compile, Compiled};
pub use error::CompileError;
pub use source::SchemaInput;

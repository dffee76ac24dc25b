//! Integration tests: one binary, one throwaway PostgreSQL cluster shared by all tests.
mod support;
mod runner;
mod catalog;
mod workout;
mod errors;
mod batched;
mod precheck;
mod edge_models;
mod init;
mod bench;
mod thywill;
mod inplace;
mod lint;
mod transforms;
mod entities;

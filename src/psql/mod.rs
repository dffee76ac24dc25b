//! psql's rules for script text, shared by everything that reads SQL as psql would: the
//! runner ([`crate::run`]) executes scripts with them, the linter ([`crate::lint`]) and the
//! compiler's last check read generated scripts with them, and the DDL reader
//! ([`crate::catalog`]) splits schema files with them (pg_dump output holds meta-commands).
//!
//! [`scanner`] finds where statements end and meta-commands start, and interpolates psql
//! variables; [`vars`] holds those variables' names, booleans and quoting.

pub mod scanner;
pub mod vars;

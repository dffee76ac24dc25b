//! The runner: executes rendered scripts over the postgres crate.

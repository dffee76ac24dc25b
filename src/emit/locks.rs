//! PLAN.md's lock table: the lock each statement of migrate.sql takes, read back from the
//! rendered script by the linter, so what the DBA will run is what the table describes.

use askama::Template;

/// The section PLAN.md ends with (templates/PLAN.md includes templates/locks.md); rendered
/// alone for an in-place model's PLAN.md, which the in-place branch renders.
#[derive(Template)]
#[template(path = "locks.md")]
pub struct LockSection {
    /// The linter's Markdown table of migrate.sql's locks.
    pub table: String,
}

impl LockSection {
    pub fn of(migrate: &str) -> LockSection {
        let mut rows = crate::lint::lock_table(migrate);
        // The scripts' own checks read the system catalogs (ACCESS SHARE): that blocks no
        // application, and listing it would bury the locks that do.
        rows.retain(|r| !r.table.starts_with("pg_catalog."));
        LockSection {
            table: crate::lint::locks_markdown(&rows),
        }
    }
}

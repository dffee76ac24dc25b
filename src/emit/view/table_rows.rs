//! A V2 table whose rows the scripts take as the rows migrate wrote, the rows a key or a
//! foreign key of it sees, or the rows a replace backs up: its own rows, not its inheritance
//! children's. A child's rows (`CREATE TABLE members_archive () INHERITS (members)`) are
//! another table's: the application's, or another step's. `FROM members` reads them too,
//! with the parent's columns; `FROM ONLY members` does not, as a PRIMARY KEY, a UNIQUE
//! constraint and a foreign key of `members` see only its own rows. A partitioned table is
//! the other way round: its partitions hold its rows, and `ONLY` would see none of them.
//! Templates print these through the `only` filter (src/emit/filters.rs), the one place that
//! decides.

use std::fmt;

use crate::catalog::QualName;
use crate::plan::Plan;

#[derive(Debug, Clone)]
pub struct TableRows {
    /// The qualified name, as [`QualName`] prints it.
    pub name: String,
    pub partitioned: bool,
}

impl TableRows {
    pub fn of(plan: &Plan, table: &QualName) -> TableRows {
        TableRows {
            name: table.to_string(),
            partitioned: plan.partitioned.contains(table),
        }
    }

    /// Its own rows, after `FROM`, `JOIN`, `DELETE FROM` or `UPDATE`.
    pub fn own_rows(&self) -> String {
        if self.partitioned {
            self.name.clone()
        } else {
            format!("ONLY {}", self.name)
        }
    }
}

/// The name alone: a comment, a literal, `LOCK TABLE`, `INSERT INTO` (which writes no child).
impl fmt::Display for TableRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

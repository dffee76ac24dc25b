//! What a schema reader says about its input besides the catalog.

use crate::catalog::{ReadWarning, Skipped};

/// What a schema reader says about its input besides the catalog (nothing for a database).
#[derive(Debug, Clone, Default)]
pub struct SchemaNotes {
    /// The DDL file as given on the command line.
    pub file: String,
    /// Statements passed over on purpose (not about tables), by kind.
    pub skipped: Skipped,
    /// Statements about tables that could not be read: the catalog may lack what they say.
    pub warnings: Vec<ReadWarning>,
}

/// How many unread statements are listed unless all are asked for.
pub const WARNINGS_SHOWN: usize = 3;

impl SchemaNotes {
    /// `warning: 12 statements of v1.sql were not understood (first 3 below; --show-all-warnings
    /// for all)`, then `  v1.sql:LINE: what` for each listed; empty without warnings.
    pub fn render_warnings(&self, show_all: bool) -> String {
        let n = self.warnings.len();
        if n == 0 {
            return String::new();
        }
        let shown = if show_all { n } else { n.min(WARNINGS_SHOWN) };
        let what = if n == 1 { "statement" } else { "statements" };
        let verb = if n == 1 { "was" } else { "were" };
        let more = if shown < n {
            format!(" (first {shown} below; --show-all-warnings for all)")
        } else {
            ":".to_string()
        };
        let mut out = format!(
            "warning: {n} {what} of {} {verb} not understood{more}\n",
            self.file
        );
        for w in &self.warnings[..shown] {
            let line = w.line.map_or(String::new(), |l| format!(":{l}"));
            out.push_str(&format!("  {}{line}: {}\n", self.file, w.message));
        }
        out
    }
}

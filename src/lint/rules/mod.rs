//! The rules, one per file, each with a stable kebab-case name (what `pgmig lint` prints
//! and `--format json` reports), its reasoning, the safer form, unit tests, and an `ok` and
//! an `err` fixture in `tests/it/fixtures/lint/`.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Statement;

use super::locks::{table_key, Analysis};
use super::script::Stmt;
use super::{LockMode, Severity};

pub mod constraint_without_not_valid;
pub mod foreign_key_without_index;
pub mod index_without_concurrently;
pub mod missing_lock_timeout;
pub mod table_rewrite_under_access_exclusive;

/// What a rule sees of one statement.
pub struct Ctx<'a> {
    pub stmt: &'a Stmt,
    pub ast: &'a Statement,
    pub analysis: &'a Analysis,
    /// `SET lock_timeout` (non-zero) ran before this statement.
    pub lock_timeout: bool,
    pub(crate) new_tables: &'a BTreeSet<String>,
    /// The strongest lock the script's open transaction took on each table before.
    pub(crate) held: &'a BTreeMap<String, LockMode>,
    /// The column lists every index and key of the whole script starts with.
    pub(crate) indexes: &'a foreign_key_without_index::Indexes,
}

impl Ctx<'_> {
    /// The table was created earlier in the script (and not dropped since): empty, and
    /// invisible to other sessions until commit.
    pub fn is_new(&self, table: &str) -> bool {
        self.new_tables.contains(&table_key(table))
    }

    /// The script's open transaction already holds `lock` or a stronger one on the table.
    pub fn holds(&self, table: &str, lock: LockMode) -> bool {
        self.held.get(&table_key(table)).is_some_and(|h| *h >= lock)
    }
}

/// One finding of a rule, before the driver adds where it is.
pub struct Hit {
    pub severity: Severity,
    pub table: Option<String>,
    pub message: String,
    pub safer: String,
}

/// A rule: its name, what it is about, and its check.
pub struct Rule {
    /// Stable kebab-case name.
    pub name: &'static str,
    /// One line: what it flags.
    pub summary: &'static str,
    /// Report only the first finding in a script.
    pub once: bool,
    pub check: fn(&Ctx) -> Vec<Hit>,
}

/// Every rule, in the order findings on one statement are listed.
pub const ALL: &[Rule] = &[
    table_rewrite_under_access_exclusive::RULE,
    constraint_without_not_valid::RULE,
    index_without_concurrently::RULE,
    foreign_key_without_index::RULE,
    missing_lock_timeout::RULE,
];

#[cfg(test)]
pub(crate) fn fired(sql: &str, rule: &str) -> Vec<(usize, Severity)> {
    super::lint(sql)
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.line, f.severity))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_kebab_case_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for r in super::ALL {
            assert!(
                r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                r.name
            );
            assert!(seen.insert(r.name), "duplicate {}", r.name);
        }
        assert_eq!(seen.len(), 5);
    }
}

//! `pgmig lint`: the locks a SQL script takes, and the ones that hurt a live database.
//!
//! A script (psql meta-commands skipped, `DO` and procedure bodies looked into, see
//! [`script`]) is read statement by statement in running order. Each statement gets the
//! table locks PostgreSQL takes for it and whether it rewrites or scans the table under the
//! lock ([`locks`]); then every rule in [`rules::ALL`] looks at it, knowing which tables the
//! script created earlier (a fresh table is empty and invisible to others: nothing on it is
//! flagged) and whether `lock_timeout` was set before.
//!
//! ```
//! let report = pgmig::lint::lint("CREATE INDEX ON orders (customer_id);");
//! assert_eq!(report.findings[0].rule, "index-without-concurrently");
//! assert!(report.has_errors());
//! let rows = pgmig::lint::lock_table("CREATE INDEX ON orders (customer_id);");
//! assert_eq!(rows[0].lock, pgmig::lint::LockMode::Share);
//! ```

pub mod guard_cover;
pub mod locks;
pub mod rules;
pub mod script;

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Statement;

use serde::Serialize;

pub use locks::{Effect, LockMode};

/// How bad a finding is: errors make `pgmig lint` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule's finding on one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable kebab-case name, e.g. `index-without-concurrently`.
    pub rule: &'static str,
    pub severity: Severity,
    /// 1-based script line of the statement's first token.
    pub line: usize,
    /// The block the statement runs in (`DO $step$`, `PROCEDURE name`), if any.
    pub block: Option<String>,
    /// The statement's summary, as in the lock table.
    pub statement: String,
    /// The table concerned.
    pub table: Option<String>,
    /// What happens and why it hurts.
    pub message: String,
    /// The safer form.
    pub safer: String,
}

/// One row of the lock table: a table lock one statement takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockRow {
    /// 1-based script line of the statement's first token.
    pub line: usize,
    /// The block the statement runs in (`DO $step$`, `PROCEDURE name`), if any.
    pub block: Option<String>,
    /// A short summary: `INSERT`, `CREATE INDEX`, `ALTER TABLE … ALTER COLUMN TYPE`…
    pub statement: String,
    /// The lock mode taken on `table`.
    pub lock: LockMode,
    /// The table (as written; unquoted names lowercased).
    pub table: String,
    /// What the statement does to the table while holding the lock.
    pub effect: Effect,
    /// The table was created earlier in this script (or by this statement): nobody else
    /// sees it until commit, so its lock blocks no one.
    pub new_table: bool,
}

/// Everything `lint` found in one script.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// In script order.
    pub findings: Vec<Finding>,
    /// The lock table, in script order (strongest lock first within a statement).
    pub locks: Vec<LockRow>,
    /// Top-level statements sqlparser could not read: (line, first line of text). Their
    /// locks are unknown.
    pub skipped: Vec<(usize, String)>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The findings for a terminal: `FILE:LINE: error[rule]: message` and the safer form.
    pub fn render(&self, file: &str) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let block = f
                .block
                .as_ref()
                .map_or(String::new(), |b| format!(" (in {b})"));
            out.push_str(&format!(
                "{file}:{}: {}[{}]: {}{block}\n",
                f.line,
                f.severity.as_str(),
                f.rule,
                f.message
            ));
            out.push_str(&format!("  safer: {}\n", f.safer));
        }
        for (line, text) in &self.skipped {
            out.push_str(&format!(
                "{file}:{line}: note: not understood, its locks are unknown: {text}\n"
            ));
        }
        out
    }
}

/// Statements sqlparser does not parse that make no reader or writer wait: a comment on a
/// function (sqlparser stops at its argument list) locks only the function; `DROP INDEX
/// CONCURRENTLY` takes SHARE UPDATE EXCLUSIVE on the index's table, which conflicts only with
/// maintenance (VACUUM, ANALYZE, other concurrent index builds) and schema changes.
fn blocks_no_one(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .take(3)
        .map(str::to_uppercase)
        .collect();
    words == ["COMMENT", "ON", "FUNCTION"] || words == ["DROP", "INDEX", "CONCURRENTLY"]
}

/// Lints a script (the text of a `.sql` file psql would run).
pub fn lint(text: &str) -> Report {
    let mut report = Report::default();
    let mut new_tables: BTreeSet<String> = BTreeSet::new();
    // The strongest lock the script's open transaction holds on each table: a statement that
    // asks for a weaker one makes no one wait who was not waiting already.
    let mut in_transaction = false;
    let mut held: BTreeMap<String, LockMode> = BTreeMap::new();
    let mut lock_timeout = false;
    let mut fired_once: BTreeSet<&'static str> = BTreeSet::new();
    let statements = script::statements(text);
    let indexes = rules::foreign_key_without_index::Indexes::of(&statements);
    for stmt in statements {
        let Some(ast) = &stmt.ast else {
            if !stmt.has_body && !stmt.control && !blocks_no_one(&stmt.text) {
                let first = stmt.text.lines().next().unwrap_or("").trim().to_string();
                report.skipped.push((stmt.line, first));
            }
            continue;
        };
        let analysis = locks::analyze(ast, &stmt.text);
        let ctx = rules::Ctx {
            stmt: &stmt,
            ast,
            analysis: &analysis,
            lock_timeout,
            new_tables: &new_tables,
            held: &held,
            indexes: &indexes,
        };
        for rule in rules::ALL {
            if rule.once && fired_once.contains(rule.name) {
                continue;
            }
            let hits = (rule.check)(&ctx);
            for hit in hits
                .into_iter()
                .take(if rule.once { 1 } else { usize::MAX })
            {
                if rule.once {
                    fired_once.insert(rule.name);
                }
                report.findings.push(Finding {
                    rule: rule.name,
                    severity: hit.severity,
                    line: stmt.line,
                    block: stmt.block.clone(),
                    statement: analysis.summary.clone(),
                    table: hit.table,
                    message: hit.message,
                    safer: hit.safer,
                });
            }
        }
        for a in &analysis.accesses {
            let key = locks::table_key(&a.table);
            report.locks.push(LockRow {
                line: stmt.line,
                block: stmt.block.clone(),
                statement: analysis.summary.clone(),
                lock: a.lock,
                table: a.table.clone(),
                effect: a.effect,
                new_table: new_tables.contains(&key)
                    || analysis.creates.iter().any(|c| locks::table_key(c) == key),
            });
        }
        match ast {
            Statement::StartTransaction { .. } if stmt.block.is_none() => in_transaction = true,
            // A COMMIT in a procedure's body ends its transaction too.
            Statement::Commit { .. } | Statement::Rollback { .. } => {
                in_transaction = false;
                held.clear();
            }
            _ => {}
        }
        if in_transaction {
            for a in &analysis.accesses {
                let mode = held.entry(locks::table_key(&a.table)).or_insert(a.lock);
                *mode = (*mode).max(a.lock);
            }
        }
        for t in &analysis.drops {
            new_tables.remove(&locks::table_key(t));
        }
        for t in &analysis.creates {
            new_tables.insert(locks::table_key(t));
        }
        if let Some(on) = analysis.lock_timeout {
            lock_timeout = on;
        }
    }
    report
}

/// The per-statement lock table of a script, for reviewers: one row per table lock a
/// statement takes, in script order. Statements that lock no table (`SET`, `BEGIN`, `DO`
/// itself: its body's statements have their own rows) have none.
pub fn lock_table(text: &str) -> Vec<LockRow> {
    lint(text).locks
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The lock table as Markdown: `| line | statement | lock | table | effect |`.
pub fn locks_markdown(rows: &[LockRow]) -> String {
    let mut out = String::from("| line | statement | lock | table | rewrites / scans |\n| ---: | --- | --- | --- | --- |\n");
    for r in rows {
        let statement = match &r.block {
            Some(b) => format!("{} (in {b})", r.statement),
            None => r.statement.clone(),
        };
        let table = if r.new_table {
            format!("{} (new)", r.table)
        } else {
            r.table.clone()
        };
        let effect = match r.effect {
            Effect::None => "",
            Effect::Rows => "",
            Effect::Scan => "scans",
            Effect::Rewrite => "rewrites",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.line,
            md_cell(&statement),
            r.lock,
            md_cell(&table),
            effect
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_created_earlier_are_new_until_dropped() {
        let sql = "SET lock_timeout = '2s';\nCREATE TABLE m (id int);\nCREATE INDEX ON m (id);\nDROP TABLE m;\nCREATE INDEX ON m (id);\n";
        let r = lint(sql);
        let rules: Vec<(usize, &str)> = r.findings.iter().map(|f| (f.line, f.rule)).collect();
        assert_eq!(rules, vec![(5, "index-without-concurrently")]);
        let news: Vec<(usize, bool)> = r.locks.iter().map(|l| (l.line, l.new_table)).collect();
        assert_eq!(news, vec![(2, true), (3, true), (4, true), (5, false)]);
    }

    #[test]
    fn markdown_lock_table() {
        let md = locks_markdown(&lock_table(
            "BEGIN;\nALTER TABLE t ALTER COLUMN a TYPE bigint;\nINSERT INTO t SELECT * FROM s;\n",
        ));
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "| line | statement | lock | table | rewrites / scans |"
        );
        assert_eq!(
            lines[2],
            "| 2 | ALTER TABLE … ALTER COLUMN TYPE | ACCESS EXCLUSIVE | t | rewrites |"
        );
        assert_eq!(lines[3], "| 3 | INSERT | ROW EXCLUSIVE | t |  |");
        assert_eq!(lines[4], "| 3 | INSERT | ACCESS SHARE | s |  |");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn unreadable_statements_are_listed_not_guessed() {
        let r = lint("SELECT 1;\nFROBNICATE t;\n");
        assert_eq!(r.skipped, vec![(2, "FROBNICATE t;".to_string())]);
        assert!(r.findings.is_empty());
    }

    #[test]
    fn unparsed_statements_that_block_no_one_are_not_listed() {
        let r = lint(
            "DROP INDEX CONCURRENTLY IF EXISTS public.i;\ncomment on function f(int) is 'x';\n",
        );
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);
        assert!(r.findings.is_empty());
    }
}

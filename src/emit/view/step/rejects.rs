//! A step's `where`, `reject:` and `warn:` rules (check/step.rs): the rows each catches, the
//! rows that migrate, and where the rejects table says a rejected row came from.

use super::super::lit;
use crate::plan::Step;

#[derive(Debug, Clone)]
pub struct RejectsView {
    /// The `where` condition, or `true`.
    pub filter: String,
    /// SQL counting the rows `where` filters out (`0` without a `where`).
    pub filtered_count: String,
    pub filter_line: usize,
    /// Rows `where` keeps (rejected ones included): the root's candidate entities.
    pub kept: String,
    /// Rows that are neither filtered nor rejected.
    pub survivors: String,
    /// `reject:` rules, in order.
    pub rules: Vec<RejectView>,
    /// `warn:` rules; `condition` is the rows that migrate and match the rule.
    pub warnings: Vec<RejectView>,
    /// The V1 table of the rejected rows (none when not one table).
    pub source_table: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RejectView {
    pub number: usize,
    pub reason: String,
    /// The reason as the rejects table records it: the reason as a literal, or the model's
    /// SQL for it.
    pub reason_sql: String,
    pub line: usize,
    pub when: String,
    /// Filtered in, not caught by an earlier rule, caught by this one.
    pub condition: String,
}

impl RejectsView {
    /// `sep` joins the conditions: one a line, indented for a DO block body. `not_migrated`
    /// (precheck's) leaves out first the rows an earlier wave migrated: precheck reports on
    /// the rows the next wave would read, and only on them.
    pub(super) fn new(step: &Step, sep: &str, not_migrated: Option<&str>) -> RejectsView {
        // Rows `where` keeps; nothing to say when there is no `where`.
        let kept: Vec<String> = not_migrated
            .map(str::to_string)
            .into_iter()
            .chain(
                step.filter
                    .iter()
                    .map(|f| format!("coalesce(({}), false)", f.sql)),
            )
            .collect();
        let mut rules = Vec::new();
        let mut earlier: Vec<String> = Vec::new();
        for (i, r) in step.rejects.iter().enumerate() {
            let mut parts = kept.clone();
            parts.extend(earlier.iter().map(|e| not_coalesce(e)));
            parts.push(format!("coalesce(({}), false)", r.when.sql));
            rules.push(RejectView {
                number: i + 1,
                reason: r.reason.clone(),
                reason_sql: r.reason_sql.clone().unwrap_or_else(|| lit(&r.reason)),
                line: r.when.line,
                when: r.when.sql.clone(),
                condition: parts.join(sep),
            });
            earlier.push(r.when.sql.clone());
        }
        let mut survivors = kept.clone();
        survivors.extend(step.rejects.iter().map(|r| not_coalesce(&r.when.sql)));
        if survivors.is_empty() {
            survivors.push("true".into());
        }
        let warnings = step
            .warnings
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut parts = survivors.clone();
                parts.push(format!("coalesce(({}), false)", w.when.sql));
                RejectView {
                    number: i + 1,
                    reason: w.reason.clone(),
                    reason_sql: lit(&w.reason),
                    line: w.when.line,
                    when: w.when.sql.clone(),
                    condition: parts.join(sep),
                }
            })
            .collect();
        RejectsView {
            filter: step
                .filter
                .as_ref()
                .map_or("true".to_string(), |f| f.sql.clone()),
            filtered_count: step.filter.as_ref().map_or("0".into(), |f| {
                format!("count(*) FILTER (WHERE NOT coalesce(({}), false))", f.sql)
            }),
            filter_line: step.filter.as_ref().map_or(0, |f| f.line),
            kept: if kept.is_empty() {
                "true".into()
            } else {
                kept.join(sep)
            },
            survivors: survivors.join(sep),
            rules,
            warnings,
            source_table: step.source_table.as_ref().map(|t| t.to_string()),
        }
    }
}

fn not_coalesce(cond: &str) -> String {
    format!("NOT coalesce(({cond}), false)")
}

//! A step's `where`, `reject:` and `warn:` rules (check/step.rs): the rows each catches, the
//! rows that migrate, and where the rejects table says a rejected row came from. The
//! conditions are written by templates/step_rejects.sql.

use askama::Template;

use crate::plan::Step;

#[derive(Debug, Clone)]
pub struct RejectsView {
    /// The `where` condition.
    pub filter: Option<String>,
    pub filter_line: usize,
    /// Between two conditions: one a line, indented for a DO block body.
    pub sep: String,
    /// Rows `where` keeps (rejected ones included): the root's candidate entities.
    pub kept: String,
    /// Rows that are neither filtered nor rejected.
    pub survivors: String,
    /// `reject:` rules, in order.
    pub rules: Vec<RejectView>,
    /// `warn:` rules; `conditions` are the rows that migrate and match the rule.
    pub warnings: Vec<RejectView>,
    /// The V1 table of the rejected rows (none when not one table).
    pub source_table: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RejectView {
    pub number: usize,
    pub reason: String,
    /// The model's SQL for the reason the rejects table records (none: the reason as it is).
    pub reason_sql: Option<String>,
    pub line: usize,
    pub when: String,
    /// Filtered in, not caught by an earlier rule, caught by this one.
    pub conditions: Vec<Condition>,
}

/// One condition of a row (templates/step_rejects.sql writes it).
#[derive(Debug, Clone)]
pub struct Condition {
    pub sql: String,
    /// A model's condition: NULL counts as false.
    pub from_model: bool,
    pub negated: bool,
}

impl Condition {
    /// A test the scripts make themselves, as it is.
    pub(super) fn test(sql: &str) -> Condition {
        Condition {
            sql: sql.to_string(),
            from_model: false,
            negated: false,
        }
    }

    /// The model's condition holds.
    pub(super) fn holds(sql: &str) -> Condition {
        Condition {
            from_model: true,
            ..Condition::test(sql)
        }
    }

    /// The model's condition does not hold (NULL: it does not).
    pub(super) fn fails(sql: &str) -> Condition {
        Condition {
            negated: true,
            ..Condition::holds(sql)
        }
    }
}

/// Conditions as one text, for the views that splice it into SQL they write (hierarchy,
/// replace, sibling duplicates) and for the templates.
#[derive(Template)]
#[template(
    source = r#"{%- import "step_rejects.sql" as rejects -%}{% call rejects::all(conditions, sep) %}{% endcall %}"#,
    ext = "sql"
)]
struct AllOf<'a> {
    conditions: &'a [Condition],
    sep: &'a str,
}

/// `conditions` joined by `sep` (`true` for none). Rendering only splices text (no filter
/// that can fail), so it cannot fail.
pub(super) fn all_of(conditions: &[Condition], sep: &str) -> String {
    AllOf { conditions, sep }.to_string()
}

impl RejectsView {
    /// `sep` joins the conditions: one a line, indented for a DO block body. `not_migrated`
    /// (precheck's) leaves out first the rows an earlier wave migrated: precheck reports on
    /// the rows the next wave would read, and only on them.
    pub(super) fn new(step: &Step, sep: &str, not_migrated: Option<&str>) -> RejectsView {
        // Rows `where` keeps; nothing to say when there is no `where`.
        let kept: Vec<Condition> = not_migrated
            .map(Condition::test)
            .into_iter()
            .chain(step.filter.iter().map(|f| Condition::holds(&f.sql)))
            .collect();
        let mut rules = Vec::new();
        let mut earlier: Vec<Condition> = Vec::new();
        for (i, r) in step.rejects.iter().enumerate() {
            let mut conditions = kept.clone();
            conditions.extend(earlier.iter().cloned());
            conditions.push(Condition::holds(&r.when.sql));
            rules.push(RejectView {
                number: i + 1,
                reason: r.reason.clone(),
                reason_sql: r.reason_sql.clone(),
                line: r.when.line,
                when: r.when.sql.clone(),
                conditions,
            });
            earlier.push(Condition::fails(&r.when.sql));
        }
        let mut survivors = kept.clone();
        survivors.extend(earlier);
        let warnings = step
            .warnings
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut conditions = survivors.clone();
                conditions.push(Condition::holds(&w.when.sql));
                RejectView {
                    number: i + 1,
                    reason: w.reason.clone(),
                    reason_sql: None,
                    line: w.when.line,
                    when: w.when.sql.clone(),
                    conditions,
                }
            })
            .collect();
        RejectsView {
            filter: step.filter.as_ref().map(|f| f.sql.clone()),
            filter_line: step.filter.as_ref().map_or(0, |f| f.line),
            sep: sep.to_string(),
            kept: all_of(&kept, sep),
            survivors: all_of(&survivors, sep),
            rules,
            warnings,
            source_table: step.source_table.as_ref().map(|t| t.to_string()),
        }
    }
}

//! `lossy:` rules: what becomes of a row whose column a lossy library call blanks or cuts
//! (`_pgmig.phone_e164` gives NULL for 'n/a' and drops an extension). Without a rule the row
//! migrates with the value the call gives (PLAN.md says the column is lossy, precheck counts and
//! samples the rows); `on_loss: reject` quarantines it instead (a reject rule after the model's
//! own), `on_loss: keep_raw` with `raw_column:` migrates it and keeps V1's text in that V2 column
//! (NULL where nothing was lost), so verify proves what was kept.
//!
//! Checked here: the action is known, the column is mapped in `columns` and calls a lossy library
//! function there, one rule per column, and the raw column exists in V2, holds text, and is not
//! filled otherwise.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::library::LossyCall;
use super::suggest::did_you_mean;
use super::types;
use crate::catalog::Table;
use crate::diagnostic::{Diagnostic, Pos};
use crate::model::{pos_of, LossRule};

/// What a rule asks for a row that loses part of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnLoss {
    Reject,
    KeepRaw { raw_column: String },
}

/// A checked rule: the column it is about, the action, and where the rule is written.
pub struct LossChoice {
    pub column: String,
    pub on_loss: OnLoss,
    pub line: usize,
    at: Option<Pos>,
}

/// The rules of a step, checked against its V2 table and the columns `columns` maps.
pub fn check(
    rules: &[LossRule],
    table: &Table,
    mapped: &[&str],
    errors: &mut Vec<Diagnostic>,
) -> Vec<LossChoice> {
    let mut out: Vec<LossChoice> = Vec::new();
    for rule in rules {
        let name = rule.column.as_str();
        let at = pos_of(&rule.column);
        let on_loss = match (rule.on_loss.as_str(), &rule.raw_column) {
            ("reject", None) => OnLoss::Reject,
            ("reject", Some(raw)) => {
                errors.push(
                    Diagnostic::error("`raw_column` goes with `on_loss: keep_raw`; a rejected row keeps its V1 text in _pgmig.rejects", pos_of(raw))
                        .with_hint("remove `raw_column`, or write `on_loss: keep_raw`"),
                );
                continue;
            }
            ("keep_raw", Some(raw)) => match raw_column(raw, name, table, mapped) {
                Ok(raw_column) => OnLoss::KeepRaw { raw_column },
                Err(d) => {
                    errors.push(d);
                    continue;
                }
            },
            ("keep_raw", None) => {
                errors.push(
                    Diagnostic::error("`on_loss: keep_raw` needs `raw_column`: the V2 text column that keeps V1's value", pos_of(&rule.on_loss))
                        .with_hint(format!("e.g. `{{ column: {name}, on_loss: keep_raw, raw_column: {name}_raw }}`")),
                );
                continue;
            }
            (other, _) => {
                let d =
                    Diagnostic::error(format!("unknown `on_loss: {other}`"), pos_of(&rule.on_loss));
                let known = ["reject".to_string(), "keep_raw".to_string()];
                errors.push(match did_you_mean(other, &known) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint("write `on_loss: reject` (the row goes to the rejects) or `on_loss: keep_raw` with `raw_column:` (V1's text kept in that column)"),
                });
                continue;
            }
        };
        if !mapped.contains(&name) {
            let d = Diagnostic::error(
                format!("`lossy` names `{name}`, which this step's `columns` does not map"),
                at,
            );
            let candidates: Vec<String> = mapped.iter().map(|c| c.to_string()).collect();
            errors.push(match did_you_mean(name, &candidates) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint("a `lossy` rule is about a column mapped with a lossy library call (`_pgmig.phone_e164`)"),
            });
            continue;
        }
        if out.iter().any(|c| c.column == name) {
            errors.push(
                Diagnostic::error(format!("two `lossy` rules for `{name}`"), at)
                    .with_hint("one rule per column: keep the one you mean"),
            );
            continue;
        }
        out.push(LossChoice {
            column: name.to_string(),
            on_loss,
            line: at.map_or(0, |p| p.line),
            at,
        });
    }
    out
}

/// The raw column of a `keep_raw` rule: a V2 text column of the table that nothing else fills.
fn raw_column(
    raw: &crate::model::Text,
    column: &str,
    table: &Table,
    mapped: &[&str],
) -> Result<String, Diagnostic> {
    let name = raw.as_str();
    let at = pos_of(raw);
    let Some(target) = table.column(name) else {
        let candidates: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let d = Diagnostic::error(
            format!(
                "column `{name}` does not exist in V2 table `{}`",
                table.name
            ),
            at,
        );
        return Err(match did_you_mean(name, &candidates) {
            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
            None => d.with_hint(format!(
                "add a text column for V1's value to `{}` in V2, e.g. `{column}_raw text`",
                table.name
            )),
        });
    };
    if name == column || mapped.contains(&name) || target.generated.is_some() {
        return Err(Diagnostic::error(
            format!(
                "`{name}` is filled otherwise; `raw_column` must be a column only this rule fills"
            ),
            at,
        )
        .with_hint(format!(
            "name another column of `{}`, or remove `{name}` from `columns`",
            table.name
        )));
    }
    if !types::is_string(&target.data_type) {
        return Err(Diagnostic::error(
            format!(
                "`{}.{name}` is {}; `raw_column` keeps V1's text, so it must be text",
                table.name.name, target.data_type
            ),
            at,
        )
        .with_hint(format!(
            "use a text (or varchar) column of `{}`",
            table.name
        )));
    }
    Ok(name.to_string())
}

impl LossChoice {
    /// The error for a rule on a column whose expression calls no lossy library function.
    pub fn nothing_to_lose(&self) -> Diagnostic {
        Diagnostic::error(
            format!(
                "`{}` calls no lossy library function: there is no loss to act on",
                self.column
            ),
            self.at,
        )
        .with_hint(
            "a `lossy` rule goes with a lossy call such as `_pgmig.phone_e164(…)`; remove the rule",
        )
    }

    /// The raw column's expression: the call's input, as text, where the call loses part of it.
    /// `None` when the column calls several lossy functions (which input would it keep?).
    pub fn raw_value(&self, calls: &[LossyCall]) -> Result<sqlparser::ast::Expr, Diagnostic> {
        let [call] = calls else {
            return Err(Diagnostic::error(
                format!(
                    "`{}` calls {} lossy library functions; `keep_raw` keeps the input of one",
                    self.column,
                    calls.len()
                ),
                self.at,
            )
            .with_hint("map the column with one lossy call, or write `on_loss: reject`"));
        };
        let sql = format!(
            "CASE WHEN {} THEN CAST({} AS text) END",
            call.test, call.input
        );
        // Not reached by a model: `call.input` is printed from a column's expression after
        // `scope::printable_literals` (its literals and names read back as they were parsed),
        // and `call.test` is the library's template around it; the error stays for a template
        // that would not parse.
        Parser::new(&PostgreSqlDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| {
                Diagnostic::error(
                    format!(
                        "internal: the raw value of `{}` does not parse: {e}",
                        self.column
                    ),
                    self.at,
                )
            })
    }
}

//! `id(step, key…)`: the key another step made, reached through that step's id map;
//! `ref(table, natural key…)`: the primary key of a reference row, reached through its table.
//!
//! Each distinct call becomes one `LEFT JOIN` (a set-based lookup, not a subquery per row)
//! and the call is replaced by the joined key column.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectNamePart,
};

use super::ident::{ident_name, sql_ident};
use super::sql::Origin;
use super::suggest::did_you_mean;
use crate::catalog::quote_ident;
use crate::diagnostic::Diagnostic;

/// What a step's id map offers to `id()` calls.
#[derive(Debug, Clone)]
pub struct MapShape {
    pub map_table: String,
    /// Map columns matched positionally against the call's arguments.
    pub key_columns: Vec<String>,
    /// The column holding the target key, and its type.
    pub result_column: String,
    pub result_type: String,
}

/// One distinct `id()` call of a step: a join of the target step's map.
#[derive(Debug, Clone, PartialEq)]
pub struct IdJoin {
    /// `id` (a step's id map) or `ref` (a reference table).
    pub kind: &'static str,
    pub alias: String,
    pub step: String,
    pub map_table: String,
    /// `(map column, argument)` pairs of the ON clause.
    pub on: Vec<(String, Expr)>,
    pub result_column: String,
    pub result_type: String,
    pub line: usize,
}

impl IdJoin {
    /// `LEFT JOIN _pgmig.map_x AS id_x ON id_x.k = <arg> AND …`
    pub fn sql(&self) -> String {
        let alias = quote_ident(&self.alias);
        let on: Vec<String> = self
            .on
            .iter()
            .map(|(col, arg)| format!("{alias}.{} = {arg}", quote_ident(col)))
            .collect();
        format!(
            "LEFT JOIN {} AS {alias} ON {}",
            self.map_table,
            on.join(" AND ")
        )
    }
}

/// Where `id()` and `ref()` look: step id maps and reference tables, by name.
pub struct Lookups<'a> {
    pub maps: &'a dyn Fn(&str) -> Option<MapShape>,
    pub step_names: &'a [String],
    pub references: &'a dyn Fn(&str) -> Option<MapShape>,
    pub reference_names: &'a [String],
}

/// Replaces every `id(…)` and `ref(…)` in `expr`, adding new joins to `joins` (shared by all of
/// a step's expressions).
pub fn rewrite(
    expr: &mut Expr,
    lookups: &Lookups,
    joins: &mut Vec<IdJoin>,
    origin: Origin,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let _ = sqlparser::ast::visit_expressions_mut(expr, |e| {
        let Expr::Function(f) = e else {
            return ControlFlow::<()>::Continue(());
        };
        let kind = match f.name.0.as_slice() {
            [ObjectNamePart::Identifier(i)] if ident_name(i) == "id" => "id",
            [ObjectNamePart::Identifier(i)] if ident_name(i) == "ref" => "ref",
            _ => return ControlFlow::Continue(()),
        };
        let (maps, names) = if kind == "id" {
            (lookups.maps, lookups.step_names)
        } else {
            (lookups.references, lookups.reference_names)
        };
        let name_ident = match f.name.0.first() {
            Some(ObjectNamePart::Identifier(i)) => i.clone(),
            _ => Ident::new(kind),
        };
        let args: Vec<Expr> = match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let Some((Expr::Identifier(step_ident), keys)) =
            args.split_first().map(|(s, k)| (s.clone(), k.to_vec()))
        else {
            let hint = if kind == "id" {
                "write `id(step, key…)` with the key values in the order of that step's `by`"
            } else {
                "write `ref(table, natural key…)` with the values of the `key` its `reference:` entry declares"
            };
            errors.push(
                origin
                    .error(
                        format!(
                            "`{kind}()` needs a {} name and its key values",
                            if kind == "id" { "step" } else { "table" }
                        ),
                        name_ident.span.start,
                        kind.len(),
                    )
                    .with_hint(hint),
            );
            *e = Expr::value(sqlparser::ast::Value::Null); // reported above; no cascade of errors
            return ControlFlow::Continue(());
        };
        let step = ident_name(&step_ident);
        let Some(shape) = maps(&step) else {
            // A reference entry that exists but has errors of its own: those say it all.
            if kind == "ref" && names.contains(&step) {
                *e = Expr::value(sqlparser::ast::Value::Null);
                return ControlFlow::Continue(());
            }
            let what = if kind == "id" {
                format!("no step is named `{step}`")
            } else {
                format!("no `reference:` entry fills `{step}`")
            };
            let mut d = origin.error(
                format!("`{kind}({step}, …)`: {what}"),
                step_ident.span.start,
                step.chars().count(),
            );
            if let Some(s) = did_you_mean(&step, names) {
                d = d.with_hint(format!("did you mean `{s}`?"));
            }
            errors.push(d);
            *e = Expr::value(sqlparser::ast::Value::Null); // reported above; no cascade of errors
            return ControlFlow::Continue(());
        };
        if keys.len() != shape.key_columns.len() {
            errors.push(
                origin
                    .error(
                        format!(
                            "`{kind}({step}, …)` takes {} key value(s) ({}), got {}",
                            shape.key_columns.len(),
                            shape.key_columns.join(", "),
                            keys.len()
                        ),
                        step_ident.span.start,
                        step.chars().count(),
                    )
                    .with_hint(if kind == "id" {
                        "the values match that step's `by` list (or its primary key for `key: keep`), in order"
                    } else {
                        "the values match the reference entry's `key`, in order"
                    }),
            );
            *e = Expr::value(sqlparser::ast::Value::Null); // reported above; no cascade of errors
            return ControlFlow::Continue(());
        }
        let on: Vec<(String, Expr)> = shape.key_columns.iter().cloned().zip(keys).collect();
        let alias = match joins
            .iter()
            .find(|j| j.step == step && j.kind == kind && j.on == on)
        {
            Some(j) => j.alias.clone(),
            None => {
                let n = joins
                    .iter()
                    .filter(|j| j.step == step && j.kind == kind)
                    .count();
                let alias = if n == 0 {
                    format!("{kind}_{step}")
                } else {
                    format!("{kind}_{step}_{}", n + 1)
                };
                joins.push(IdJoin {
                    kind,
                    alias: alias.clone(),
                    step: step.clone(),
                    map_table: shape.map_table.clone(),
                    on,
                    result_column: shape.result_column.clone(),
                    result_type: shape.result_type.clone(),
                    line: origin.line(),
                });
                alias
            }
        };
        *e = Expr::CompoundIdentifier(vec![sql_ident(&alias), sql_ident(&shape.result_column)]);
        ControlFlow::Continue(())
    });
    errors
}

//! V2 constraints turned into tests on the source rows, for precheck to predict violations.
//!
//! Each test is a boolean SQL expression over the step's `from` aliases that is true when the
//! row would break the constraint, so precheck can count such rows before migrate writes any.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Value};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::ident::ident_name;
use crate::catalog::{quote_ident, ForeignKey, QualName, Table};
use crate::plan::{CastTest, CheckTest, ForeignKeyTest, UniqueTest};

/// What an id map holds: its table and columns.
pub struct MapColumns {
    pub map_table: String,
    pub columns: Vec<String>,
}

/// The value each V2 column gets: its mapped expression, else its default, else NULL.
fn value_of(column: &str, table: &Table, mapped: &BTreeMap<String, Expr>) -> Expr {
    if let Some(e) = mapped.get(column) {
        return Expr::Nested(Box::new(e.clone()));
    }
    let default = table
        .column(column)
        .and_then(|c| c.default.as_deref())
        .and_then(parse);
    default.map_or(Expr::value(Value::Null), |d| Expr::Nested(Box::new(d)))
}

/// A default or other catalog expression as sqlparser reads it; `None` when it can't.
pub(super) fn parse(text: &str) -> Option<Expr> {
    let dialect = PostgreSqlDialect {};
    Parser::new(&dialect)
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

/// CHECK constraints with every column replaced by the value it would get.
/// A check that can't be rewritten (unparseable, or it reads a column in a subquery) is left to migrate.
pub fn checks(table: &Table, mapped: &BTreeMap<String, Expr>) -> Vec<CheckTest> {
    let mut out = Vec::new();
    for check in &table.checks {
        let Some(mut e) = parse(&check.expression) else {
            continue;
        };
        let _ = sqlparser::ast::visit_expressions_mut(&mut e, |x| {
            if let Expr::Identifier(i) = x {
                let name = ident_name(i);
                if table.column(&name).is_some() {
                    *x = value_of(&name, table, mapped);
                }
            }
            ControlFlow::<()>::Continue(())
        });
        if super::scope::printable_literals(&mut e).is_err() {
            continue;
        }
        out.push(CheckTest {
            constraint: check.name.clone(),
            test: format!("({e}) IS FALSE"),
        });
    }
    out
}

/// PRIMARY KEY and UNIQUE keys whose columns are all filled by the step.
pub fn uniques(
    table: &Table,
    mapped: &BTreeMap<String, Expr>,
    skip: Option<&str>,
) -> Vec<UniqueTest> {
    table
        .primary_key
        .iter()
        .chain(&table.uniques)
        .filter(|k| !(k.columns.len() == 1 && Some(k.columns[0].as_str()) == skip))
        .filter(|k| k.columns.iter().all(|c| mapped.contains_key(c)))
        .map(|k| UniqueTest {
            constraint: k.name.clone(),
            columns: k.columns.iter().map(|c| quote_ident(c)).collect(),
            exprs: k.columns.iter().map(|c| mapped[c].to_string()).collect(),
            secret: false,
        })
        .collect()
}

/// Foreign keys whose columns are all filled: the parent must exist in V2 already or be made
/// by a step filling the parent table (found in its id map).
pub fn foreign_keys(
    fks: &[&ForeignKey],
    mapped: &BTreeMap<String, Expr>,
    map_of: &dyn Fn(&QualName) -> Vec<MapColumns>,
) -> Vec<ForeignKeyTest> {
    fks.iter()
        .filter(|fk| fk.columns.iter().all(|c| mapped.contains_key(c)))
        .map(|fk| {
            let parent_maps = map_of(&fk.references)
                .into_iter()
                .filter(|m| fk.referenced_columns.iter().all(|c| m.columns.contains(c)))
                .map(|m| m.map_table)
                .collect();
            ForeignKeyTest {
                constraint: fk.name.clone(),
                columns: fk.columns.iter().map(|c| quote_ident(c)).collect(),
                exprs: fk.columns.iter().map(|c| mapped[c].to_string()).collect(),
                parent: fk.references.clone(),
                parent_columns: fk
                    .referenced_columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect(),
                parent_maps,
            }
        })
        .collect()
}

/// The casts of `e` that are not inside a subquery.
fn casts_outside_subqueries(e: &Expr) -> Vec<Expr> {
    struct Casts {
        depth: usize,
        found: Vec<Expr>,
    }
    impl sqlparser::ast::Visitor for Casts {
        type Break = ();
        fn pre_visit_query(&mut self, _: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, x: &Expr) -> ControlFlow<()> {
            if self.depth == 0 && matches!(x, Expr::Cast { .. }) {
                self.found.push(x.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Casts {
        depth: 0,
        found: Vec::new(),
    };
    let _ = sqlparser::ast::Visit::visit(e, &mut v);
    v.found
}

/// Conversions that can fail on some values: explicit casts of text (or of what the checker
/// can't type) in the step's expressions, and assignments into an enum or a narrower number.
/// `known` tells the type of an expression when the checker is sure.
pub fn casts(
    table: &Table,
    mapped: &BTreeMap<String, Expr>,
    known: &dyn Fn(&Expr) -> Option<String>,
    enums: &dyn Fn(&str) -> bool,
) -> Vec<CastTest> {
    let mut out: Vec<CastTest> = Vec::new();
    for (column, e) in mapped {
        // Casts inside a subquery read the subquery's own rows: precheck can't test them per
        // source row, and migrate reports them with the step.
        for x in casts_outside_subqueries(e) {
            if let Expr::Cast {
                expr: inner,
                data_type,
                ..
            } = &x
            {
                let from = known(inner);
                let from_text = from
                    .as_deref()
                    .is_none_or(|t| t == "text" || t.starts_with("character"));
                let literal = matches!(inner.as_ref(), Expr::Value(_));
                if from_text && !literal {
                    let to = crate::catalog::normalize_type(&data_type.to_string(), "public");
                    if !matches!(to.as_str(), "text" | "character varying" | "jsonb" | "json") {
                        out.push(CastTest {
                            column: column.clone(),
                            type_name: data_type.to_string(),
                            value: inner.to_string(),
                            what: format!("`{inner}` does not convert to {to}"),
                        });
                    }
                }
            }
        }
        let Some(target) = table.column(column) else {
            continue;
        };
        let source = known(e);
        let narrowing = source
            .as_deref()
            .and_then(|st| super::types::lossy(st, &target.data_type))
            .filter(|why| why.contains("overflow"));
        if enums(&target.data_type) && source.as_deref() != Some(target.data_type.as_str()) {
            out.push(CastTest {
                column: column.clone(),
                type_name: target.data_type.clone(),
                value: e.to_string(),
                what: format!("not a value of the enum {}", target.data_type),
            });
        } else if let Some(why) = narrowing {
            out.push(CastTest {
                column: column.clone(),
                type_name: target.data_type.clone(),
                value: e.to_string(),
                what: why,
            });
        }
    }
    out
}

//! `--only`: the root rows to migrate, as a condition on one V1 table's columns.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::Expr;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::ident::{ident_name, sql_ident};
use super::suggest::did_you_mean_ident;
use crate::catalog::{Catalog, QualName};
use crate::plan::{Plan, Sql};

/// `--only 'users.email = …'`: the root rows to migrate. Every step whose first `from` table is
/// the table named gets the condition (on its own alias) added to its `where`; the steps that
/// hang off them follow through their own `where`/`reject` on `id()`.
pub fn restrict(mut plan: Plan, condition: &str, v1: &Catalog) -> Result<Plan, String> {
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(condition)
        .map_err(|e| format!("--only: {e}"))?;
    let expr = parser.parse_expr().map_err(|e| format!("--only: {e}"))?;
    if parser.peek_token().token != Token::EOF {
        return Err(format!(
            "--only: one condition expected, found more after `{expr}`"
        ));
    }
    if let Some((name, _, _, why)) = super::calls::refusals(&expr).into_iter().next() {
        return Err(format!(
            "--only: {}",
            super::calls::refusal_message(&name, why)
        ));
    }
    plan.called_functions
        .extend(super::calls::called_functions(&expr));
    let mut tables: BTreeSet<String> = BTreeSet::new();
    let mut problem: Option<String> = None;
    let _ = sqlparser::ast::visit_expressions(&expr, |e| {
        match e {
            Expr::Identifier(i) => {
                problem = Some(format!(
                    "--only: qualify `{}` with its V1 table, e.g. `users.{}`",
                    ident_name(i),
                    ident_name(i)
                ))
            }
            Expr::CompoundIdentifier(p) if p.len() == 2 => {
                tables.insert(ident_name(&p[0]));
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    if let Some(p) = problem {
        return Err(p);
    }
    let named: Vec<String> = tables.iter().cloned().collect();
    let [table] = named.as_slice() else {
        return Err(format!(
            "--only: name columns of exactly one V1 table (found {})",
            if tables.is_empty() {
                "none".to_string()
            } else {
                tables.into_iter().collect::<Vec<_>>().join(", ")
            }
        ));
    };
    let table = table.clone();
    let roots: Vec<usize> = (0..plan.steps.len())
        .filter(|&i| {
            plan.steps[i]
                .source_table
                .as_ref()
                .is_some_and(|t| t.name == table)
        })
        .collect();
    let Some(source) = roots
        .first()
        .and_then(|&i| plan.steps[i].source_table.clone())
    else {
        let firsts: BTreeSet<String> = plan
            .steps
            .iter()
            .filter_map(|s| s.source_table.as_ref().map(|t| t.name.clone()))
            .collect();
        let firsts: Vec<String> = firsts.into_iter().collect();
        let hint = did_you_mean_ident(&table, &firsts).map_or_else(
            || format!("tables steps read first: {}", firsts.join(", ")),
            |s| format!("did you mean `{s}`?"),
        );
        return Err(format!(
            "--only: no step reads V1 table `{table}` first ({hint})"
        ));
    };
    let columns: Vec<String> = v1.table(&source).map_or(Vec::new(), |t| {
        t.columns.iter().map(|c| c.name.clone()).collect()
    });
    let mut unknown = None;
    let _ = sqlparser::ast::visit_expressions(&expr, |e| {
        if let Expr::CompoundIdentifier(p) = e {
            let c = ident_name(&p[1]);
            if !columns.contains(&c) {
                let hint = did_you_mean_ident(&c, &columns).map_or_else(
                    || format!("its columns: {}", columns.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                unknown = Some(format!(
                    "--only: V1 table `{source}` has no column `{c}` ({hint})"
                ));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    if let Some(u) = unknown {
        return Err(u);
    }
    let mut on_t = expr.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut on_t, |e| {
        if let Expr::CompoundIdentifier(p) = e {
            p[0] = sql_ident("t");
        }
        ControlFlow::<()>::Continue(())
    });
    super::scope::printable_literals(&mut on_t).map_err(|u| format!("--only: {}", u.message))?;
    plan.only = Some(crate::plan::OnlyRoots {
        text: condition.to_string(),
        table: QualName::new(plan.read_schema.clone(), source.name.clone()),
        condition: on_t.to_string(),
    });
    for i in roots {
        let step = &mut plan.steps[i];
        let alias = step.source_alias.clone().unwrap_or_else(|| table.clone());
        let mut on_alias = expr.clone();
        let _ = sqlparser::ast::visit_expressions_mut(&mut on_alias, |e| {
            if let Expr::CompoundIdentifier(p) = e {
                p[0] = sql_ident(&alias);
            }
            ControlFlow::<()>::Continue(())
        });
        super::scope::printable_literals(&mut on_alias)
            .map_err(|u| format!("--only: {}", u.message))?;
        step.filter = Some(match &step.filter {
            Some(f) => Sql {
                sql: format!("({}) AND ({on_alias})", f.sql),
                line: f.line,
            },
            None => Sql {
                sql: on_alias.to_string(),
                line: 0,
            },
        });
    }
    Ok(plan)
}

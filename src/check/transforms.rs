//! Calls of the transform library ([`super::library`]): each `_pgmig.<name>(…)` a model
//! writes is checked against the library's signatures, so a
//! misspelt name, a missing argument or an argument of the wrong type is a compile error at
//! the model line, not a failed migrate.

use std::ops::ControlFlow;

use sqlparser::ast::{AccessExpr, Expr};

use super::ident::ident_name;
use super::library::{arity, called, function_of, positional_args, LIBRARY};
use super::sql::Origin;
use super::suggest::did_you_mean;
use super::types::{self, ColumnTypes};
use super::BOOKKEEPING_SCHEMA;
use crate::diagnostic::Diagnostic;

/// Every library call in `expr`: known name, argument count, text arguments, record fields.
pub(crate) fn check(expr: &Expr, scope: &dyn ColumnTypes, origin: Origin) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let _ = sqlparser::ast::visit_expressions(expr, |e| {
        match e {
            Expr::Function(f) => {
                if let Some((name, ident)) = called(f) {
                    errors.extend(check_call(&name, ident, f, scope, origin));
                }
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                if let (Some(f), Some(AccessExpr::Dot(Expr::Identifier(field)))) =
                    (function_of(root), access_chain.first())
                {
                    errors.extend(check_field(f, field, origin));
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    errors
}

fn check_call(
    name: &str,
    ident: &sqlparser::ast::Ident,
    f: &sqlparser::ast::Function,
    scope: &dyn ColumnTypes,
    origin: Origin,
) -> Vec<Diagnostic> {
    let here = |msg: String| origin.error(msg, ident.span.start, name.chars().count());
    let Some(t) = LIBRARY.iter().find(|t| t.name == name) else {
        let names: Vec<String> = LIBRARY.iter().map(|t| t.name.to_string()).collect();
        let d = here(format!(
            "`{BOOKKEEPING_SCHEMA}.{name}` is not in pgmig's transform library"
        ));
        return vec![match did_you_mean(name, &names) {
            Some(s) => d.with_hint(format!("did you mean `{BOOKKEEPING_SCHEMA}.{s}`?")),
            None => d.with_hint(format!(
                "the library has: {} (README, \"Transform library\")",
                names.join(", ")
            )),
        }];
    };
    let args = positional_args(f);
    let signature = format!(
        "{BOOKKEEPING_SCHEMA}.{name}({})",
        t.params
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if args.len() < t.required || args.len() > t.params.len() {
        return vec![here(format!(
            "`{signature}` takes {} argument(s), got {}",
            arity(t),
            args.len()
        ))];
    }
    let mut errors = Vec::new();
    for (arg, (param, param_type)) in args.iter().zip(t.params) {
        let Some(ty) = types::infer(arg, scope) else {
            continue;
        };
        let fits = if *param_type == "text" {
            types::is_string(&ty)
        } else {
            types::assignable(&ty, param_type)
        };
        if !fits {
            // The caret goes under the argument when sqlparser knows where it is.
            let message = format!("`{signature}`: `{param}` is {param_type}, and `{arg}` is {ty}");
            let at = sqlparser::ast::Spanned::span(*arg).start;
            let d = if at.line > 0 {
                origin.error(message, at, arg.to_string().chars().count())
            } else {
                here(message)
            };
            errors.push(d.with_hint(format!(
                "if that is meant, convert it: `({arg})::{param_type}`"
            )));
        }
    }
    errors
}

fn check_field(
    f: &sqlparser::ast::Function,
    field: &sqlparser::ast::Ident,
    origin: Origin,
) -> Vec<Diagnostic> {
    let Some((name, _)) = called(f) else {
        return Vec::new();
    };
    let Some(t) = LIBRARY.iter().find(|t| t.name == name) else {
        return Vec::new();
    };
    let wanted = ident_name(field);
    if t.fields.contains(&wanted.as_str()) {
        return Vec::new();
    }
    let d = origin.error(
        format!("`{BOOKKEEPING_SCHEMA}.{name}` has no field `{wanted}`"),
        field.span.start,
        wanted.chars().count(),
    );
    vec![if t.fields.is_empty() {
        d.with_hint("it returns text, not a record")
    } else {
        d.with_hint(format!("its fields are {}", t.fields.join(", ")))
    }]
}

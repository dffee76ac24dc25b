//! The transform library (`sql/transforms.sql`, installed in `_pgmig` by migrate.sql): its
//! SQL, and what each function takes and returns, for the checks of calls
//! ([`super::transforms`]) and for type inference ([`super::types`]).

use std::ops::ControlFlow;

use sqlparser::ast::{
    AccessExpr, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
};

use super::ident::ident_name;
use super::BOOKKEEPING_SCHEMA;
use crate::plan::FreshValue;

/// One function of the library: its parameters (name, type), how many are required, and
/// what it returns: a text, or a record of text fields.
pub(super) struct Transform {
    pub(super) name: &'static str,
    pub(super) params: &'static [(&'static str, &'static str)],
    pub(super) required: usize,
    pub(super) fields: &'static [&'static str],
    pub(super) volatile: bool,
    /// A function that can give NULL (or drop part of the value) for a non-null input is
    /// lossy: what it loses, and the SQL test of a row losing it (`{call}` is the call,
    /// `{0}` its first argument). PLAN.md says so; precheck counts and samples those rows.
    pub(super) loss: Option<Loss>,
}

pub(super) struct Loss {
    pub(super) what: &'static str,
    pub(super) test: &'static str,
}

pub(super) const LIBRARY: &[Transform] = &[
    Transform {
        name: "split_name",
        params: &[("full_name", "text")],
        required: 1,
        fields: &["first_name", "middle_name", "last_name"],
        volatile: false,
        loss: None,
    },
    Transform {
        name: "phone_e164",
        params: &[("raw", "text"), ("default_country_code", "text")],
        required: 1,
        fields: &[],
        volatile: false,
        loss: Some(Loss {
            what: "NULL for a value that is not a phone number, and an extension is dropped",
            test: r"nullif(btrim({0}), '') IS NOT NULL AND ({call} IS NULL OR btrim({0}) ~* '(x|ext\.?|extension|#) ?[0-9]{1,6}$')",
        }),
    },
    Transform {
        name: "address_parts",
        params: &[("line", "text")],
        required: 1,
        fields: &["street", "city", "region", "postal_code", "country"],
        volatile: false,
        loss: None,
    },
    Transform {
        name: "ascii_fold",
        params: &[("s", "text")],
        required: 1,
        fields: &[],
        volatile: false,
        loss: None,
    },
    Transform {
        name: "email_from_template",
        params: &[
            ("template", "text"),
            ("first_name", "text"),
            ("last_name", "text"),
            ("id", "text"),
        ],
        required: 4,
        fields: &[],
        volatile: false,
        loss: None,
    },
    Transform {
        name: "new_password_hash",
        params: &[("cost", "integer")],
        required: 0,
        fields: &[],
        volatile: true,
        loss: None,
    },
    Transform {
        name: "with_counter",
        params: &[("value", "text"), ("n", "integer")],
        required: 2,
        fields: &[],
        volatile: false,
        loss: None,
    },
];

/// The library's source, installed by migrate.sql when a step calls it.
pub const SQL: &str = include_str!("../../sql/transforms.sql");

/// The fields of a library function that returns a record (`split_name`, `address_parts`).
pub fn record_fields(name: &str) -> Option<&'static [&'static str]> {
    LIBRARY
        .iter()
        .find(|t| t.name == name && !t.fields.is_empty())
        .map(|t| t.fields)
}

/// Whether `name` is a library function that gives another result on every call.
pub fn is_volatile(name: &str) -> bool {
    LIBRARY.iter().any(|t| t.name == name && t.volatile)
}

/// What verify can check of a value `e` makes fresh for every row (one call of
/// `_pgmig.new_password_hash` or of `gen_random_uuid()`): nothing recomputes it, but its form is
/// known and no two rows get the same one. `None` for any other expression.
pub fn fresh_value(e: &Expr) -> Option<FreshValue> {
    let f = function_of(e)?;
    let args = positional_args(f);
    let call = e.to_string();
    if let Some((name, _)) = called(f) {
        if name != "new_password_hash" {
            return None;
        }
        // A cost written as a number fixes the hash's cost field; else any two digits.
        let cost = match args.as_slice() {
            [] => Some(10),
            [Expr::Value(v)] => match &v.value {
                sqlparser::ast::Value::Number(n, _) => n.parse::<u32>().ok(),
                _ => None,
            },
            _ => None,
        };
        let (cost_pattern, form) = match cost {
            Some(c) => (format!("{c:02}"), format!("bcrypt, cost {c}")),
            None => ("[0-9]{2}".to_string(), "bcrypt".to_string()),
        };
        return Some(FreshValue {
            call,
            pattern: Some(format!(r"^\$2[aby]\${cost_pattern}\$[./A-Za-z0-9]{{53}}$")),
            form,
            bcrypt_cost: cost,
        });
    }
    let name = f.name.0.last().map(|p| p.to_string().to_lowercase());
    (name.as_deref() == Some("gen_random_uuid") && args.is_empty()).then(|| FreshValue {
        call,
        pattern: None,
        form: "a uuid".into(),
        bcrypt_cost: None,
    })
}

/// A lossy library call in an expression: the function, what it loses, and the SQL test of a
/// row losing it.
pub struct LossyCall {
    pub function: &'static str,
    pub what: &'static str,
    pub test: String,
    /// The call's first argument: the value it loses part of.
    pub input: String,
}

/// The calls of lossy library functions in `expr`, in order.
pub fn lossy_calls(expr: &Expr) -> Vec<LossyCall> {
    let mut found = Vec::new();
    let _ = sqlparser::ast::visit_expressions(expr, |e| {
        if let Expr::Function(f) = e {
            let lossy = called(f).and_then(|(name, _)| {
                let t = LIBRARY.iter().find(|t| t.name == name)?;
                Some((t.name, t.loss.as_ref()?))
            });
            if let (Some((function, loss)), Some(first)) = (lossy, positional_args(f).first()) {
                found.push(LossyCall {
                    function,
                    what: loss.what,
                    test: loss
                        .test
                        .replace("{call}", &e.to_string())
                        .replace("{0}", &first.to_string()),
                    input: first.to_string(),
                });
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// The arguments of a call written by position (`f(a, b)`), in order.
pub(super) fn positional_args(f: &sqlparser::ast::Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The library function `f` calls, if it names one in `_pgmig`.
pub(super) fn called(f: &sqlparser::ast::Function) -> Option<(String, &sqlparser::ast::Ident)> {
    match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(schema), ObjectNamePart::Identifier(name)]
            if ident_name(schema) == BOOKKEEPING_SCHEMA =>
        {
            Some((ident_name(name), name))
        }
        _ => None,
    }
}

/// Whether `expr` calls the library anywhere.
pub fn uses_library(expr: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(expr, |e| {
        found |= matches!(e, Expr::Function(f) if called(f).is_some());
        ControlFlow::<()>::Continue(())
    });
    found
}

/// The type of a library call or of a field of one (`(_pgmig.split_name(x)).last_name`).
pub fn infer(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Function(f) => {
            let (name, _) = called(f)?;
            let t = LIBRARY.iter().find(|t| t.name == name)?;
            t.fields.is_empty().then(|| "text".to_string())
        }
        Expr::CompoundFieldAccess { root, access_chain } if access_chain.len() == 1 => {
            let (name, _) = called(function_of(root)?)?;
            let t = LIBRARY.iter().find(|t| t.name == name)?;
            match access_chain.first() {
                Some(AccessExpr::Dot(Expr::Identifier(field)))
                    if t.fields.contains(&ident_name(field).as_str()) =>
                {
                    Some("text".into())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

pub(super) fn function_of(e: &Expr) -> Option<&sqlparser::ast::Function> {
    match e {
        Expr::Function(f) => Some(f),
        Expr::Nested(inner) => function_of(inner),
        _ => None,
    }
}

/// How many arguments `t` takes, as a message says it.
pub(super) fn arity(t: &Transform) -> String {
    if t.required == t.params.len() {
        t.required.to_string()
    } else {
        format!("{} to {}", t.required, t.params.len())
    }
}

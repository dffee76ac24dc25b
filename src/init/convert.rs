//! The conversion of a V1 column into a V2 column of another type: as it is where
//! PostgreSQL assigns it, an explicit cast where one exists, nothing where none is safe.

use crate::catalog::Catalog;
use crate::check::types::{base_type, lossy};

#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// PostgreSQL assigns the value as it is; a note for the reviewer when it may lose data.
    Assign(Option<String>),
    /// An explicit conversion. `parses`: text is parsed, so bad values stop migrate.
    Cast {
        expr: String,
        note: String,
        parses: bool,
    },
    /// No conversion pgmig would vouch for.
    Impossible(String),
}

impl Conversion {
    /// Whether a similarity match may propose this pair (no text parsing, no guessing).
    pub fn plausible(&self) -> bool {
        match self {
            Conversion::Assign(_) => true,
            Conversion::Cast { parses, .. } => !parses,
            Conversion::Impossible(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Int(u8),
    Decimal,
    Float,
    String(Option<u32>),
    Boolean,
    Date,
    Timestamp,
    Timestamptz,
    Uuid,
    Json,
    Jsonb,
    Enum(Vec<String>),
    Other,
}

/// A type as seen through its domains: (base type, kind).
fn resolve(ty: &str, cat: &Catalog) -> (String, Kind) {
    let mut ty = ty.to_string();
    for _ in 0..8 {
        match cat.domains.iter().find(|(q, _)| q.to_string() == ty) {
            Some((_, d)) => ty = d.data_type.clone(),
            None => break,
        }
    }
    if let Some((_, labels)) = cat.enums.iter().find(|(q, _)| q.to_string() == ty) {
        return (ty.clone(), Kind::Enum(labels.clone()));
    }
    let base = base_type(&ty);
    let modifier = ty
        .split_once('(')
        .and_then(|(_, m)| m.split([',', ')']).next()?.trim().parse().ok());
    let kind = match base.as_str() {
        "smallint" => Kind::Int(2),
        "integer" => Kind::Int(4),
        "bigint" => Kind::Int(8),
        "numeric" => Kind::Decimal,
        "real" | "double precision" => Kind::Float,
        "text" | "name" | "citext" => Kind::String(None),
        "character varying" | "character" => Kind::String(modifier),
        "boolean" => Kind::Boolean,
        "date" => Kind::Date,
        "timestamp without time zone" => Kind::Timestamp,
        "timestamp with time zone" => Kind::Timestamptz,
        "uuid" => Kind::Uuid,
        "json" => Kind::Json,
        "jsonb" => Kind::Jsonb,
        _ => Kind::Other,
    };
    (ty, kind)
}

fn unqualified(ty: &str) -> &str {
    ty.rsplit('.').next().unwrap_or(ty)
}

/// How `expr`, of V1 type `from`, becomes a value of V2 type `to`.
pub fn convert(expr: &str, from: &str, to: &str, v1: &Catalog, v2: &Catalog) -> Conversion {
    if from == to {
        return Conversion::Assign(None);
    }
    match (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        (Some(f), Some(t)) => {
            return match convert("x", f, t, v1, v2) {
                Conversion::Assign(n) => Conversion::Assign(n),
                Conversion::Cast { parses, .. } => Conversion::Cast {
                    expr: format!("{expr}::{to}"),
                    note: format!("{from} → {to}, element by element"),
                    parses,
                },
                Conversion::Impossible(_) => {
                    Conversion::Impossible(format!("no conversion from {from} to {to}"))
                }
            }
        }
        (None, Some(_)) => {
            return Conversion::Impossible(format!("{from} is not an array; V2 wants {to}"))
        }
        _ => {}
    }
    let (fb, fk) = resolve(from, v1);
    let (tb, tk) = resolve(to, v2);
    // pgmig's checker takes a domain for a type of its own: between a domain and a plain
    // type it wants the cast written out, though PostgreSQL would assign the value.
    let domain_on_one_side = (fb != from) != (tb != to);
    let cast = |e: String, note: &str, parses: bool| Conversion::Cast {
        expr: e,
        note: note.to_string(),
        parses,
    };
    let through_text = |note: String| Conversion::Cast {
        expr: format!("{expr}::text::{to}"),
        note,
        parses: false,
    };
    let result = match (&fk, &tk) {
        // Same type (a domain in another schema over it, say): PostgreSQL assigns it.
        _ if fb == tb && !matches!(fk, Kind::Enum(_)) => Conversion::Assign(None),
        // Same base type, another modifier (timestamp → timestamp(6)): a length coercion.
        _ if base_type(&fb) == base_type(&tb) && !matches!(fk, Kind::Enum(_)) => {
            Conversion::Assign(lossy(&fb, &tb))
        }
        (Kind::Enum(fl), Kind::Enum(tl)) => {
            let missing: Vec<&str> = fl
                .iter()
                .filter(|l| !tl.contains(l))
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                through_text(format!("enum {from} → {to}, by label"))
            } else {
                through_text(format!(
                    "TODO: V1 labels {} are not in {to}: migrate stops on them",
                    missing.join(", ")
                ))
            }
        }
        (_, Kind::String(n)) => match (n, &fk) {
            (Some(n), Kind::String(Some(m))) if m <= n => Conversion::Assign(None),
            (Some(n), _) => Conversion::Assign(Some(format!(
                "{from} → {to}: values longer than {n} fail; precheck lists them"
            ))),
            (None, _) => Conversion::Assign(None),
        },
        (
            Kind::String(_),
            Kind::Int(_)
            | Kind::Decimal
            | Kind::Float
            | Kind::Boolean
            | Kind::Date
            | Kind::Timestamp
            | Kind::Timestamptz
            | Kind::Uuid,
        ) => cast(
            format!("NULLIF(btrim({expr}), '')::{to}"),
            &format!("parses {from} as {to}: '' becomes NULL, any other bad value stops migrate"),
            true,
        ),
        (Kind::String(_), _) => cast(
            format!("{expr}::{to}"),
            &format!("parses {from} as {to}: a bad value stops migrate"),
            true,
        ),
        (Kind::Int(a), Kind::Int(b)) if a > b => Conversion::Assign(Some(format!(
            "{from} → {to}: out-of-range values stop migrate"
        ))),
        (Kind::Decimal | Kind::Float, Kind::Int(_)) => {
            Conversion::Assign(Some(format!("{from} → {to}: rounds to whole numbers")))
        }
        (
            Kind::Int(_) | Kind::Decimal | Kind::Float,
            Kind::Int(_) | Kind::Decimal | Kind::Float,
        ) => Conversion::Assign(
            Some(format!("{from} → {to}"))
                .filter(|_| matches!(tk, Kind::Decimal) && to.contains('(')),
        ),
        (Kind::Int(_) | Kind::Decimal | Kind::Float, Kind::Boolean) => cast(
            format!("({expr} <> 0)"),
            "0 is false, anything else true",
            false,
        ),
        (Kind::Boolean, Kind::Int(_) | Kind::Decimal | Kind::Float) => {
            cast(format!("{expr}::integer"), "true is 1, false 0", false)
        }
        (Kind::Date | Kind::Timestamp | Kind::Timestamptz, Kind::Date) => {
            Conversion::Assign(Some(format!("{from} → date: drops the time of day")))
        }
        (Kind::Date, Kind::Timestamp | Kind::Timestamptz) => Conversion::Assign(None),
        (Kind::Timestamp | Kind::Timestamptz, Kind::Timestamp | Kind::Timestamptz) => {
            Conversion::Assign(Some(format!(
                "{from} → {to}: converted at the model's timezone"
            )))
        }
        (Kind::Json, Kind::Jsonb) | (Kind::Jsonb, Kind::Json) => {
            cast(format!("{expr}::{to}"), &format!("{from} → {to}"), false)
        }
        // A user type of the same name in another schema (enum, composite, …): by its text form.
        _ if unqualified(&fb) == unqualified(&tb) => {
            through_text(format!("{from} → {to}, through text"))
        }
        _ => Conversion::Impossible(format!("no safe conversion from {from} to {to}")),
    };
    match result {
        Conversion::Assign(note) if domain_on_one_side => Conversion::Cast {
            expr: format!("{expr}::{to}"),
            note: note.unwrap_or_else(|| format!("{from} → {to}")),
            parses: false,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Domain, QualName};

    fn conv(from: &str, to: &str) -> Conversion {
        let mut v1 = Catalog::default();
        v1.enums
            .insert(QualName::new("v1", "mood"), vec!["sad".into(), "ok".into()]);
        v1.domains.insert(
            QualName::new("v1", "year"),
            Domain {
                data_type: "integer".into(),
                not_null: false,
                default: None,
                checks: vec![],
            },
        );
        let mut v2 = Catalog::default();
        v2.enums.insert(
            QualName::new("public", "mood"),
            vec!["sad".into(), "ok".into(), "happy".into()],
        );
        v2.domains.insert(
            QualName::new("public", "year"),
            Domain {
                data_type: "integer".into(),
                not_null: false,
                default: None,
                checks: vec![],
            },
        );
        convert("t.x", from, to, &v1, &v2)
    }

    fn expr(c: Conversion) -> String {
        match c {
            Conversion::Cast { expr, .. } => expr,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn picks_a_conversion() {
        assert_eq!(conv("integer", "integer"), Conversion::Assign(None));
        assert_eq!(conv("integer", "bigint"), Conversion::Assign(None));
        assert_eq!(conv("v1.year", "public.year"), Conversion::Assign(None));
        assert!(matches!(
            conv("bigint", "integer"),
            Conversion::Assign(Some(_))
        ));
        assert_eq!(
            expr(conv("text", "integer")),
            "NULLIF(btrim(t.x), '')::integer"
        );
        assert_eq!(
            expr(conv("v1.mood", "public.mood")),
            "t.x::text::public.mood"
        );
        assert_eq!(expr(conv("integer", "boolean")), "(t.x <> 0)");
        assert_eq!(expr(conv("json", "jsonb")), "t.x::jsonb");
        assert_eq!(expr(conv("v1.year", "integer")), "t.x::integer");
        assert_eq!(conv("integer", "text"), Conversion::Assign(None));
        assert!(matches!(
            conv("text", "character varying(20)"),
            Conversion::Assign(Some(_))
        ));
        assert!(matches!(conv("uuid", "integer"), Conversion::Impossible(_)));
        assert!(matches!(
            conv("integer", "integer[]"),
            Conversion::Impossible(_)
        ));
        assert!(!conv("text", "uuid").plausible());
        assert_eq!(
            conv(
                "timestamp without time zone",
                "timestamp(6) without time zone"
            ),
            Conversion::Assign(None)
        );
        assert!(
            matches!(conv("timestamp(6) with time zone", "timestamp(6) without time zone"), Conversion::Assign(Some(n)) if n.contains("model's timezone"))
        );
        assert!(matches!(
            conv("time(6) without time zone", "time(0) without time zone"),
            Conversion::Assign(Some(_))
        ));
    }
}

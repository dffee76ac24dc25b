//! Time zones are the model's, not the session's: the conversions whose result depends on
//! the TimeZone setting (a naive timestamp becoming an instant, an instant becoming a day…),
//! and the model's `timezone:` that every script pins.

use std::ops::ControlFlow;

use sqlparser::ast::{
    CastKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Visit, Visitor,
};

use super::scope::Scope;
use super::types::{base_type, infer, is_string};
use crate::diagnostic::{Diagnostic, Diagnostics, Pos};
use crate::model::{pos_of, Text};

/// The zone scripts run in when the model names none: any fixed zone makes their output the
/// same on every server, and a model with no zone-dependent conversion can't tell zones apart.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// A zone-dependent conversion found in the model: where, and which types.
#[derive(Debug, Clone)]
pub struct ZoneConversion {
    pub at: Option<Pos>,
    pub what: String,
}

/// Whether converting a `from` value to `to` (format_type spellings) reads the TimeZone setting.
pub fn depends_on_zone(from: &str, to: &str) -> bool {
    let element = |t: &str| t.strip_suffix("[]").unwrap_or(t).to_string();
    let (f, t) = (base_type(&element(from)), base_type(&element(to)));
    match (f.as_str(), t.as_str()) {
        ("timestamp without time zone" | "date", "timestamp with time zone")
        | ("timestamp with time zone", "timestamp without time zone" | "date" | "time without time zone" | "time with time zone")
        // A time gets the zone's current UTC offset.
        | ("time without time zone", "time with time zone") => true,
        // An instant is written, and text without an offset is read, at the session's zone.
        ("timestamp with time zone", _) => is_string(&t),
        (_, "timestamp with time zone") => is_string(&f),
        _ => false,
    }
}

/// Functions whose result, for a timestamptz argument, is read at the session's zone (but
/// `date_trunc(field, value, zone)`, whose zone is explicit).
const ZONE_READING_FUNCTIONS: &[&str] = &["date_trunc", "date_part", "to_char"];

/// The casts in `expr` whose operand's type is known and whose result depends on the zone
/// ("the cast from → to"), and the fields, truncations and formats of a timestamptz.
pub fn casts(expr: &Expr, scope: &Scope) -> Vec<String> {
    struct Casts<'a> {
        scope: &'a Scope,
        found: Vec<String>,
    }
    impl Visitor for Casts<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr: operand,
                ..
            } = e
            {
                if let (Some(from), Some(to)) = (infer(operand, self.scope), infer(e, self.scope)) {
                    if depends_on_zone(&from, &to) {
                        self.found.push(format!("the cast {from} → {to}"));
                    }
                }
            }
            let instant = |e: &Expr| {
                infer(e, self.scope).is_some_and(|t| base_type(&t) == "timestamp with time zone")
            };
            match e {
                Expr::Extract {
                    field,
                    expr: operand,
                    ..
                } if instant(operand) => {
                    self.found.push(format!(
                        "EXTRACT({field} FROM …) of a timestamp with time zone"
                    ));
                }
                Expr::Function(f) => {
                    let name = f.name.to_string().to_lowercase();
                    let args: Vec<&Expr> = match &f.args {
                        FunctionArguments::List(list) => list
                            .args
                            .iter()
                            .filter_map(|a| match a {
                                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    let explicit_zone = name == "date_trunc" && args.len() == 3;
                    if ZONE_READING_FUNCTIONS.contains(&name.as_str())
                        && !explicit_zone
                        && args.iter().any(|a| instant(a))
                    {
                        self.found
                            .push(format!("{name}() of a timestamp with time zone"));
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut visitor = Casts {
        scope,
        found: Vec::new(),
    };
    let _ = expr.visit(&mut visitor);
    visitor.found
}

/// The zone the scripts pin: the model's, checked; without one, UTC, and each zone-dependent
/// conversion is an error (which zone V1's naive timestamps mean is the model's to say).
pub fn time_zone(
    declared: Option<&Text>,
    conversions: &[ZoneConversion],
    diags: &mut Diagnostics,
) -> String {
    match declared {
        Some(zone) => {
            if !looks_like_zone(zone) {
                diags.push(
                    Diagnostic::error(format!("`{}` is not a time zone name", zone.escape_debug()), pos_of(zone))
                        .with_hint("write an IANA zone name such as `UTC`, `Europe/Paris` or `America/New_York`"),
                );
            }
            zone.to_string()
        }
        None => {
            for c in conversions {
                diags.push(
                    Diagnostic::error(format!("{} depends on the time zone, and the model names none", c.what), c.at).with_hint(
                        "add `timezone: UTC` (or the zone V1's timestamps without time zone are in, e.g. `timezone: Europe/Paris`) \
                         at the model's top level: every script runs in that zone, whatever the server's TimeZone",
                    ),
                );
            }
            DEFAULT_TIME_ZONE.to_string()
        }
    }
}

/// An IANA-looking zone name (`UTC`, `America/Argentina/Buenos_Aires`, `Etc/GMT+5`): the list
/// of zones is the server's, so an unknown name fails at the scripts' `SET TIME ZONE`. POSIX
/// offsets (`UTC+3`, which PostgreSQL reads as three hours *west*) are refused here.
fn looks_like_zone(name: &str) -> bool {
    name.len() <= 64
        && name.split('/').all(|segment| {
            segment
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && segment.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '_'
                        || c == '-'
                        || (c == '+' && segment.starts_with("GMT"))
                })
                && (!segment.starts_with("UTC") || segment == "UTC")
        })
}

#[cfg(test)]
mod tests {
    use super::{depends_on_zone, looks_like_zone};

    #[test]
    fn zone_dependent_conversions() {
        assert!(depends_on_zone(
            "timestamp(6) without time zone",
            "timestamp with time zone"
        ));
        assert!(depends_on_zone(
            "timestamp with time zone",
            "timestamp(6) without time zone"
        ));
        assert!(depends_on_zone("timestamp(0) with time zone", "date"));
        assert!(depends_on_zone("date", "timestamp with time zone"));
        assert!(depends_on_zone("timestamp with time zone[]", "date[]"));
        assert!(depends_on_zone("timestamp with time zone", "text"));
        assert!(!depends_on_zone(
            "timestamp without time zone",
            "timestamp(6) without time zone"
        ));
        assert!(!depends_on_zone("timestamp without time zone", "date"));
        assert!(!depends_on_zone("date", "timestamp without time zone"));
        assert!(!depends_on_zone(
            "timestamp with time zone",
            "timestamp(0) with time zone"
        ));
    }

    #[test]
    fn zone_names() {
        for good in [
            "UTC",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "America/Port-au-Prince",
            "Etc/GMT+5",
            "EST5EDT",
        ] {
            assert!(looks_like_zone(good), "{good}");
        }
        for bad in [
            "",
            "UTC+3",
            "utc'; DROP TABLE x; --",
            "+05",
            "Europe//Paris",
            "/UTC",
            "Europe/Paris ",
            "../etc",
        ] {
            assert!(!looks_like_zone(bad), "{bad}");
        }
    }
}

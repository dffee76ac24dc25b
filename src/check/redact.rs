//! Secret V1 columns (`redact:`, or a name that looks secret): the values pgmig's copies of
//! V1 rows replace by a marker — `_pgmig.rejects.source_row`, the archives of export.sql,
//! precheck's samples, `_pgmig.changes`. The primary key is never redacted: rejects name
//! their V1 row by it.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::catalog::{Catalog, QualName};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{pos_of, Text};
use crate::plan::{KeptSecret, KeptWhy, Redacted, Repair, RepairStrategy, TableSecrets, REDACTED};
use crate::sql_text::mentions;

use super::suggest::did_you_mean;

/// A name part that marks a secret by itself: `password`, `api_token`, `pw_hash`, `totp_secret`.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "hash",
    "salt",
    "otp",
    "totp",
    "pin",
    "apikey",
    "credential",
    "credentials",
];
/// Two consecutive parts that mark one: `api_key`, `private_key`.
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("signing", "key"),
    ("encryption", "key"),
];
/// Words that mark one inside a part too: `userpassword`, `refreshtoken`, `clientsecret`.
const SECRET_INFIXES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
];

/// Whether a column's name looks like it holds a secret: one of its parts (split at
/// non-alphanumerics and lower→upper case changes, compared case-insensitively) is a secret word.
pub fn looks_secret(name: &str) -> bool {
    let parts = name_parts(name);
    parts
        .iter()
        .any(|p| SECRET_PARTS.contains(&p.as_str()) || SECRET_INFIXES.iter().any(|w| p.contains(w)))
        || parts
            .windows(2)
            .any(|w| SECRET_PAIRS.contains(&(w[0].as_str(), w[1].as_str())))
}

fn name_parts(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            parts.push(std::mem::take(&mut part));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            parts.push(std::mem::take(&mut part));
        }
        previous_lower = c.is_lowercase();
        part.extend(c.to_lowercase());
    }
    parts.push(part);
    parts.retain(|p| !p.is_empty());
    parts
}

/// The secret columns of every V1 table of the source schema, by table.
#[derive(Debug, Default)]
pub struct Redactions {
    tables: BTreeMap<QualName, TableSecrets>,
}

impl Redactions {
    /// Reads `redact:` against V1's catalog (unknown tables and columns, and primary key
    /// columns, are errors) and adds the secret-looking columns of the tables it does not list.
    pub fn resolve(
        decl: &IndexMap<Text, Vec<Text>>,
        v1: &Catalog,
        source_schema: &str,
        diags: &mut Diagnostics,
    ) -> Redactions {
        let tables: Vec<_> = v1
            .tables_in(source_schema)
            .filter(|t| t.partition_of.is_none())
            .collect();
        for name in decl.keys() {
            if !tables.iter().any(|t| t.name.name == name.as_str()) {
                let candidates: Vec<String> = tables.iter().map(|t| t.name.name.clone()).collect();
                let mut d = Diagnostic::error(
                    format!(
                        "redact: V1 has no table `{}` in schema `{source_schema}`",
                        name.as_str()
                    ),
                    pos_of(name),
                );
                if let Some(s) = did_you_mean(name.as_str(), &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
        let mut out = Redactions::default();
        for table in tables {
            let key: Vec<String> = table
                .primary_key
                .as_ref()
                .map_or(Vec::new(), |k| k.columns.clone());
            let mut secrets = TableSecrets {
                table: table.name.clone(),
                columns: table.columns.iter().map(|c| c.name.clone()).collect(),
                redacted: Vec::new(),
                kept: Vec::new(),
            };
            let listed = decl
                .iter()
                .find(|(name, _)| name.as_str() == table.name.name);
            if let Some((name, columns)) = listed {
                for column in columns {
                    let at = pos_of(column);
                    if table.column(column.as_str()).is_none() {
                        let mut d = Diagnostic::error(
                            format!(
                                "redact: column `{}` does not exist in V1 table `{}`",
                                column.as_str(),
                                table.name
                            ),
                            at,
                        );
                        if let Some(s) = did_you_mean(column.as_str(), &secrets.columns) {
                            d = d.with_hint(format!("did you mean `{s}`?"));
                        }
                        diags.push(d);
                    } else if key.iter().any(|k| k == column.as_str()) {
                        diags.push(
                            Diagnostic::error(format!("redact: `{}.{}` is part of the primary key, which rejects name their V1 row by", table.name.name, column.as_str()), at)
                                .with_hint("the key is copied into `_pgmig.rejects.source_key` and the archives: leave it out of `redact:`"),
                        );
                    } else if !secrets.redacted.iter().any(|r| r.column == column.as_str()) {
                        secrets.redacted.push(Redacted {
                            column: column.to_string(),
                            line: at.map_or(0, |p| p.line),
                        });
                    }
                }
                let line = pos_of(name).map_or(0, |p| p.line);
                for c in &secrets.columns {
                    if looks_secret(c)
                        && !key.contains(c)
                        && !secrets.redacted.iter().any(|r| &r.column == c)
                    {
                        secrets.kept.push(KeptSecret {
                            column: c.clone(),
                            why: KeptWhy::Listed { line },
                        });
                    }
                }
            } else {
                for c in secrets
                    .columns
                    .iter()
                    .filter(|c| looks_secret(c) && !key.contains(c))
                {
                    secrets.redacted.push(Redacted {
                        column: c.clone(),
                        line: 0,
                    });
                }
            }
            for k in key.iter().filter(|k| looks_secret(k)) {
                secrets.kept.push(KeptSecret {
                    column: k.clone(),
                    why: KeptWhy::Key,
                });
            }
            out.tables.insert(table.name.clone(), secrets);
        }
        out
    }

    /// The secret columns of `table`, if it is a V1 table of the source schema.
    pub fn of(&self, table: &QualName) -> Option<&TableSecrets> {
        self.tables.get(table)
    }

    /// Whether an expression (as printed) names a redacted column of any table: a value
    /// computed from a secret is one.
    pub fn mentioned_in(&self, expr: &str) -> bool {
        self.tables
            .values()
            .flat_map(|t| &t.redacted)
            .any(|r| mentions(expr, &r.column))
    }

    /// The read tables that have a secret column, in name order.
    pub fn of_read(&self, read: &[&QualName]) -> Vec<TableSecrets> {
        self.tables
            .values()
            .filter(|t| read.contains(&&t.table) && !(t.redacted.is_empty() && t.kept.is_empty()))
            .cloned()
            .collect()
    }

    /// A compile note per read table whose columns are redacted because of their names: the
    /// model did not say, so the author hears about it. `at` is where a step reads the table.
    pub fn notes(
        &self,
        read: &[(&QualName, Option<crate::diagnostic::Pos>)],
        diags: &mut Diagnostics,
    ) {
        for (table, at) in read {
            let Some(t) = self.tables.get(*table) else {
                continue;
            };
            let by_name: Vec<&str> = t
                .redacted
                .iter()
                .filter(|r| r.line == 0)
                .map(|r| r.column.as_str())
                .collect();
            if by_name.is_empty() {
                continue;
            }
            diags.push(
                Diagnostic::warning(
                    format!(
                        "V1 column{} {} of `{}` look{} secret: rejects, archives and precheck show {} as \"{REDACTED}\"",
                        if by_name.len() > 1 { "s" } else { "" },
                        by_name.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
                        t.table,
                        if by_name.len() > 1 { "" } else { "s" },
                        if by_name.len() > 1 { "their values" } else { "its values" },
                    ),
                    *at,
                )
                .with_hint(format!(
                    "say so in the model: `redact: {{{}: [{}]}}` (`{}: []` keeps every value)",
                    t.table.name,
                    by_name.join(", "),
                    t.table.name
                )),
            );
        }
    }
}

/// Marks the repairs of secret values (computed from a redacted V1 column); `suffix` on one is
/// an error: `_pgmig.changes` would hold the new value.
pub fn check_repairs(
    repairs: &mut [Repair],
    redactions: &Redactions,
    rules: &[crate::model::RepairRule],
    errors: &mut Vec<Diagnostic>,
) {
    for r in repairs.iter_mut() {
        r.secret = redactions.mentioned_in(&r.original);
        if r.secret && r.strategy == RepairStrategy::Suffix {
            let at = rules
                .iter()
                .find(|rule| rule.column.as_str() == r.column)
                .and_then(|rule| pos_of(&rule.on_duplicate));
            errors.push(
                Diagnostic::error(format!("`{}` holds a secret: `on_duplicate: suffix` would record its values in _pgmig.changes", r.column), at)
                    .with_hint("use `on_duplicate: clear` (the old value is recorded as \"[redacted]\"), or reject the duplicates"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names() {
        for name in [
            "password",
            "Password",
            "password_hash",
            "passwordHash",
            "userpassword",
            "api_key",
            "apiKey",
            "APIKey",
            "api_token",
            "refresh_tokens",
            "totp_secret",
            "salt",
            "pw_hash",
            "pin",
            "private_key",
            "client_secret",
            "passwd",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "id",
            "email",
            "key",
            "passing_grade",
            "pinned",
            "hashtag_count",
            "keyboard",
            "name",
            "created_at",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}

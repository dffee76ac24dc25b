//! The first pass over a step: which V2 table it fills and what its id map offers.

use crate::catalog::{quote_ident, Table};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{pos_at, pos_of, KeyDecl, Text};

use super::lookup::MapShape;
use crate::plan::RowKey;

/// What the first pass learns of a step.
pub struct StepHead {
    pub table: Table,
    pub key_columns: Vec<String>,
    pub row_key: RowKey,
    pub shape: MapShape,
}

impl StepHead {
    pub fn new(
        name: &Text,
        step: &crate::model::Step,
        table: &Table,
        tables_in: &str,
        diags: &mut Diagnostics,
    ) -> StepHead {
        let (pk, row_key) = super::row_key::resolve(name, step, table, diags)
            .unwrap_or((Vec::new(), RowKey::Declared { line: 0 }));
        let map_table = format!(
            "{}.{}",
            tables_in,
            quote_ident(&super::names::derived("map_", name.as_str()))
        );
        let type_of = |c: &str| {
            table
                .column(c)
                .map_or(String::new(), |c| c.data_type.clone())
        };
        let shape = match step.key.as_deref() {
            Some(KeyDecl::New { by, .. }) => MapShape {
                map_table,
                key_columns: map_key_names(by, pk.first().map_or("", String::as_str)),
                result_column: pk.first().cloned().unwrap_or_default(),
                result_type: pk.first().map(|c| type_of(c)).unwrap_or_default(),
            },
            _ => MapShape {
                map_table,
                key_columns: pk.clone(),
                result_column: pk.first().cloned().unwrap_or_default(),
                result_type: pk.first().map(|c| type_of(c)).unwrap_or_default(),
            },
        };
        if let Some(KeyDecl::New { new, .. }) = step.key.as_deref() {
            if pk.len() > 1 {
                diags.push(
                    Diagnostic::error(
                        format!(
                            "`key: new` needs a one-column key; `{}` is keyed by ({})",
                            table.name,
                            pk.join(", ")
                        ),
                        pos_of(new),
                    )
                    .with_hint("use `key: keep` and fill each key column in `columns`"),
                );
            }
        }
        if let Some(KeyDecl::Word(w)) = step.key.as_deref() {
            if w != "keep" {
                diags.push(
                    Diagnostic::error(format!("unknown key strategy `{w}`"), step.key.as_ref().and_then(|k| pos_at(k, w.chars().count())).or_else(|| pos_of(name)))
                        .with_hint("write `key: keep`, `key: [column, …]` or `key: {new: gen_random_uuid(), by: [p.id]}`"),
                );
            }
        }
        StepHead {
            table: table.clone(),
            key_columns: pk,
            row_key,
            shape,
        }
    }
}

/// Id map column names for `by` expressions: the column name each one reads, made unique
/// and kept apart from the key column the map also holds (`source_id` next to `id`).
pub fn map_key_names(by: &[Text], key_column: &str) -> Vec<String> {
    let mut names: Vec<String> = vec![key_column.to_string()];
    for (i, b) in by.iter().enumerate() {
        let last = b
            .as_str()
            .rsplit('.')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_lowercase();
        let plain = !last.is_empty() && last.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut name = if plain { last } else { format!("key{}", i + 1) };
        if name == key_column {
            name = format!("source_{name}");
        }
        if names.contains(&name) {
            name = format!("{name}_{}", i + 1);
        }
        names.push(name);
    }
    names.split_off(1)
}

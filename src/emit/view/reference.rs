//! Reference rows as migrate inserts them, precheck borrows them, verify finds them and rollback removes them.

use super::step::SequenceView;
use super::{lit, INDENT};
use crate::catalog::quote_ident;
use crate::plan::Reference;

/// One reference table's rows, as migrate inserts them, verify finds them and rollback removes them.
#[derive(Debug, Clone)]
pub struct ReferenceView {
    pub table: String,
    pub line: usize,
    /// `(code)`: the natural key, for comments and ON CONFLICT.
    pub key_list: String,
    /// `code, name, user_type_id`: the columns the rows give.
    pub column_list: String,
    /// `VALUES` rows, one per line.
    pub values: String,
    /// The insert's select list and parent joins (a parent named by its natural key).
    pub select_list: String,
    pub parent_joins: Vec<String>,
    pub primary_key_list: String,
    /// `jsonb_build_object('id', id)` over the inserted rows.
    pub primary_key_json: String,
    /// `t.id = (r.key ->> 'id')::integer AND …`: a row migrate inserted.
    pub inserted_here: String,
    /// `t.code = w.code AND …`: a wanted row is there (parents named by natural key resolved).
    pub present: String,
    /// `t.name IS NOT DISTINCT FROM w.name AND …`: the row has every other column as declared.
    pub same_values: String,
    /// One `NOT EXISTS (…)` per V2 foreign key pointing here: nothing uses the row.
    pub unused: Vec<String>,
    pub rows: usize,
    pub sequences: Vec<SequenceView>,
    /// The sequences of the key columns the rows leave out: migrate draws those keys,
    /// precheck (which must not move a sequence) makes them up below the table's smallest.
    pub drawn: Vec<SequenceView>,
}

impl ReferenceView {
    pub(super) fn new(r: &Reference) -> ReferenceView {
        let q = |c: &String| quote_ident(c);
        let list = |cols: &[String]| cols.iter().map(q).collect::<Vec<_>>().join(", ");
        let names: Vec<String> = r.columns.iter().map(|c| c.name.clone()).collect();
        let mut parent_joins = Vec::new();
        let select: Vec<String> = r
            .columns
            .iter()
            .map(|c| match &c.parent {
                Some((table, key_col, referenced)) => {
                    let alias = quote_ident(&format!("parent_{}", c.name));
                    parent_joins.push(format!(
                        "LEFT JOIN {table} AS {alias} ON {alias}.{} = w.{}",
                        q(key_col),
                        q(&c.name)
                    ));
                    format!("{alias}.{}", q(referenced))
                }
                None => format!("w.{}", q(&c.name)),
            })
            .collect();
        let pk_names: Vec<String> = r.primary_key.iter().map(|(k, _)| k.clone()).collect();
        ReferenceView {
            table: r.table.to_string(),
            line: r.line,
            key_list: list(&r.key),
            column_list: list(&names),
            values: r
                .rows
                .iter()
                .map(|row| format!("({})", row.join(", ")))
                .collect::<Vec<_>>()
                .join(&format!(",\n{INDENT}       ")),
            select_list: select.join(", "),
            parent_joins,
            primary_key_list: list(&pk_names),
            primary_key_json: format!(
                "jsonb_build_object({})",
                pk_names
                    .iter()
                    .map(|k| format!("{}, {}", lit(k), q(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            inserted_here: r
                .primary_key
                .iter()
                .map(|(k, ty)| format!("t.{} = CAST(r.key ->> {} AS {ty})", q(k), lit(k)))
                .collect::<Vec<_>>()
                .join(" AND "),
            present: r
                .key
                .iter()
                .map(|k| {
                    format!(
                        "t.{} = {}",
                        q(k),
                        names
                            .iter()
                            .position(|n| n == k)
                            .map_or(String::new(), |i| select[i].clone())
                    )
                })
                .collect::<Vec<_>>()
                .join(" AND "),
            same_values: {
                let same: Vec<String> = names
                    .iter()
                    .zip(&select)
                    .filter(|(n, _)| !r.key.contains(n))
                    .map(|(n, v)| format!("t.{} IS NOT DISTINCT FROM {v}", q(n)))
                    .collect();
                if same.is_empty() {
                    "true".to_string()
                } else {
                    same.join(" AND ")
                }
            },
            unused: r
                .referenced_by
                .iter()
                .map(|(child, cols, refd)| {
                    let on = cols
                        .iter()
                        .zip(refd)
                        .map(|(c, p)| format!("c.{} = t.{}", q(c), q(p)))
                        .collect::<Vec<_>>()
                        .join(" AND ");
                    format!("NOT EXISTS (SELECT 1 FROM {child} AS c WHERE {on})")
                })
                .collect(),
            rows: r.rows.len(),
            sequences: r.sequences.iter().map(SequenceView::new).collect(),
            drawn: r
                .sequences
                .iter()
                .filter(|s| !r.columns.iter().any(|c| c.name == s.column))
                .map(SequenceView::new)
                .collect(),
        }
    }
}

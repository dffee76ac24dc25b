//! Reference rows as migrate inserts them, precheck borrows them, verify finds them and rollback removes them.

use super::step::SequenceView;
use super::TableRows;
use crate::plan::{Plan, Reference};

/// One reference table's rows, as migrate inserts them, verify finds them and rollback
/// removes them; templates/reference.sql prints its SQL (names as they are, quoted there).
#[derive(Debug, Clone)]
pub struct ReferenceView {
    pub table: TableRows,
    pub line: usize,
    /// The natural key: for comments and ON CONFLICT.
    pub key: Vec<String>,
    /// The columns the rows give, in V2's order; those of the natural key (in its order),
    /// and the others.
    pub columns: Vec<ReferenceColumnView>,
    pub key_columns: Vec<ReferenceColumnView>,
    pub other_columns: Vec<ReferenceColumnView>,
    /// The `VALUES` rows: one SQL literal per column, cast to its type (the check pass
    /// wrote them).
    pub values: Vec<Vec<String>>,
    /// The primary key, recorded for the rows inserted so rollback removes exactly those.
    pub primary_key: Vec<KeyColumn>,
    /// The V2 foreign keys pointing here: rollback keeps a row one of them uses.
    pub referenced_by: Vec<ReferencingKey>,
    pub rows: usize,
    pub sequences: Vec<SequenceView>,
    /// The sequences of the key columns the rows leave out: migrate draws those keys,
    /// precheck (which must not move a sequence) makes them up below the table's smallest.
    pub drawn: Vec<SequenceView>,
}

/// A column the rows give: its value, or a parent's natural key looked up in `parent`.
#[derive(Debug, Clone)]
pub struct ReferenceColumnView {
    pub name: String,
    pub parent: Option<ParentLookup>,
}

/// A parent reference table joined by its natural key column, giving its referenced column.
#[derive(Debug, Clone)]
pub struct ParentLookup {
    pub table: String,
    pub key_column: String,
    pub referenced: String,
}

/// A primary key column and its type (as the catalog prints it).
#[derive(Debug, Clone)]
pub struct KeyColumn {
    pub name: String,
    pub data_type: String,
}

/// A child table's foreign key into the reference table: its columns, each with the column
/// it references.
#[derive(Debug, Clone)]
pub struct ReferencingKey {
    pub child: String,
    pub columns: Vec<ReferencingColumn>,
}

#[derive(Debug, Clone)]
pub struct ReferencingColumn {
    pub column: String,
    pub referenced: String,
}

impl ReferenceView {
    pub(super) fn new(plan: &Plan, r: &Reference) -> ReferenceView {
        let columns: Vec<ReferenceColumnView> = r
            .columns
            .iter()
            .map(|c| ReferenceColumnView {
                name: c.name.clone(),
                parent: c
                    .parent
                    .as_ref()
                    .map(|(table, key_column, referenced)| ParentLookup {
                        table: table.to_string(),
                        key_column: key_column.clone(),
                        referenced: referenced.clone(),
                    }),
            })
            .collect();
        ReferenceView {
            table: TableRows::of(plan, &r.table),
            line: r.line,
            key: r.key.clone(),
            key_columns: (r.key.iter())
                .filter_map(|k| columns.iter().find(|c| &c.name == k).cloned())
                .collect(),
            other_columns: (columns.iter())
                .filter(|c| !r.key.contains(&c.name))
                .cloned()
                .collect(),
            columns,
            values: r.rows.clone(),
            primary_key: (r.primary_key.iter())
                .map(|(name, data_type)| KeyColumn {
                    name: name.clone(),
                    data_type: data_type.clone(),
                })
                .collect(),
            referenced_by: (r.referenced_by.iter())
                .map(|(child, cols, referenced)| ReferencingKey {
                    child: child.to_string(),
                    columns: (cols.iter().zip(referenced))
                        .map(|(c, p)| ReferencingColumn {
                            column: c.clone(),
                            referenced: p.clone(),
                        })
                        .collect(),
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

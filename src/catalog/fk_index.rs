//! Which index serves a foreign key: one rule for the compiler (V2's catalog, PLAN.md and the
//! indexes rollback.sql builds) and the linter (`foreign-key-without-index`, on a script's
//! statements). Deleting a referenced row, or changing its key, makes PostgreSQL look up the
//! referencing rows; it can use a primary key, a UNIQUE constraint or a full (not partial)
//! btree or hash index whose first keys are the foreign key's columns, in any order. Without
//! one, each lookup reads the whole referencing table.

use std::collections::BTreeSet;

use super::Table;
use crate::sql_text::quote_ident;

/// An index, primary key or UNIQUE constraint of a table, as the rule reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexKeys {
    /// The keys in order, as `pg_get_indexdef` prints them (`"Name" DESC`,
    /// `email text_pattern_ops`); an expression key names no column.
    pub keys: Vec<String>,
    /// PostgreSQL's foreign key check can use it (see [`IndexKeys::index`]).
    pub usable: bool,
}

impl IndexKeys {
    /// A primary key or UNIQUE constraint on plain columns (always usable).
    pub fn constraint(columns: &[String]) -> IndexKeys {
        IndexKeys {
            keys: columns.iter().map(|c| quote_ident(c)).collect(),
            usable: true,
        }
    }

    /// An index by its access method (`btree`, `gin`…), whether it is partial, and its keys:
    /// usable when full and btree or hash.
    pub fn index(method: &str, partial: bool, keys: Vec<String>) -> IndexKeys {
        IndexKeys {
            keys,
            usable: !partial && matches!(method.to_lowercase().as_str(), "btree" | "hash"),
        }
    }

    /// Its first keys are the plain columns `columns`, in any order.
    fn leads_with(&self, columns: &[String]) -> bool {
        let wanted: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
        self.keys.len() >= wanted.len()
            && self.keys[..wanted.len()]
                .iter()
                .all(|k| wanted.iter().any(|c| key_is_column(k, c)))
    }
}

/// A catalog table's indexes, its primary key and UNIQUE constraints included.
pub fn of_table(table: &Table) -> Vec<IndexKeys> {
    let constraints = table
        .primary_key
        .iter()
        .chain(&table.uniques)
        .map(|k| IndexKeys::constraint(&k.columns));
    let indexes = table
        .indexes
        .iter()
        .map(|i| IndexKeys::index(&i.method, i.predicate.is_some(), i.keys.clone()));
    constraints.chain(indexes).collect()
}

/// Some usable index among `indexes` (of one table) leads with the foreign key's `columns`.
pub fn has_index_leading_with<'a>(
    indexes: impl IntoIterator<Item = &'a IndexKeys>,
    columns: &[String],
) -> bool {
    indexes
        .into_iter()
        .any(|i| i.usable && i.leads_with(columns))
}

/// An index key as `pg_get_indexdef` prints it (`"Name" DESC`, `email text_pattern_ops`) is
/// the plain column `column`.
fn key_is_column(key: &str, column: &str) -> bool {
    let quoted = quote_ident(column);
    key == quoted
        || key
            .strip_prefix(quoted.as_str())
            .is_some_and(|rest| rest.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_index_serves_a_foreign_key_when_usable_and_leading_with_its_columns() {
        let btree = |keys: &[&str]| IndexKeys::index("btree", false, strings(keys));
        for (index, columns, served) in [
            (btree(&["p_id"]), &["p_id"][..], true),
            (btree(&["p_id DESC", "id"]), &["p_id"], true),
            (btree(&["p_id text_pattern_ops"]), &["p_id"], true),
            (btree(&["id", "p_id"]), &["p_id"], false),
            (btree(&["p_idx"]), &["p_id"], false),
            (btree(&["\"P\"", "k"]), &["k", "P"], true),
            (btree(&["p"]), &["P"], false),
            (btree(&["lower(p_id)"]), &["p_id"], false),
            (btree(&["k", "lower(p_id)"]), &["k", "p_id"], false),
            (btree(&["k"]), &["k", "p_id"], false),
            (
                IndexKeys::index("BTREE", false, strings(&["p_id"])),
                &["p_id"],
                true,
            ),
            (
                IndexKeys::index("hash", false, strings(&["p_id"])),
                &["p_id"],
                true,
            ),
            (
                IndexKeys::index("btree", true, strings(&["p_id"])),
                &["p_id"],
                false,
            ),
            (
                IndexKeys::index("gin", false, strings(&["p_id"])),
                &["p_id"],
                false,
            ),
            (
                IndexKeys::constraint(&strings(&["p_id", "n"])),
                &["p_id"],
                true,
            ),
            (IndexKeys::constraint(&strings(&["P"])), &["P"], true),
        ] {
            assert_eq!(
                has_index_leading_with([&index], &strings(columns)),
                served,
                "{index:?} for {columns:?}"
            );
        }
        assert!(!has_index_leading_with([], &strings(&["p_id"])));
    }
}

//! V2's primary keys, UNIQUE constraints and indexes built before the swap with
//! `CREATE [UNIQUE] INDEX CONCURRENTLY` on the new columns (reads and writes go on), under a
//! name of their own; the swap only attaches them (`ADD CONSTRAINT … USING INDEX`, `ALTER
//! INDEX … RENAME`), so its ACCESS EXCLUSIVE window does not grow with the table.

use super::{InPlace, ObjKind, StorageParameter};
use crate::catalog::{quote_ident, Deferrable, QualName};

/// One index built before the swap; the templates print its statements (names as they are,
/// quoted there).
#[derive(Debug, Clone)]
pub struct Prebuilt {
    pub table: String,
    /// Its name while it is built (`pgmig_ix_…`: CREATE INDEX puts it in the table's
    /// schema), and qualified.
    pub index: String,
    pub index_qualified: String,
    /// V2's name: the constraint's or the index's.
    pub name: String,
    pub unique: bool,
    pub method: String,
    /// A key's columns, the new ones for those whose type changes; or an index's keys as
    /// the catalog prints them (expressions: PostgreSQL's own text, the renamed columns'
    /// mentions rewritten by [`rename_columns`]).
    pub columns: Vec<String>,
    pub expressions: Vec<String>,
    pub include: Vec<String>,
    pub storage_parameters: Vec<StorageParameter>,
    /// The index's predicate as the catalog prints it, renamed like its keys.
    pub predicate: Option<String>,
    /// `PRIMARY KEY` or `UNIQUE` when a constraint takes the index in the swap; empty for
    /// an index of its own.
    pub constraint: &'static str,
    pub deferrable: Deferrable,
}

/// The keys, UNIQUE constraints and indexes V2 re-creates, in `m.creates`' order.
pub fn prebuilt(m: &InPlace) -> Vec<Prebuilt> {
    m.creates
        .iter()
        .filter(|o| {
            matches!(
                o.kind,
                ObjKind::PrimaryKey | ObjKind::Unique | ObjKind::Index
            )
        })
        .filter_map(|o| {
            let t2 = m.v2_tables.iter().find(|t| t.name == o.table)?;
            let renames: Vec<(String, String)> = m
                .tables
                .iter()
                .filter(|t| t.name == o.table)
                .flat_map(|t| &t.types)
                .map(|c| (c.column.clone(), format!("pgmig_new_{}", c.column)))
                .collect();
            let renamed = |cs: &[String]| {
                cs.iter()
                    .map(|c| {
                        renames
                            .iter()
                            .find(|(from, _)| from == c)
                            .map_or(c, |(_, to)| to)
                            .clone()
                    })
                    .collect::<Vec<_>>()
            };
            let index = crate::check::names::derived("pgmig_ix_", &o.name);
            let base = Prebuilt {
                table: o.table.to_string(),
                index_qualified: QualName::new(&o.table.schema, &index).to_string(),
                index,
                name: o.name.clone(),
                unique: true,
                method: "btree".to_string(),
                columns: Vec::new(),
                expressions: Vec::new(),
                include: Vec::new(),
                storage_parameters: Vec::new(),
                predicate: None,
                constraint: "",
                deferrable: Deferrable::No,
            };
            let key = match o.kind {
                ObjKind::PrimaryKey => t2.primary_key.as_ref(),
                ObjKind::Unique => t2.uniques.iter().find(|u| u.name == o.name),
                _ => None,
            };
            if let Some(key) = key {
                return Some(Prebuilt {
                    columns: renamed(&key.columns),
                    include: renamed(&key.include),
                    constraint: if o.kind == ObjKind::PrimaryKey {
                        "PRIMARY KEY"
                    } else {
                        "UNIQUE"
                    },
                    deferrable: key.deferrable,
                    ..base
                });
            }
            let ix = t2.indexes.iter().find(|i| i.name == o.name)?;
            Some(Prebuilt {
                unique: ix.unique,
                method: ix.method.clone(),
                expressions: ix
                    .keys
                    .iter()
                    .map(|k| rename_columns(k, &renames))
                    .collect(),
                include: renamed(&ix.include),
                storage_parameters: ix
                    .storage_parameters
                    .iter()
                    .map(|p| StorageParameter::parse(p))
                    .collect(),
                predicate: ix.predicate.as_ref().map(|p| rename_columns(p, &renames)),
                ..base
            })
        })
        .collect()
}

/// An index key or predicate (as the catalog prints it) with every mention of a renamed
/// column read from its new column: a word token naming the column (unquoted, any case; or
/// quoted, exactly), unless it is qualified (`x.col`), a cast's type (`::col`) or a
/// function's name (`col(`).
pub fn rename_columns(expr: &str, renames: &[(String, String)]) -> String {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, expr).tokenize() else {
        return expr.to_string();
    };
    let significant = |i: usize, step: isize| {
        let mut j = i as isize + step;
        while j >= 0 && (j as usize) < tokens.len() {
            if !matches!(tokens[j as usize], Token::Whitespace(_)) {
                return Some(&tokens[j as usize]);
            }
            j += step;
        }
        None
    };
    tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let Token::Word(w) = token else {
                return token.to_string();
            };
            let name = if w.quote_style.is_some() {
                w.value.clone()
            } else {
                w.value.to_lowercase()
            };
            let renamed = renames.iter().find(|(from, _)| *from == name);
            let before = significant(i, -1);
            let after = significant(i, 1);
            match renamed {
                Some((_, to))
                    if !matches!(before, Some(Token::Period | Token::DoubleColon))
                        && !matches!(after, Some(Token::LParen | Token::Period)) =>
                {
                    quote_ident(to)
                }
                _ => token.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_the_column_where_it_is_a_column() {
        let r = [("user_id".to_string(), "pgmig_new_user_id".to_string())];
        assert_eq!(rename_columns("user_id", &r), "pgmig_new_user_id");
        assert_eq!(
            rename_columns("lower((user_id)::text) DESC", &r),
            "lower((pgmig_new_user_id)::text) DESC"
        );
        assert_eq!(
            rename_columns("(NOT done) AND (\"user_id\" IS NOT NULL)", &r),
            "(NOT done) AND (pgmig_new_user_id IS NOT NULL)"
        );
        // A function, a cast's type, a qualified name and a string are not the column.
        assert_eq!(
            rename_columns("user_id(x)::user_id, t.user_id, 'user_id'", &r),
            "user_id(x)::user_id, t.user_id, 'user_id'"
        );
        let quoted = [("User Id".to_string(), "pgmig_new_User Id".to_string())];
        assert_eq!(
            rename_columns("\"User Id\", user_id", &quoted),
            "\"pgmig_new_User Id\", user_id"
        );
    }
}

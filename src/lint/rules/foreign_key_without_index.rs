//! `foreign-key-without-index`: a FOREIGN KEY whose columns no index of the referencing table
//! leads with (a primary key, UNIQUE constraint or full btree/hash index, anywhere in the
//! script: [`crate::catalog::fk_index`]'s rule, which the compiler applies to V2's catalog).
//! Deleting a referenced row, or changing its key, makes PostgreSQL look for the rows
//! referencing it: without such an index each lookup reads the whole referencing table while
//! the delete holds its locks, once per row deleted (pgmig's rollback.sql builds indexes for
//! its own deletes; PLAN.md lists every such key). A warning: a table nobody deletes from can
//! live without it.

use std::collections::BTreeMap;

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, Expr, Ident, IndexColumn, Statement, TableConstraint,
};

use super::{Ctx, Hit, Rule};
use crate::catalog::fk_index::{has_index_leading_with, IndexKeys};
use crate::lint::locks::{table_key, table_name};
use crate::lint::script::Stmt;
use crate::lint::Severity;
use crate::sql_text::quote_ident;

pub const RULE: Rule = Rule {
    name: "foreign-key-without-index",
    summary: "FOREIGN KEY whose columns no index of the referencing table leads with",
    once: false,
    check,
};

/// The script's primary keys, UNIQUE constraints and indexes, by table.
#[derive(Debug, Default)]
pub struct Indexes(BTreeMap<String, Vec<IndexKeys>>);

impl Indexes {
    /// Every primary key, UNIQUE constraint and index of the script.
    pub fn of(statements: &[Stmt]) -> Indexes {
        let mut by_table: BTreeMap<String, Vec<IndexKeys>> = BTreeMap::new();
        let mut add = |table: &str, index: Option<IndexKeys>| {
            if let Some(index) = index {
                by_table.entry(table_key(table)).or_default().push(index);
            }
        };
        for ast in statements.iter().filter_map(|s| s.ast.as_ref()) {
            match ast {
                Statement::CreateTable(ct) => {
                    let table = table_name(&ct.name);
                    for c in &ct.columns {
                        for o in &c.options {
                            if matches!(
                                o.option,
                                ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
                            ) {
                                add(&table, Some(IndexKeys::constraint(&[name(&c.name)])));
                            }
                        }
                    }
                    for k in &ct.constraints {
                        add(&table, constraint_keys(k));
                    }
                }
                Statement::AlterTable(at) => {
                    let table = table_name(&at.name);
                    for op in &at.operations {
                        if let AlterTableOperation::AddConstraint { constraint, .. } = op {
                            add(&table, constraint_keys(constraint));
                        }
                    }
                }
                Statement::CreateIndex(ci) => {
                    let method = ci.using.as_ref().map_or("btree".into(), |u| u.to_string());
                    let keys = ci.columns.iter().map(index_key).collect();
                    let index = IndexKeys::index(&method, ci.predicate.is_some(), keys);
                    add(&table_name(&ci.table_name), Some(index));
                }
                _ => {}
            }
        }
        Indexes(by_table)
    }

    /// Some index of `table` serves a foreign key on `columns`.
    fn leads_with(&self, table: &str, columns: &[String]) -> bool {
        self.0
            .get(&table_key(table))
            .is_some_and(|indexes| has_index_leading_with(indexes, columns))
    }
}

fn name(ident: &Ident) -> String {
    if ident.quote_style.is_none() {
        ident.value.to_lowercase()
    } else {
        ident.value.clone()
    }
}

fn constraint_keys(constraint: &TableConstraint) -> Option<IndexKeys> {
    let columns = match constraint {
        TableConstraint::PrimaryKey(k) => &k.columns,
        TableConstraint::Unique(k) => &k.columns,
        _ => return None,
    };
    Some(IndexKeys {
        keys: columns.iter().map(index_key).collect(),
        usable: true,
    })
}

/// An index key as PostgreSQL prints it: a plain column quoted where needed, an expression as
/// written (it names no column).
fn index_key(key: &IndexColumn) -> String {
    match &key.column.expr {
        Expr::Identifier(i) => quote_ident(&name(i)),
        expr => expr.to_string(),
    }
}

fn check(ctx: &Ctx) -> Vec<Hit> {
    let (table, keys): (String, Vec<(Vec<String>, String)>) = match ctx.ast {
        Statement::CreateTable(ct) => {
            let mut keys: Vec<(Vec<String>, String)> = ct
                .columns
                .iter()
                .flat_map(|c| {
                    c.options.iter().filter_map(move |o| match &o.option {
                        ColumnOption::ForeignKey(fk) => {
                            Some((vec![name(&c.name)], table_name(&fk.foreign_table)))
                        }
                        _ => None,
                    })
                })
                .collect();
            keys.extend(ct.constraints.iter().filter_map(foreign_key));
            (table_name(&ct.name), keys)
        }
        Statement::AlterTable(at) => (
            table_name(&at.name),
            at.operations
                .iter()
                .filter_map(|op| match op {
                    AlterTableOperation::AddConstraint { constraint, .. } => {
                        foreign_key(constraint)
                    }
                    _ => None,
                })
                .collect(),
        ),
        _ => return Vec::new(),
    };
    keys.into_iter()
        .filter(|(columns, _)| !ctx.indexes.leads_with(&table, columns))
        .map(|(columns, parent)| {
            let list = columns.join(", ");
            Hit {
                severity: Severity::Warning,
                table: Some(table.clone()),
                message: format!(
                    "no index of {table} leads with ({list}), the columns of its foreign key to {parent}: each {parent} row deleted (or whose key changes) makes PostgreSQL read all of {table}"
                ),
                safer: format!("CREATE INDEX CONCURRENTLY ON {table} ({list}), outside a transaction block"),
            }
        })
        .collect()
}

fn foreign_key(constraint: &TableConstraint) -> Option<(Vec<String>, String)> {
    match constraint {
        TableConstraint::ForeignKey(fk) => Some((
            fk.columns.iter().map(name).collect(),
            table_name(&fk.foreign_table),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::fired;
    use crate::lint::Severity::*;

    const NAME: &str = "foreign-key-without-index";

    #[test]
    fn keys_without_an_index_anywhere_in_the_script() {
        let parent = "CREATE TABLE p (id int PRIMARY KEY, k int, UNIQUE (id, k));\n";
        let fires = |sql: &str| fired(&format!("{parent}{sql}"), NAME);
        assert_eq!(
            fires("CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);"),
            vec![(2, Warning)]
        );
        assert_eq!(
            fires("CREATE TABLE c (id int, p_id int, FOREIGN KEY (p_id) REFERENCES p);"),
            vec![(2, Warning)]
        );
        assert_eq!(fires("CREATE TABLE c (id int, p_id int);\nALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (p_id) REFERENCES p;"), vec![(3, Warning)]);
        // An index made later in the script counts, as in pg_dump's order.
        assert!(fires("CREATE TABLE c (id int, p_id int REFERENCES p);\nCREATE INDEX ON public.c (p_id DESC, id);").is_empty());
        assert!(
            fires("CREATE TABLE c (p_id int REFERENCES p, n int, PRIMARY KEY (p_id, n));")
                .is_empty()
        );
        assert!(fires("CREATE TABLE c (p_id int UNIQUE REFERENCES p);").is_empty());
        assert!(fires("CREATE TABLE c (id int, k int, p_id int, FOREIGN KEY (k, p_id) REFERENCES p (k, id));\nCREATE INDEX ON c (p_id, k);").is_empty());
        // An index that does not lead with the columns, a partial one, a GIN one: no help.
        assert_eq!(
            fires("CREATE TABLE c (id int, p_id int REFERENCES p);\nCREATE INDEX ON c (id, p_id);"),
            vec![(2, Warning)]
        );
        assert_eq!(fires("CREATE TABLE c (id int, p_id int REFERENCES p);\nCREATE INDEX ON c (p_id) WHERE p_id > 0;"), vec![(2, Warning)]);
        assert_eq!(fires("CREATE TABLE c (id int, p_id int REFERENCES p);\nCREATE INDEX ON c USING gin (p_id);"), vec![(2, Warning)]);
        assert_eq!(
            fires("CREATE TABLE \"C\" (\"P\" int REFERENCES p);\nCREATE INDEX ON c (p);"),
            vec![(2, Warning)]
        );
        assert!(fires(
            "CREATE TABLE \"C\" (\"P\" int REFERENCES p);\nCREATE INDEX ON \"C\" (\"P\");"
        )
        .is_empty());
    }
}

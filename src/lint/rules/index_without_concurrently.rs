//! `index-without-concurrently`: `CREATE INDEX` without `CONCURRENTLY` on a table the script
//! did not create takes SHARE for the whole build: every INSERT, UPDATE and DELETE waits. The
//! same goes for `ADD PRIMARY KEY` / `ADD UNIQUE`, which build their index under ACCESS
//! EXCLUSIVE. An index on a table created earlier in the script (the `_pgmig` id maps) is
//! fine: nobody else can see that table yet. So is a CREATE INDEX on a table the script's
//! transaction already holds in SHARE to EXCLUSIVE mode (rollback.sql's indexes for its
//! deletes, under its EXCLUSIVE lock): the writers wait already, and readers go on.

use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use super::{Ctx, Hit, Rule};
use crate::lint::locks::table_name;
use crate::lint::{LockMode, Severity};

pub const RULE: Rule = Rule {
    name: "index-without-concurrently",
    summary: "index built on an existing table outside CREATE INDEX CONCURRENTLY",
    once: false,
    check,
};

fn check(ctx: &Ctx) -> Vec<Hit> {
    match ctx.ast {
        Statement::CreateIndex(ci) if !ci.concurrently => {
            let table = table_name(&ci.table_name);
            // Under a lock the transaction holds that already stops writers but not readers
            // (SHARE to EXCLUSIVE) the build makes no one wait who was not waiting; under
            // ACCESS EXCLUSIVE it is reported: readers wait for the whole build there.
            let writers_wait_already =
                ctx.holds(&table, LockMode::Share) && !ctx.holds(&table, LockMode::AccessExclusive);
            if ctx.is_new(&table) || writers_wait_already {
                return Vec::new();
            }
            let unique = if ci.unique { "UNIQUE " } else { "" };
            vec![Hit {
                severity: Severity::Error,
                table: Some(table.clone()),
                message: format!("CREATE {unique}INDEX holds SHARE on {table} for the whole build: every INSERT, UPDATE and DELETE waits"),
                safer: format!(
                    "CREATE {unique}INDEX CONCURRENTLY … ON {table} (SHARE UPDATE EXCLUSIVE: writes go on), outside a transaction block; if it fails, DROP INDEX CONCURRENTLY the invalid index and retry"
                ),
            }]
        }
        Statement::AlterTable(at) => {
            let table = table_name(&at.name);
            if ctx.is_new(&table) {
                return Vec::new();
            }
            at.operations
                .iter()
                .filter_map(|op| match op {
                    AlterTableOperation::AddConstraint { constraint: TableConstraint::PrimaryKey(_), .. } => Some("PRIMARY KEY"),
                    AlterTableOperation::AddConstraint { constraint: TableConstraint::Unique(_), .. } => Some("UNIQUE"),
                    _ => None,
                })
                .map(|kind| Hit {
                    severity: Severity::Error,
                    table: Some(table.clone()),
                    message: format!("ADD {kind} builds its index on {table} under ACCESS EXCLUSIVE: every read and write waits for the build"),
                    safer: format!(
                        "CREATE UNIQUE INDEX CONCURRENTLY idx ON {table} (…), then ALTER TABLE {table} ADD CONSTRAINT name {kind} USING INDEX idx (catalog only)"
                    ),
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::fired;
    use crate::lint::Severity::*;

    const NAME: &str = "index-without-concurrently";

    #[test]
    fn existing_tables() {
        assert_eq!(fired("CREATE INDEX i ON t (a);", NAME), vec![(1, Error)]);
        assert_eq!(
            fired("CREATE UNIQUE INDEX ON s.t (a);", NAME),
            vec![(1, Error)]
        );
        assert_eq!(
            fired("ALTER TABLE t ADD PRIMARY KEY (id);", NAME),
            vec![(1, Error)]
        );
        assert!(fired("CREATE INDEX CONCURRENTLY i ON t (a);", NAME).is_empty());
    }

    #[test]
    fn tables_made_by_the_script_including_inside_do_blocks() {
        let sql = "DO $step$\nBEGIN\n  CREATE TABLE _pgmig.map_a AS SELECT 1 AS id;\n  ALTER TABLE _pgmig.map_a ADD PRIMARY KEY (id);\nEND\n$step$;\nCREATE INDEX ON _pgmig.map_a (id);\n";
        assert!(fired(sql, NAME).is_empty());
        // public.t and t are the same table.
        assert!(fired(
            "CREATE TABLE t (a int);\nCREATE INDEX ON public.t (a);",
            NAME
        )
        .is_empty());
    }

    #[test]
    fn tables_the_transaction_already_holds_against_writers() {
        let under = |lock: &str| {
            fired(
                &format!("BEGIN;\nLOCK TABLE t IN {lock} MODE;\nCREATE INDEX ON public.t (a);\nCOMMIT;\n"),
                NAME,
            )
        };
        assert!(under("EXCLUSIVE").is_empty());
        assert!(under("SHARE").is_empty());
        assert_eq!(under("ROW EXCLUSIVE"), vec![(3, Error)]);
        // Readers wait for a build under ACCESS EXCLUSIVE.
        assert_eq!(under("ACCESS EXCLUSIVE"), vec![(3, Error)]);
        // A lock ends with its transaction, and a statement outside one holds nothing after it.
        let after_commit =
            "BEGIN;\nLOCK TABLE t IN EXCLUSIVE MODE;\nCOMMIT;\nCREATE INDEX ON t (a);\n";
        assert_eq!(fired(after_commit, NAME), vec![(4, Error)]);
        let autocommit = "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX ON t (a);\n";
        assert_eq!(fired(autocommit, NAME), vec![(2, Error)]);
    }
}

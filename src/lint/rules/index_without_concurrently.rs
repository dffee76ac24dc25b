//! `index-without-concurrently`: `CREATE INDEX` without `CONCURRENTLY` on a table the script
//! did not create takes SHARE for the whole build: every INSERT, UPDATE and DELETE waits. The
//! same goes for `ADD PRIMARY KEY` / `ADD UNIQUE`, which build their index under ACCESS
//! EXCLUSIVE. An index on a table created earlier in the script (the `_pgmig` id maps) is
//! fine: nobody else can see that table yet.

use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use super::{Ctx, Hit, Rule};
use crate::lint::locks::table_name;
use crate::lint::Severity;

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
            if ctx.is_new(&table) {
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
}

//! `table-rewrite-under-access-exclusive`: an `ALTER TABLE` that writes the whole table anew
//! (a column type change that is not binary-coercible, `ADD COLUMN` with a volatile default,
//! a stored generated or identity column, `SET LOGGED/UNLOGGED`) or `VACUUM FULL`, on a table
//! the script did not create. The rewrite holds ACCESS EXCLUSIVE from start to end: every
//! read and write of the table waits for a copy of all its rows and a rebuild of all its
//! indexes.

use sqlparser::ast::Statement;

use super::{Ctx, Hit, Rule};
use crate::lint::locks::{alter_op, table_name, Rewrite};
use crate::lint::Severity;

pub const RULE: Rule = Rule {
    name: "table-rewrite-under-access-exclusive",
    summary: "ALTER TABLE that rewrites an existing table while holding ACCESS EXCLUSIVE",
    once: false,
    check,
};

fn check(ctx: &Ctx) -> Vec<Hit> {
    let mut hits = Vec::new();
    match ctx.ast {
        Statement::AlterTable(at) => {
            let table = table_name(&at.name);
            if ctx.is_new(&table) {
                return hits;
            }
            for op in &at.operations {
                let info = alter_op(op);
                let (severity, reason) = match info.rewrite {
                    Rewrite::No => continue,
                    Rewrite::Maybe(r) => (Severity::Warning, r),
                    Rewrite::Yes(r) => (Severity::Error, r),
                };
                let safer = if info.what == "ALTER COLUMN TYPE" {
                    "add a new column of the new type, fill it in batches (UPDATE … WHERE id BETWEEN …, one transaction each), switch the application to it, then drop the old column; or make the change binary-coercible (varchar(n) → text)"
                } else if info.what == "ADD COLUMN" {
                    "add the column with no default (or a constant one: stored in the catalog, no rewrite), fill it in batches, then ALTER COLUMN … SET DEFAULT for new rows"
                } else {
                    "do it in a maintenance window, or build a new table alongside and swap names"
                };
                hits.push(Hit {
                    severity,
                    table: Some(table.clone()),
                    message: format!(
                        "{} rewrites {table} and all its indexes under ACCESS EXCLUSIVE ({reason}); every read and write of {table} waits until it is done",
                        info.what
                    ),
                    safer: safer.to_string(),
                });
            }
        }
        Statement::Vacuum(v) if v.full => {
            let table = v
                .table_name
                .as_ref()
                .map_or("every table".to_string(), table_name);
            if !ctx.is_new(&table) {
                hits.push(Hit {
                    severity: Severity::Error,
                    table: Some(table.clone()),
                    message: format!("VACUUM FULL rewrites {table} under ACCESS EXCLUSIVE; every read and write waits until it is done"),
                    safer: "plain VACUUM (SHARE UPDATE EXCLUSIVE), or pg_repack to compact without the long lock".into(),
                });
            }
        }
        _ => {}
    }
    hits
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::fired;
    use crate::lint::Severity::*;

    const NAME: &str = "table-rewrite-under-access-exclusive";

    #[test]
    fn type_changes() {
        assert_eq!(
            fired("ALTER TABLE t ALTER COLUMN a TYPE bigint;", NAME),
            vec![(1, Error)]
        );
        assert_eq!(
            fired(
                "ALTER TABLE t ALTER COLUMN a SET DATA TYPE text USING a::text;",
                NAME
            ),
            vec![(1, Error)]
        );
        // Free when the old type is varchar(n): the script does not say.
        assert_eq!(
            fired("ALTER TABLE t ALTER COLUMN a TYPE varchar(200);", NAME),
            vec![(1, Warning)]
        );
    }

    #[test]
    fn added_columns() {
        assert_eq!(
            fired(
                "ALTER TABLE t ADD COLUMN u uuid NOT NULL DEFAULT gen_random_uuid();",
                NAME
            ),
            vec![(1, Error)]
        );
        assert_eq!(
            fired("ALTER TABLE t ADD COLUMN n bigserial;", NAME),
            vec![(1, Error)]
        );
        assert_eq!(
            fired("ALTER TABLE t ADD COLUMN f int DEFAULT my_func();", NAME),
            vec![(1, Warning)]
        );
        assert!(fired(
            "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now();",
            NAME
        )
        .is_empty());
        assert!(fired(
            "ALTER TABLE t ADD COLUMN s text NOT NULL DEFAULT 'x';",
            NAME
        )
        .is_empty());
    }

    #[test]
    fn catalog_only_forms_and_new_tables_pass() {
        assert!(fired("ALTER TABLE t DROP COLUMN a;", NAME).is_empty());
        assert!(fired("ALTER TABLE t RENAME COLUMN a TO b;", NAME).is_empty());
        assert!(fired(
            "CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;",
            NAME
        )
        .is_empty());
        assert_eq!(fired("VACUUM FULL t;", NAME), vec![(1, Error)]);
    }
}

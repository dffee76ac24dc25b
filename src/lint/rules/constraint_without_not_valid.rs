//! `constraint-without-not-valid`: `ADD CONSTRAINT … FOREIGN KEY` or `CHECK` on a table the
//! script did not create, without `NOT VALID`. PostgreSQL then checks every existing row
//! while holding the lock the constraint takes: ACCESS EXCLUSIVE for a CHECK (nothing reads
//! the table), SHARE ROW EXCLUSIVE on both tables for a foreign key (nothing writes them).
//! `ALTER COLUMN … SET NOT NULL` scans the same way (a warning: PostgreSQL 12+ skips the
//! scan when a validated `CHECK (col IS NOT NULL)` exists, which the script may not show).

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Statement, TableConstraint};

use super::{Ctx, Hit, Rule};
use crate::lint::locks::table_name;
use crate::lint::Severity;

pub const RULE: Rule = Rule {
    name: "constraint-without-not-valid",
    summary: "FOREIGN KEY or CHECK added to an existing table without NOT VALID: every row checked under the lock",
    once: false,
    check,
};

fn check(ctx: &Ctx) -> Vec<Hit> {
    let Statement::AlterTable(at) = ctx.ast else {
        return Vec::new();
    };
    let table = table_name(&at.name);
    if ctx.is_new(&table) {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for op in &at.operations {
        match op {
            AlterTableOperation::AddConstraint {
                constraint,
                not_valid: false,
            } => {
                let (kind, lock, tables) = match constraint {
                    TableConstraint::ForeignKey(fk) => (
                        "FOREIGN KEY",
                        "SHARE ROW EXCLUSIVE",
                        format!("{table} and {}", table_name(&fk.foreign_table)),
                    ),
                    TableConstraint::Check(_) => ("CHECK", "ACCESS EXCLUSIVE", table.clone()),
                    _ => continue,
                };
                let name = match constraint {
                    TableConstraint::ForeignKey(fk) => fk.name.as_ref().map(|n| n.to_string()),
                    TableConstraint::Check(c) => c.name.as_ref().map(|n| n.to_string()),
                    _ => None,
                }
                .unwrap_or_else(|| "name".into());
                let blocked = if lock == "ACCESS EXCLUSIVE" {
                    "reads and writes"
                } else {
                    "writes"
                };
                hits.push(Hit {
                    severity: Severity::Error,
                    table: Some(table.clone()),
                    message: format!(
                        "ADD CONSTRAINT … {kind} checks every row of {table} while holding {lock} on {tables}: {blocked} wait for the scan"
                    ),
                    safer: format!(
                        "ALTER TABLE {table} ADD CONSTRAINT {name} … NOT VALID (instant; new rows are checked), then, in its own transaction, ALTER TABLE {table} VALIDATE CONSTRAINT {name} (SHARE UPDATE EXCLUSIVE: reads and writes go on)"
                    ),
                });
            }
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetNotNull,
            } => {
                hits.push(Hit {
                    severity: Severity::Warning,
                    table: Some(table.clone()),
                    message: format!(
                        "SET NOT NULL scans every row of {table} under ACCESS EXCLUSIVE, unless a validated CHECK ({column_name} IS NOT NULL) already exists"
                    ),
                    safer: format!(
                        "ADD CONSTRAINT {column_name}_not_null CHECK ({column_name} IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT {column_name}_not_null; then SET NOT NULL (PostgreSQL 12+ uses the constraint and skips the scan) and drop the CHECK"
                    ),
                });
            }
            _ => {}
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::fired;
    use crate::lint::Severity::*;

    const NAME: &str = "constraint-without-not-valid";

    #[test]
    fn validated_at_once_on_existing_tables() {
        assert_eq!(
            fired(
                "ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES p (id);",
                NAME
            ),
            vec![(1, Error)]
        );
        assert_eq!(
            fired(
                "SELECT 1;\nALTER TABLE c ADD CONSTRAINT k CHECK (n > 0);",
                NAME
            ),
            vec![(2, Error)]
        );
        assert_eq!(
            fired("ALTER TABLE c ALTER COLUMN n SET NOT NULL;", NAME),
            vec![(1, Warning)]
        );
    }

    #[test]
    fn not_valid_then_validate_passes() {
        let sql = "ALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES p (id) NOT VALID;\nALTER TABLE c VALIDATE CONSTRAINT f;";
        assert!(fired(sql, NAME).is_empty());
        assert!(fired(
            "ALTER TABLE c ADD CONSTRAINT k CHECK (n > 0) NOT VALID;",
            NAME
        )
        .is_empty());
    }

    #[test]
    fn new_tables_pass() {
        let sql = "CREATE TABLE c (p int);\nALTER TABLE c ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES p (id);";
        assert!(fired(sql, NAME).is_empty());
    }
}

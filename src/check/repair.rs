//! `repair:` rules: collisions on a V2 UNIQUE column resolved by a declared rule, not by
//! a failed migrate. Checked here: the column is filled by the step, has a one-column UNIQUE
//! constraint (or is the whole primary key) in V2, is claimed by one rule only, and can be
//! NULL when the rule clears it.

use crate::catalog::Table;
use crate::diagnostic::Diagnostic;
use crate::model::{pos_of, RepairRule};
use crate::plan::{ColumnMap, Repair, RepairStrategy};

/// `declared`: the column names the step's `columns` give (an erroneous one is reported there).
pub fn check(
    rules: &[RepairRule],
    table: &Table,
    columns: &[ColumnMap],
    declared: &[&str],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Repair> {
    let mut out: Vec<Repair> = Vec::new();
    for rule in rules {
        let name = rule.column.as_str();
        let at = pos_of(&rule.column);
        let strategy = match rule.on_duplicate.as_str() {
            "suffix" => RepairStrategy::Suffix,
            "clear" => RepairStrategy::Clear,
            other => {
                errors.push(
                    Diagnostic::error(format!("unknown repair `{other}`"), pos_of(&rule.on_duplicate))
                        .with_hint("write `on_duplicate: suffix` (ana@x.org -> ana+2@x.org) or `on_duplicate: clear` (the later duplicate becomes NULL)"),
                );
                continue;
            }
        };
        if out.iter().any(|r| r.column == name) {
            errors.push(
                Diagnostic::error(
                    format!("two repair rules claim `{}.{name}`", table.name.name),
                    at,
                )
                .with_hint("one rule per column: keep the one you mean"),
            );
            continue;
        }
        let Some(target) = table.column(name) else {
            errors.push(Diagnostic::error(
                format!(
                    "column `{name}` does not exist in V2 table `{}`",
                    table.name
                ),
                at,
            ));
            continue;
        };
        if table
            .primary_key
            .as_ref()
            .is_some_and(|k| k.columns.contains(&name.to_string()))
        {
            errors.push(
                Diagnostic::error(format!("`{}.{name}` is part of the primary key: pgmig records migrated rows by it, so it is not repaired", table.name.name), at)
                    .with_hint("reject the duplicates instead (`reject:`), or key the step with `key: new`"),
            );
            continue;
        }
        let unique = table
            .primary_key
            .iter()
            .chain(&table.uniques)
            .any(|k| k.columns == [name.to_string()]);
        if !unique {
            errors.push(
                Diagnostic::error(format!("`{}.{name}` has no UNIQUE constraint in V2: there is nothing to repair", table.name.name), at)
                    .with_hint("a repair rule resolves collisions on a one-column UNIQUE constraint; remove the rule or add the constraint to V2"),
            );
            continue;
        }
        if strategy == RepairStrategy::Clear && target.not_null {
            errors.push(
                Diagnostic::error(
                    format!(
                        "`{}.{name}` is NOT NULL: `on_duplicate: clear` can't empty it",
                        table.name.name
                    ),
                    pos_of(&rule.on_duplicate),
                )
                .with_hint("use `on_duplicate: suffix`"),
            );
            continue;
        }
        let Some(mapped) = columns.iter().find(|c| c.name == name) else {
            if declared.contains(&name) {
                continue;
            }
            errors.push(Diagnostic::error(
                format!(
                    "this step does not fill `{}.{name}`: there is nothing to repair",
                    table.name.name
                ),
                at,
            ));
            continue;
        };
        out.push(Repair {
            column: name.to_string(),
            column_type: target.data_type.clone(),
            original: mapped.expr.clone(),
            strategy,
            line: at.map_or(0, |p| p.line),
            // Set by `redact::check_repairs`, which knows V1's secrets.
            secret: false,
        });
    }
    out
}

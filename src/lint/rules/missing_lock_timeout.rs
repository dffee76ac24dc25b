//! `missing-lock-timeout`: the script takes ACCESS EXCLUSIVE on a table it did not create
//! with no `SET lock_timeout` (non-zero) before. While the statement waits for a lock the
//! application holds (a long transaction, an idle-in-transaction session), every later query
//! on that table queues behind it: the table is down for as long as the wait lasts. Reported
//! once per script, at the first such statement.

use super::{Ctx, Hit, Rule};
use crate::lint::{LockMode, Severity};

pub const RULE: Rule = Rule {
    name: "missing-lock-timeout",
    summary: "ACCESS EXCLUSIVE taken with no SET lock_timeout before it",
    once: true,
    check,
};

fn check(ctx: &Ctx) -> Vec<Hit> {
    if ctx.lock_timeout {
        return Vec::new();
    }
    ctx.analysis
        .accesses
        .iter()
        .filter(|a| a.lock == LockMode::AccessExclusive && !ctx.is_new(&a.table) && !ctx.analysis.creates.contains(&a.table))
        .map(|a| Hit {
            severity: Severity::Error,
            table: Some(a.table.clone()),
            message: format!(
                "{} takes ACCESS EXCLUSIVE on {} and no lock_timeout is set before it: while it waits for a lock the application holds, every later query on {} queues behind it",
                ctx.analysis.summary, a.table, a.table
            ),
            safer: "SET lock_timeout = '5s' at the start of the script (and retry the script when it times out)".into(),
        })
        .take(1)
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::rules::fired;
    use crate::lint::Severity::*;

    const NAME: &str = "missing-lock-timeout";

    #[test]
    fn first_access_exclusive_without_timeout_once() {
        let sql = "BEGIN;\nALTER TABLE t DROP COLUMN a;\nALTER TABLE u DROP COLUMN b;\nCOMMIT;";
        assert_eq!(fired(sql, NAME), vec![(2, Error)]);
    }

    #[test]
    fn timeout_set_before_or_weaker_locks_pass() {
        assert!(fired(
            "SET lock_timeout = '5s';\nALTER TABLE t DROP COLUMN a;",
            NAME
        )
        .is_empty());
        assert!(fired(
            "SET lock_timeout = :'lock_timeout';\nDROP TABLE IF EXISTS _pgmig.map_a;",
            NAME
        )
        .is_empty());
        assert!(fired(
            "CREATE INDEX CONCURRENTLY i ON t (a);\nINSERT INTO t VALUES (1);",
            NAME
        )
        .is_empty());
        assert!(fired(
            "CREATE TABLE n (a int);\nALTER TABLE n ADD COLUMN b int;",
            NAME
        )
        .is_empty());
    }

    #[test]
    fn a_timeout_of_zero_is_none() {
        assert_eq!(
            fired("SET lock_timeout = 0;\nTRUNCATE t;", NAME),
            vec![(2, Error)]
        );
        assert_eq!(
            fired(
                "ALTER TABLE t DROP COLUMN a;\nSET lock_timeout = '1s';",
                NAME
            ),
            vec![(1, Error)]
        );
    }
}

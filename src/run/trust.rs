//! The runner reads `_pgmig` (the log before and after a run, `status`, `rejects`) only when
//! the role it runs as owns it: a table, view or rule another role made there could run that
//! role's code with the runner's rights (an operator on a column type, a function in a view).
//! The scripts check more (templates/bookkeeping_guard.sql); this is what the runner's own
//! reads need, checked before the first of them.

use postgres::Client;

use super::error::RunError;

/// What in `_pgmig` the runner must not read: objects owned by a role other than the current
/// one (or `owner`, the role named with `-v pgmig_owner=`), relations other than tables,
/// indexes and sequences, rules and row level security. Empty when `_pgmig` is absent.
const FINDINGS: &str = "
WITH trusted AS (
  SELECT r.oid FROM pg_catalog.pg_roles AS r
  WHERE r.rolname = CURRENT_USER OR (r.rolname = $1 AND $1 <> '')
), bookkeeping AS (
  SELECT n.oid, n.nspowner FROM pg_catalog.pg_namespace AS n WHERE n.nspname = '_pgmig'
)
SELECT pg_catalog.format('schema _pgmig is owned by %s', b.nspowner::regrole)
FROM bookkeeping AS b WHERE b.nspowner NOT IN (SELECT oid FROM trusted)
UNION ALL
SELECT pg_catalog.format('%s is owned by %s', c.oid::regclass, c.relowner::regrole)
FROM pg_catalog.pg_class AS c JOIN bookkeeping AS b ON c.relnamespace = b.oid
WHERE c.relowner NOT IN (SELECT oid FROM trusted)
UNION ALL
SELECT pg_catalog.format('%s is not a table, an index or a sequence', c.oid::regclass)
FROM pg_catalog.pg_class AS c JOIN bookkeeping AS b ON c.relnamespace = b.oid
WHERE c.relkind NOT IN ('r', 'i', 'S')
UNION ALL
SELECT pg_catalog.format('rule %I on %s', r.rulename, r.ev_class::regclass)
FROM pg_catalog.pg_rewrite AS r JOIN pg_catalog.pg_class AS c ON c.oid = r.ev_class JOIN bookkeeping AS b ON c.relnamespace = b.oid
UNION ALL
SELECT pg_catalog.format('row level security is enabled on %s', c.oid::regclass)
FROM pg_catalog.pg_class AS c JOIN bookkeeping AS b ON c.relnamespace = b.oid
WHERE c.relrowsecurity OR c.relforcerowsecurity
ORDER BY 1";

/// Refuses (before any read of `_pgmig`) when it holds what the runner must not read.
pub(crate) fn check_bookkeeping(client: &mut Client, owner: Option<&str>) -> Result<(), RunError> {
    let found: Vec<String> = client
        .query(FINDINGS, &[&owner.unwrap_or("")])
        .map_err(|e| RunError::query("could not check schema _pgmig", e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(RunError::UntrustedBookkeeping {
            found: found.join("; "),
        })
    }
}

//! A statement stopped by `lock_timeout`: PostgreSQL says only "canceling statement due to
//! lock timeout". Right after it (its transaction rolled back, the other session still
//! holding on), the runner asks which table locks other sessions hold in this database and
//! says what to do, instead of leaving the DBA with the step's generic hint.

use postgres::Client;

/// The explanation lines for a lock timeout: the locks held by other sessions (table, mode,
/// pid, user, application, since when) and the way out.
pub(crate) fn explain(client: &mut Client) -> Vec<String> {
    let mut lines = vec![
        "lock timeout: the statement waited longer than lock_timeout for a lock another session holds; nothing of the open transaction stays".to_string(),
    ];
    // Locks that conflict with reads or writes of a table (a plain ACCESS SHARE or ROW
    // EXCLUSIVE of another session blocks neither a read nor an insert).
    let held = client.query(
        "SELECT l.relation::pg_catalog.regclass::text, l.mode, l.pid, coalesce(a.usename::text, ''),
                coalesce(a.application_name, ''), coalesce(a.state, ''),
                coalesce(pg_catalog.to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS'), '')
           FROM pg_catalog.pg_locks l
           LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
          WHERE l.granted AND l.locktype = 'relation'
            AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
            AND l.pid <> pg_catalog.pg_backend_pid()
            AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
          ORDER BY 1, 3",
        &[],
    );
    match held {
        Ok(rows) if !rows.is_empty() => {
            for row in rows {
                let (table, mode, pid): (String, String, i32) =
                    (row.get(0), row.get(1), row.get(2));
                let (user, app, state, since): (String, String, String, String) =
                    (row.get(3), row.get(4), row.get(5), row.get(6));
                lines.push(format!(
                    "held now: {} on {table} by pid {pid} (user {user}, application {app:?}, {state}, transaction since {since})",
                    lock_mode_name(&mode)
                ));
            }
        }
        Ok(_) => lines.push(
            "held now: no strong table lock of another session is left; the holder has finished"
                .to_string(),
        ),
        Err(_) => {}
    }
    lines.push("what to do: wait for that transaction to end (or end it: SELECT pg_terminate_backend(PID)), then run again; or allow a longer wait with -v lock_timeout=30s".to_string());
    lines
}

/// `AccessExclusiveLock` → `ACCESS EXCLUSIVE`, as `LOCK TABLE` and the documentation say it.
fn lock_mode_name(mode: &str) -> String {
    let words = mode.strip_suffix("Lock").unwrap_or(mode);
    let mut name = String::new();
    for c in words.chars() {
        if c.is_uppercase() && !name.is_empty() {
            name.push(' ');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_modes_read_as_lock_table_says_them() {
        assert_eq!(
            super::lock_mode_name("AccessExclusiveLock"),
            "ACCESS EXCLUSIVE"
        );
        assert_eq!(
            super::lock_mode_name("ShareRowExclusiveLock"),
            "SHARE ROW EXCLUSIVE"
        );
    }
}

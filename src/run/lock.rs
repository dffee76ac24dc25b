//! The advisory lock: the only way in. One pgmig run per database at a time.

use postgres::Client;

use super::error::RunError;

const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The advisory lock key: FNV-1a 64 of `"pgmig"`, as a bigint. The runner holds it at
/// session level; the generated scripts take it themselves (templates/advisory_lock.sql), so
/// two runs under psql cannot interleave either.
pub const LOCK_KEY: i64 = fnv1a64(b"pgmig") as i64;

/// `pg_locks` shows a bigint advisory key as `classid` (its high 32 bits) and `objid` (its
/// low 32 bits), with `objsubid` 1.
pub const LOCK_CLASSID: u32 = ((LOCK_KEY as u64) >> 32) as u32;
pub const LOCK_OBJID: u32 = (LOCK_KEY as u64 & 0xffff_ffff) as u32;

/// Takes the lock or fails at once, naming the session that holds it. A run that just ended
/// holds the lock until its server process has exited, a moment after its client: while the
/// holder has no session left, the lock is asked for again (for up to 2 s).
pub(crate) fn acquire(client: &mut Client) -> Result<(), RunError> {
    let err = |e| RunError::query("could not take the pgmig advisory lock", e);
    for attempt in 1..=20 {
        let got: bool = client
            .query_one("SELECT pg_catalog.pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .map_err(err)?
            .get(0);
        if got {
            return Ok(());
        }
        if attempt == 20 || holder_has_a_session(client).map_err(err)? {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(RunError::LockHeld {
        holder: holder(client),
    })
}

/// Whether the lock's holder still has a session (`pg_stat_activity` drops an exiting one).
fn holder_has_a_session(client: &mut Client) -> Result<bool, postgres::Error> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                              JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
                             WHERE l.locktype = 'advisory' AND l.granted
                               AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
                               AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1)",
            &[&LOCK_CLASSID, &LOCK_OBJID],
        )?
        .get(0))
}

/// Releases the lock (true when it was held), and the holds a script took on top of it in
/// this session: a batched script takes it again and keeps it when it fails part way.
pub(crate) fn release(client: &mut Client) -> Result<bool, RunError> {
    let err = |e| RunError::query("could not release the pgmig advisory lock", e);
    let mut released = false;
    // Each unlock gives back one session-level hold; a transaction-level hold cannot be
    // given back this way (it ends with its transaction), so stop when nothing is released.
    while held_here(client).map_err(err)? {
        let unlocked = client
            .query_one("SELECT pg_catalog.pg_advisory_unlock($1)", &[&LOCK_KEY])
            .map_err(err)?
            .get::<_, bool>(0);
        if !unlocked {
            break;
        }
        released = true;
    }
    Ok(released)
}

/// Whether this session holds the lock (once or more: `pg_locks` has one row for all holds).
fn held_here(client: &mut Client) -> Result<bool, postgres::Error> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks
                             WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                               AND classid = $1 AND objid = $2 AND objsubid = 1)",
            &[&LOCK_CLASSID, &LOCK_OBJID],
        )?
        .get(0))
}

/// Describes who holds the lock: pid, user, application, address, since when.
pub(crate) fn holder(client: &mut Client) -> String {
    let rows = client.query(
        "SELECT l.pid, a.usename::text, r.rolsuper, a.application_name, a.client_addr::text,
                pg_catalog.to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
           FROM pg_catalog.pg_locks l
           LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
           LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
          WHERE l.locktype = 'advisory' AND l.granted
            AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
            AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1",
        &[&LOCK_CLASSID, &LOCK_OBJID],
    );
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return format!("holder unknown: {}", super::error::describe_pg_error(&e)),
    };
    let Some(r) = rows.first() else {
        return "holder unknown: it may just have finished, try again".into();
    };
    let pid: i32 = r.get(0);
    let user: Option<String> = r.get(1);
    let superuser: Option<bool> = r.get(2);
    let app: Option<String> = r.get(3);
    let addr: Option<String> = r.get(4);
    let since: Option<String> = r.get(5);
    let mut s = format!("pid {pid}");
    let mut parts = Vec::new();
    // Quoted: a role may be named to read like pgmig's own words ("postgres, a superuser").
    if let Some(u) = user {
        parts.push(format!("user {}", crate::sql_text::quote_ident(&u)));
    }
    if let Some(s) = superuser {
        parts.push(if s { "a superuser" } else { "not a superuser" }.into());
    }
    if let Some(a) = app.filter(|a| !a.is_empty()) {
        parts.push(format!(
            "application {}",
            crate::sql_text::quote_literal(&a)
        ));
    }
    parts.push(match addr {
        Some(a) => format!("from {a}"),
        None => "local socket".into(),
    });
    if let Some(t) = since {
        parts.push(format!("connected since {t}"));
    }
    s.push_str(&format!(
        " ({}); to end it: SELECT pg_terminate_backend({pid})",
        parts.join(", ")
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_fixed() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(LOCK_KEY, fnv1a64(b"pgmig") as i64);
        assert_eq!(
            ((LOCK_CLASSID as u64) << 32 | LOCK_OBJID as u64) as i64,
            LOCK_KEY
        );
    }
}

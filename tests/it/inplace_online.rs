//! In-place mode online: the application goes on writing (inserts, updates, deletes on
//! every changed table) from a second connection while migrate and rollback run. Nothing it
//! wrote is lost: the migrated database equals a copy that took the same writes before an
//! undisturbed migrate, verify passes, and rollback under the same writes equals the copy
//! rolled back undisturbed.

use std::process::{Child, Command, Stdio};

use crate::support::scripts::{must_pass, run, strings};
use crate::support::uuid::{compiled, md5s, uuid_db};
use crate::support::TestDb;

/// What each test starts from: the uuid model compiled (batches of 10), the database the
/// writer writes into while the scripts run, an undisturbed copy, and users the writer uses.
struct Setup {
    dir: tempfile::TempDir,
    online: TestDb,
    copy: TestDb,
    sample_users: Vec<String>,
}

fn setup(name: &str) -> Setup {
    let online = uuid_db(name, false);
    let sample_users = strings(&online, "SELECT id FROM users ORDER BY id LIMIT 40");
    Setup {
        dir: compiled(10),
        copy: uuid_db(&format!("{name}_copy"), false),
        online,
        sample_users,
    }
}

/// A user id the sample does not use, spelled as V1 may spell it (upper case for odd `n`).
fn fresh_user(n: u64) -> String {
    let id = format!("00000000-0000-4000-8000-{n:012x}");
    if n % 2 == 1 {
        id.to_uppercase()
    } else {
        id
    }
}

/// The writer's `n`th statement: every statement reads and writes through literals, so it
/// means the same before the swap (varchar ids) and after it (uuid ids).
fn write(n: u64, kind: u64, sample_users: &[String]) -> String {
    let user = &sample_users[(n as usize * 7) % sample_users.len()];
    let other = &sample_users[(n as usize * 13 + 5) % sample_users.len()];
    let row = 1 + (n * 37) % 3000;
    match kind {
        0 => format!(
            "INSERT INTO users (id, email, display_name, created_at) VALUES ('{}', 'writer{n}@example.com', 'w{n}', '2024-01-01 00:00:00+00')",
            fresh_user(n)
        ),
        1 => format!(
            "INSERT INTO journal_entries (id, user_id, title, created_at) VALUES ({}, '{user}', 'written {n}', '2024-01-02 00:00:00+00')",
            100_000 + n
        ),
        2 => format!("UPDATE journal_entries SET user_id = '{other}', title = 'moved {n}' WHERE id = {row}"),
        3 => format!("DELETE FROM journal_entries WHERE id = {}", 1 + (n * 53) % 3000),
        4 => format!(
            "INSERT INTO tags (id, user_id, name) VALUES ({}, '{user}', 'tag {n}')",
            100_000 + n
        ),
        5 => format!("UPDATE reminders SET user_id = '{other}', done = NOT done WHERE id = {}", 1 + (n * 41) % 1500),
        6 => format!(
            "INSERT INTO reminders (id, user_id, remind_at, message) VALUES ({}, '{user}', '2024-02-01 00:00:00+00', 'r{n}'); DELETE FROM tags WHERE id = {}",
            100_000 + n,
            1 + (n * 29) % 1000
        ),
        // A user the writer made gets a new id (its key changes); one re-keyed so before goes.
        _ => format!(
            "UPDATE users SET id = '{}' WHERE id = '{}'; DELETE FROM users WHERE id = '{}'",
            fresh_user(n + 1_000_000),
            fresh_user(n - 7),
            fresh_user(n + 1_000_000 - 24)
        ),
    }
}

/// The kinds of [`write`] that only insert.
const INSERTS: [u64; 3] = [0, 1, 4];

/// Runs `child` to its end while the writer goes on from a second connection in this
/// thread; returns the statements that committed (a deadlock with the script rolls one
/// back: it is then as if never sent), each with whether it wrote V2's tables, and how
/// many of them ran before the swap. With
/// `inserts_after_swap`, once the swap is done the writer only inserts: verify compares
/// every backed-up row with its V1 value, and a row the application changes after the
/// swap is, to verify, a row that differs (rollback counts those as written since migrate).
fn write_while(
    db: &TestDb,
    mut child: Child,
    from: u64,
    sample_users: &[String],
    what: &str,
    inserts_after_swap: bool,
) -> (Vec<(String, bool)>, usize) {
    let mut client = db.client();
    let mut done = Vec::new();
    let mut before_swap = 0;
    let mut swapped = false;
    let mut n = from;
    // psql's NOTICEs (one per batch: ~55 KB for migrate) are read as they come: a pipe
    // left unread fills at 64 KB and stops psql mid-script, and the writer with it.
    let mut pipe = child.stderr.take().unwrap();
    let notices = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut pipe, &mut text).unwrap();
        text
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let notices = notices.join().unwrap();
            assert!(
                status.success(),
                "{what} failed under the writer:\n{notices}"
            );
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end within 600 s under the writer");
        }
        let kind = if swapped && inserts_after_swap {
            INSERTS[n as usize % INSERTS.len()]
        } else {
            n % 8
        };
        let sql = write(n, kind, sample_users);
        n += 1;
        // The statement and the look at users.id's type in one transaction: the script's
        // swap or reverse swap (ACCESS EXCLUSIVE) cannot commit between them.
        let mut tx = client.transaction().unwrap();
        match tx.batch_execute(&sql) {
            Ok(()) => {
                swapped = tx
                    .query_one("SELECT atttypid = 'uuid'::regtype FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'id'", &[])
                    .unwrap()
                    .get(0);
                if swapped && inserts_after_swap && !INSERTS.contains(&kind) {
                    // The swap committed just before this statement: it is not sent.
                    tx.rollback().unwrap();
                    continue;
                }
                tx.commit().unwrap();
                if !swapped {
                    before_swap += 1;
                }
                done.push((sql, swapped));
            }
            Err(e) => {
                let code = e.code().map(|c| c.code().to_string());
                assert_eq!(
                    code.as_deref(),
                    Some("40P01"),
                    "the writer's `{sql}` failed: {e:?}"
                );
            }
        }
    }
    (done, before_swap)
}

fn spawn(db: &TestDb, dir: &std::path::Path, script: &str) -> Child {
    let mut cmd: Command = db.psql_cmd();
    cmd.arg("-f")
        .arg(dir.join(script))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

#[test]
fn the_application_writes_through_migrate_and_rollback_and_nothing_is_lost() {
    let Setup {
        dir,
        online,
        copy,
        sample_users,
    } = setup("ip_online");

    let migrate = spawn(&online, dir.path(), "migrate.sql");
    let (during_migrate, before_swap) =
        write_while(&online, migrate, 0, &sample_users, "migrate", true);
    assert!(
        before_swap >= 40,
        "the writer must really write during the fill ({before_swap} statements before the swap)"
    );
    // The copy takes the same writes while nothing else runs: those made before the swap,
    // then an undisturbed migrate, then the rest (a value's V1 spelling is kept in the backup
    // only when V1 had it).
    for (sql, _) in during_migrate.iter().filter(|(_, on_v2)| !*on_v2) {
        copy.execute(sql);
    }
    must_pass(
        run(&copy, dir.path(), "migrate.sql", &[]),
        "migrate of the copy",
    );
    for (sql, _) in during_migrate.iter().filter(|(_, on_v2)| *on_v2) {
        copy.execute(sql);
    }
    assert_eq!(
        md5s(&online),
        md5s(&copy),
        "every row the writer touched during migrate is there, converted"
    );
    let verify = must_pass(run(&online, dir.path(), "verify.sql", &[]), "verify");
    assert!(!verify.contains("FAIL"), "{verify}");
    assert_eq!(
        online
            .client()
            .query_one(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgmig%'",
                &[]
            )
            .unwrap()
            .get::<_, i64>(0),
        0,
        "the swap leaves no trigger behind"
    );

    // Rollback while the writer goes on (on V2's tables, then V1's).
    let rollback = spawn(&online, dir.path(), "rollback.sql");
    let from = during_migrate.len() as u64 + 10_000;
    let (during_rollback, _) =
        write_while(&online, rollback, from, &sample_users, "rollback", false);
    // The copy takes the writes made on V2's tables, rolls back, then takes the rest.
    for (sql, _) in during_rollback.iter().filter(|(_, on_v2)| *on_v2) {
        copy.execute(sql);
    }
    must_pass(
        run(&copy, dir.path(), "rollback.sql", &[]),
        "rollback of the copy",
    );
    for (sql, _) in during_rollback.iter().filter(|(_, on_v2)| !*on_v2) {
        copy.execute(sql);
    }
    assert!(
        during_rollback.iter().any(|(_, on_v2)| *on_v2),
        "the writer must write while rollback waits for its lock or runs"
    );
    assert_eq!(
        md5s(&online),
        md5s(&copy),
        "rollback keeps every row the writer touched, converted back"
    );
}

/// Rollback during the fill, with the writer going on: the triggers and the new columns
/// go, and the tables hold exactly what the writer made of V1.
#[test]
fn rollback_during_the_fill_keeps_the_writes() {
    let Setup {
        dir,
        online,
        copy,
        sample_users,
    } = setup("ip_online_fill");
    // A migrate killed mid-fill: its triggers are in place.
    let cut =
        online.migrate_until_batches(&dir.path().join("migrate.sql"), "pgmig-online-kill", 200);
    assert!(cut, "migrate must have been cut mid-fill");
    let mut writes = Vec::new();
    for n in 0..40 {
        let sql = write(n, n % 8, &sample_users);
        online.execute(&sql);
        writes.push(sql);
    }
    let rollback = spawn(&online, dir.path(), "rollback.sql");
    let (during, _) = write_while(&online, rollback, 40, &sample_users, "rollback", false);
    for sql in writes.iter().chain(during.iter().map(|(sql, _)| sql)) {
        copy.execute(sql);
    }
    assert_eq!(md5s(&online), md5s(&copy));
    assert_eq!(
        online
            .client()
            .query_one(
                "SELECT count(*) FROM pg_attribute WHERE attname LIKE 'pgmig%' AND NOT attisdropped",
                &[]
            )
            .unwrap()
            .get::<_, i64>(0),
        0
    );
}

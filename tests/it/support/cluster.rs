//! The throwaway PostgreSQL cluster shared by the whole test binary (pgmig-testkit's, with
//! uniquely named databases).
//!
//! Started lazily on first use (`initdb` + `pg_ctl start` into a fresh directory under
//! /tmp, unix socket only, fsync off), as the `postgres` OS user when the tests run as
//! root, and stopped at process exit by an `atexit` hook (`pg_ctl stop -m immediate`,
//! then the directory is removed). Clusters left behind by an earlier run that was
//! killed are stopped and removed when the next run starts.
//!
//! If PostgreSQL cannot be started, every test that asks for it fails with the reason
//! (and the server log); nothing is skipped.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::ops::Deref;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

pub use pgmig_testkit::pg_error_text;

/// Directory-name prefix of every cluster this harness creates under /tmp.
const DIR_PREFIX: &str = "pgmig-it-";

/// The testkit's cluster, with what the tests add: uniquely named databases.
pub struct Cluster {
    server: pgmig_testkit::Cluster,
    counter: AtomicUsize,
    admin: Mutex<Option<postgres::Client>>,
}

/// One uniquely named database of the shared cluster.
pub struct TestDb {
    cluster: &'static Cluster,
    name: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static SECOND: OnceLock<Result<Cluster, String>> = OnceLock::new();
static CRASHABLE: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The shared cluster, started on first call. Panics (fails the test) with the reason
/// if PostgreSQL cannot be started.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(Cluster::start) {
        Ok(c) => c,
        Err(e) => panic!("cannot start the throwaway PostgreSQL cluster for tests:\n{e}"),
    }
}

/// A second cluster on another port: "another server", for tests that read V1 across
/// servers (postgres_fdw).
pub fn second_cluster() -> &'static Cluster {
    match SECOND.get_or_init(Cluster::start) {
        Ok(c) => c,
        Err(e) => panic!("cannot start the second throwaway PostgreSQL cluster for tests:\n{e}"),
    }
}

/// A cluster of its own for tests that crash the server: the shared ones stay up under
/// the other tests.
pub fn crashable_cluster() -> &'static Cluster {
    match CRASHABLE.get_or_init(Cluster::start) {
        Ok(c) => c,
        Err(e) => panic!("cannot start the crashable throwaway PostgreSQL cluster for tests:\n{e}"),
    }
}

impl Deref for Cluster {
    type Target = pgmig_testkit::Cluster;

    fn deref(&self) -> &pgmig_testkit::Cluster {
        &self.server
    }
}

impl Cluster {
    /// A fast, disposable server (fsync off), stopped when the test process exits.
    fn start() -> Result<Cluster, String> {
        let mut config = pgmig_testkit::Config::new(DIR_PREFIX);
        pgmig_testkit::remove_leftovers(&config.parent, DIR_PREFIX)?;
        config.initdb_no_sync = true;
        config
            .set("fsync", "off")
            .set("synchronous_commit", "off")
            .set("full_page_writes", "off")
            .set("max_connections", "200");
        let server = pgmig_testkit::Cluster::start(config)?;
        // The cluster lives in a static, which is never dropped.
        server.stop_at_exit();
        let client = server.connect("postgres").map_err(|e| {
            format!(
                "cluster started but connecting failed: {e}\n{}",
                server.log_tail()
            )
        })?;
        Ok(Cluster {
            server,
            counter: AtomicUsize::new(0),
            admin: Mutex::new(Some(client)),
        })
    }

    /// Crashes the server (`pg_ctl stop -m immediate`: no shutdown checkpoint) and starts it
    /// again, so it runs crash recovery, which among other things empties UNLOGGED tables.
    pub fn crash_and_restart(&self) {
        self.server
            .crash()
            .unwrap_or_else(|e| panic!("crash the server: {e}"));
        *self.admin.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.server
            .start_server()
            .unwrap_or_else(|e| panic!("restart after the crash: {e}"));
        assert!(
            self.log_tail()
                .contains("database system was not properly shut down"),
            "the restart must recover from a crash\n{}",
            self.log_tail()
        );
    }

    /// Everything the server has logged so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_else(|e| panic!("read the server log: {e}"))
    }

    /// Makes `role` log in with a password (scram) over the socket, where everyone else is
    /// trusted: for tests of credentials.
    /// Tests edit the file side by side: one at a time, and the new file is renamed into
    /// place, so a reload never reads a half-written file (it did once: every login of the
    /// cluster was refused, "no pg_hba.conf entry", until the next reload).
    pub fn require_password_for(&self, role: &str) {
        static EDITING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = EDITING.lock().unwrap_or_else(|p| p.into_inner());
        let hba = self.data_dir().join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).unwrap();
        let new = self.data_dir().join("pg_hba.conf.new");
        std::fs::write(&new, format!("local all {role} scram-sha-256\n{old}")).unwrap();
        std::fs::rename(&new, &hba).unwrap();
        self.connect("postgres")
            .unwrap()
            .execute("SELECT pg_reload_conf()", &[])
            .unwrap();
    }

    /// Creates a fresh, uniquely named, empty database (`<prefix>_<n>`).
    pub fn create_db(&'static self, name_prefix: &str) -> TestDb {
        let mut prefix: String = name_prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        prefix.truncate(40);
        if prefix.is_empty() {
            prefix.push_str("db");
        }
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let name = format!("{prefix}_{n}");
        let mut guard = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(
                self.connect("postgres")
                    .unwrap_or_else(|e| panic!("connect to cluster: {e}")),
            );
        }
        let admin = guard.as_mut().unwrap();
        // The name is built above from [a-z0-9_] only.
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        TestDb {
            cluster: self,
            name,
        }
    }

    /// A new database copied from `template` (`CREATE DATABASE … TEMPLATE`): nobody may be
    /// connected to the template meanwhile.
    pub fn copy_db(&'static self, template: &TestDb, name_prefix: &str) -> TestDb {
        let copy = format!(
            "{}_{}",
            name_prefix,
            self.counter.fetch_add(1, Ordering::SeqCst)
        );
        assert!(
            copy.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{copy}"
        );
        // Both names are [a-z0-9_] only (create_db makes the template's).
        let sql = format!("CREATE DATABASE {copy} TEMPLATE {}", template.name);
        self.connect("postgres")
            .unwrap()
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {}", pg_error_text(&e)));
        TestDb {
            cluster: self,
            name: copy,
        }
    }
}

// ---- one database ------------------------------------------------------------------

impl TestDb {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Conninfo (`host=<sockdir> port=<p> dbname=<db> user=postgres`), for the
    /// `postgres` crate and psql alike.
    pub fn url(&self) -> String {
        self.cluster.url(&self.name)
    }

    /// A new connection to this database.
    pub fn client(&self) -> postgres::Client {
        self.cluster
            .connect(&self.name)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }

    /// Runs SQL statements (simple query protocol); panics with the error otherwise.
    pub fn execute(&self, sql: &str) {
        if let Err(e) = self.client().batch_execute(sql) {
            panic!("SQL failed in {}: {}", self.name, pg_error_text(&e));
        }
    }

    /// Drops the database (its name is [a-z0-9_] only), for tests that make many.
    pub fn drop_db(self) {
        let sql = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        self.cluster
            .connect("postgres")
            .unwrap()
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {}", pg_error_text(&e)));
    }

    /// Like [`execute`](Self::execute) but returns the error text.
    pub fn try_execute(&self, sql: &str) -> Result<(), String> {
        self.client()
            .batch_execute(sql)
            .map_err(|e| pg_error_text(&e))
    }

    /// `psql -X -v ON_ERROR_STOP=1 [-v k=v]... -f path`; returns psql's status and output.
    pub fn psql_file(&self, path: impl AsRef<OsStr>, vars: &[(&str, &str)]) -> Output {
        let mut cmd = self.psql_cmd();
        for (k, v) in vars {
            cmd.arg("-v").arg(format!("{k}={v}"));
        }
        cmd.arg("-f").arg(path.as_ref());
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"))
    }

    /// Runs a DDL or data file with psql, its unqualified names in `schema`; fails the test
    /// on an error.
    pub fn load_in_schema(&self, file: &Path, schema: &str) {
        let out = self
            .psql_cmd()
            .env("PGOPTIONS", format!("-c search_path={schema}"))
            .arg("-q")
            .arg("-f")
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "loading {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a sample data file at `scale` into `schema` (`psql -q -v scale=N -v schema=S -f
    /// file`); fails the test on an error.
    pub fn load_sample(&self, file: &Path, scale: i64, schema: &str) {
        let out = self
            .psql_cmd()
            .arg("-q")
            .arg("-v")
            .arg(format!("scale={scale}"))
            .arg("-v")
            .arg(format!("schema={schema}"))
            .arg("-f")
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "loading {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `psql -f file` in the background under `app` (its application_name), for
    /// tests that kill a run part way with [`TestDb::terminate`].
    pub fn spawn_psql_file(&self, file: &Path, app: &str) -> std::process::Child {
        self.psql_cmd()
            .env("PGAPPNAME", app)
            .arg("-f")
            .arg(file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Runs `psql -f file` (a batched migrate) and terminates its backend once `batches`
    /// checkpoints are committed in `_pgmig.batches` (`0`: as soon as the run has begun).
    /// Returns whether the run was cut short. Progress, not time, decides: the same kill
    /// points on a fast or a loaded machine.
    pub fn migrate_until_batches(&self, file: &Path, app: &str, batches: i64) -> bool {
        let mut child = self.spawn_psql_file(file, app);
        let mut watcher = self.client();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
                break;
            }
            let exists: bool = watcher
                .query_one("SELECT to_regclass('_pgmig.batches') IS NOT NULL", &[])
                .unwrap()
                .get(0);
            let done: i64 = if exists {
                watcher
                    .query_one("SELECT count(*) FROM _pgmig.batches", &[])
                    .unwrap()
                    .get(0)
            } else {
                0
            };
            let running: bool = watcher
                .query_one("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = $2)", &[&app, &self.name()])
                .unwrap()
                .get(0);
            if running && done >= batches {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        self.terminate(app);
        !child.wait().unwrap().success()
    }

    /// Waits until a session of this database named `app` waits for a lock (true), or until
    /// `still_running` says the session's work ended first (false). Fails the test after 60 s.
    pub fn waits_for_lock(&self, app: &str, mut still_running: impl FnMut() -> bool) -> bool {
        let mut watcher = self.client();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let waiting: bool = watcher
                .query_one("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = $2 AND wait_event_type = 'Lock')", &[&app, &self.name()])
                .unwrap()
                .get(0);
            if waiting {
                return true;
            }
            if !still_running() {
                return false;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{app} never waited for a lock"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Waits until no session of this database is named `app` (a killed client's backend
    /// ends at its next write to the client). Fails the test after 60 s.
    pub fn waits_until_gone(&self, app: &str) {
        let mut watcher = self.client();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left: i64 = watcher
                .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2", &[&app, &self.name()])
                .unwrap()
                .get(0);
            if left == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{left} sessions named {app} still there after 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Terminates the backends of this database's sessions named `app`.
    pub fn terminate(&self, app: &str) {
        let mut client = self.client();
        client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
                &[&app, &self.name()],
            )
            .unwrap();
    }

    /// A psql command connected to this database (`-X -v ON_ERROR_STOP=1`), to add
    /// arguments to.
    pub fn psql_cmd(&self) -> Command {
        self.cluster.psql(&self.name)
    }

    /// For every table (plain and partitioned parents) of the given schemas, keyed
    /// `schema.table`: `<rows>:<md5 of its rows as text, ordered>`. Equal maps mean
    /// equal content.
    pub fn table_md5s(&self, schemas: &[&str]) -> BTreeMap<String, String> {
        let mut client = self.client();
        let schemas: Vec<String> = schemas.iter().map(|s| s.to_string()).collect();
        let rows = client
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname)
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p')
                  ORDER BY 1",
                &[&schemas],
            )
            .unwrap_or_else(|e| panic!("list tables: {}", pg_error_text(&e)));
        let mut out = BTreeMap::new();
        for row in rows {
            let table: String = row.get(0);
            // `table` comes from format('%I.%I') above: quoted where needed.
            let q = format!(
                "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') \
                 FROM {table} t"
            );
            let v: String = client
                .query_one(&q, &[])
                .unwrap_or_else(|e| panic!("md5 of {table}: {}", pg_error_text(&e)))
                .get(0);
            out.insert(table, v);
        }
        out
    }
}

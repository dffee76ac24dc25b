//! A throwaway PostgreSQL cluster shared by the whole test binary.
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
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Directory-name prefix of every cluster this harness creates under /tmp.
const DIR_PREFIX: &str = "pgmig-it-";

pub struct Cluster {
    bin_dir: PathBuf,
    /// /tmp/pgmig-it-<pid>-<nanos>: holds data/, sock/, server.log, owner.pid
    base_dir: PathBuf,
    data_dir: PathBuf,
    sock_dir: PathBuf,
    port: u16,
    /// Run server-side tools through `runuser -u postgres --` (we are root).
    as_postgres: bool,
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

fn find_bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PGMIG_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    for v in ["17", "16", "15", "14", "13"] {
        let dir = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"));
        if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return Ok(dir);
            }
        }
    }
    Err(
        "initdb/pg_ctl not found in /usr/lib/postgresql/*/bin nor PATH \
         (install with `apt-get install -y postgresql postgresql-contrib`, or set PGMIG_PG_BIN)"
            .into(),
    )
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("running as root but there is no `postgres` OS user to run initdb as".into());
    }
    unsafe { Ok(((*pw).pw_uid, (*pw).pw_gid)) }
}

fn process_alive(pid: i32) -> bool {
    pid > 0 && unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() == libc::EPERM }
}

fn free_port() -> u16 {
    // The server listens on a unix socket in our private directory only, so the port
    // just names the socket file; still, take one nobody uses on TCP to be tidy.
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54329)
}

fn output_text(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Cluster {
    fn start() -> Result<Cluster, String> {
        let bin_dir = find_bin_dir()?;
        let as_postgres = is_root();
        cleanup_leftovers(&bin_dir, as_postgres);

        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let base_dir =
            std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{nanos}", std::process::id()));
        let data_dir = base_dir.join("data");
        let sock_dir = base_dir.join("sock");
        std::fs::create_dir_all(&sock_dir)
            .map_err(|e| format!("create {}: {e}", sock_dir.display()))?;
        std::fs::write(base_dir.join("owner.pid"), std::process::id().to_string())
            .map_err(|e| format!("write owner.pid: {e}"))?;
        if as_postgres {
            let (uid, gid) = postgres_ids()?;
            for d in [&base_dir, &sock_dir] {
                std::os::unix::fs::chown(d, Some(uid), Some(gid))
                    .map_err(|e| format!("chown {} to postgres: {e}", d.display()))?;
            }
        }
        let port = free_port();
        let mut cluster = Cluster {
            bin_dir,
            base_dir,
            data_dir,
            sock_dir,
            port,
            as_postgres,
            counter: AtomicUsize::new(0),
            admin: Mutex::new(None),
        };
        // Register the stop hook before anything is started, so a half-started
        // cluster is cleaned up too.
        register_atexit(&cluster);
        if let Err(e) = cluster.init_and_start() {
            cluster.stop();
            return Err(e);
        }
        let client = cluster.connect("postgres").map_err(|e| {
            format!(
                "cluster started but connecting failed: {e}\n{}",
                cluster.log_tail()
            )
        })?;
        cluster.admin = Mutex::new(Some(client));
        Ok(cluster)
    }

    fn init_and_start(&self) -> Result<(), String> {
        let out = self
            .server_cmd("initdb")
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed\n{}", output_text(&out)));
        }
        self.start_server()
    }

    fn start_server(&self) -> Result<(), String> {
        let opts = format!(
            "-k {} -p {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200 -c unix_socket_permissions=0777",
            self.sock_dir.display(),
            self.port
        );
        let out = self
            .server_cmd("pg_ctl")
            .arg("start")
            .arg("-w")
            .args(["-t", "60"])
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(self.base_dir.join("server.log"))
            .arg("-o")
            .arg(opts)
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl start failed\n{}\n{}",
                output_text(&out),
                self.log_tail()
            ));
        }
        Ok(())
    }

    /// Crashes the server (`pg_ctl stop -m immediate`: no shutdown checkpoint) and starts it
    /// again, so it runs crash recovery, which among other things empties UNLOGGED tables.
    pub fn crash_and_restart(&self) {
        let out = self
            .server_cmd("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.data_dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_ctl: {e}"));
        assert!(
            out.status.success(),
            "pg_ctl stop -m immediate failed\n{}",
            output_text(&out)
        );
        *self.admin.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.start_server()
            .unwrap_or_else(|e| panic!("restart after the crash: {e}"));
        assert!(
            self.log_tail()
                .contains("database system was not properly shut down"),
            "the restart must recover from a crash\n{}",
            self.log_tail()
        );
    }

    /// A command for a server-side tool, as `postgres` when we are root.
    fn server_cmd(&self, tool: &str) -> Command {
        server_cmd(&self.bin_dir, self.as_postgres, tool)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.base_dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!("--- server.log (tail) ---\n{}", lines[from..].join("\n"))
    }

    fn stop(&self) {
        stop_and_remove(&self.bin_dir, self.as_postgres, &self.base_dir);
    }

    /// Conninfo for a database of this cluster.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host={} port={} dbname={} user=postgres",
            self.sock_dir.display(),
            self.port,
            dbname
        )
    }

    pub fn connect(&self, dbname: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url(dbname), postgres::NoTls)
    }

    /// Everything the server has logged so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.base_dir.join("server.log"))
            .unwrap_or_else(|e| panic!("read the server log: {e}"))
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    pub fn socket_dir(&self) -> &Path {
        &self.sock_dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a fresh, uniquely named, empty database (`<prefix>_<n>`).
    /// Makes `role` log in with a password (scram) over the socket, where everyone else is
    /// trusted: for tests of credentials.
    pub fn require_password_for(&self, role: &str) {
        let hba = self.data_dir.join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(&hba, format!("local all {role} scram-sha-256\n{old}")).unwrap();
        self.connect("postgres")
            .unwrap()
            .execute("SELECT pg_reload_conf()", &[])
            .unwrap();
    }

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

fn server_cmd(bin_dir: &Path, as_postgres: bool, tool: &str) -> Command {
    let exe = bin_dir.join(tool);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c.current_dir("/");
        c
    } else {
        Command::new(exe)
    }
}

fn stop_and_remove(bin_dir: &Path, as_postgres: bool, base_dir: &Path) {
    let data_dir = base_dir.join("data");
    if data_dir.join("postmaster.pid").exists() {
        let _ = server_cmd(bin_dir, as_postgres, "pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&data_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    let _ = std::fs::remove_dir_all(base_dir);
}

/// Stops and removes clusters whose owning test process is gone (a killed run).
fn cleanup_leftovers(bin_dir: &Path, as_postgres: bool) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(DIR_PREFIX) {
            continue;
        }
        // This process's own clusters (two may start at once) are never leftovers.
        if name.starts_with(&format!("{DIR_PREFIX}{}-", std::process::id())) {
            continue;
        }
        let dir = entry.path();
        let owner = std::fs::read_to_string(dir.join("owner.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        match owner {
            Some(pid) if process_alive(pid) => continue, // another run in progress
            _ => stop_and_remove(bin_dir, as_postgres, &dir),
        }
    }
}

// ---- stop at exit ----------------------------------------------------------------

struct ExitInfo {
    bin_dir: PathBuf,
    as_postgres: bool,
    base_dir: PathBuf,
}

static EXIT_INFO: std::sync::Mutex<Vec<ExitInfo>> = std::sync::Mutex::new(Vec::new());

extern "C" fn stop_at_exit() {
    if let Ok(clusters) = EXIT_INFO.lock() {
        for info in clusters.iter() {
            stop_and_remove(&info.bin_dir, info.as_postgres, &info.base_dir);
        }
    }
}

fn register_atexit(c: &Cluster) {
    let Ok(mut clusters) = EXIT_INFO.lock() else {
        return;
    };
    let first = clusters.is_empty();
    clusters.push(ExitInfo {
        bin_dir: c.bin_dir.clone(),
        as_postgres: c.as_postgres,
        base_dir: c.base_dir.clone(),
    });
    if first {
        unsafe {
            libc::atexit(stop_at_exit);
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
    ///
    /// psql runs as the current OS user (it only needs the socket, and trust auth lets
    /// it log in as `postgres`), so it can read scripts in root-owned 0700 temp dirs.
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

    /// A psql command connected to this database (`-X -q -v ON_ERROR_STOP=1`), to add
    /// arguments to.
    pub fn psql_cmd(&self) -> Command {
        let mut cmd = Command::new(self.cluster.bin_dir.join("psql"));
        cmd.arg("-X")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg("-d")
            .arg(self.url());
        cmd.env_remove("PGOPTIONS")
            .env_remove("PGSERVICE")
            .env_remove("PGPASSWORD");
        cmd
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

/// The full text of a PostgreSQL error (message, detail, hint), not just "db error".
pub fn pg_error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!("\nDETAIL: {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("\nHINT: {h}"));
            }
            if let Some(w) = db.where_() {
                s.push_str(&format!("\nWHERE: {w}"));
            }
            s
        }
        None => e.to_string(),
    }
}

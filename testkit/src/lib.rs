//! A throwaway PostgreSQL cluster, the one harness of pgmig's tests and its benchmark.
//!
//! [`Cluster::start`] runs `initdb` + `pg_ctl start` into a fresh directory
//! (`<parent>/<prefix><pid>-<nanos>`: data/, sock/, server.log, owner.pid), unix socket only,
//! as the `postgres` OS user (through `runuser -u postgres --`) when we are root. What differs
//! between the two users is a [`Config`]: the tests want a fast, disposable server (fsync off),
//! the benchmark a durable one with a DBA's bulk-load settings. The cluster is stopped and
//! removed on drop, unless kept; clusters held in statics (which never drop) ask for
//! [`Cluster::stop_at_exit`]. Clusters a killed run left behind go with
//! [`remove_leftovers`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How to make and run a cluster.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where PostgreSQL's programs are; None: [`find_bin_dir`].
    pub bin_dir: Option<PathBuf>,
    /// Parent of the cluster directory.
    pub parent: PathBuf,
    /// First part of the cluster directory's name (also what [`remove_leftovers`] looks for).
    pub dir_prefix: String,
    /// Server settings, passed as `-c name=value` in this order.
    pub settings: Vec<(String, String)>,
    /// `initdb --no-sync`: faster, for a cluster that never outlives a crash of the machine.
    pub initdb_no_sync: bool,
    /// Seconds `pg_ctl start` waits for the server.
    pub start_timeout_secs: u32,
    /// Leave the cluster running and its directory in place when dropped.
    pub keep: bool,
}

impl Config {
    /// A cluster under the temporary directory with PostgreSQL's default settings.
    pub fn new(dir_prefix: &str) -> Config {
        Config {
            bin_dir: None,
            parent: std::env::temp_dir(),
            dir_prefix: dir_prefix.to_string(),
            settings: Vec::new(),
            initdb_no_sync: false,
            start_timeout_secs: 60,
            keep: false,
        }
    }

    /// Sets `name` to `value`, over an earlier value of the same setting.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Config {
        match self.settings.iter_mut().find(|(n, _)| n == name) {
            Some(s) => s.1 = value.to_string(),
            None => self.settings.push((name.to_string(), value.to_string())),
        }
        self
    }
}

pub struct Cluster {
    bin_dir: PathBuf,
    base_dir: PathBuf,
    data_dir: PathBuf,
    sock_dir: PathBuf,
    port: u16,
    /// Run server-side tools through `runuser -u postgres --` (we are root).
    as_postgres: bool,
    config: Config,
}

/// PostgreSQL's programs: `PGMIG_PG_BIN`, else the newest /usr/lib/postgresql/*/bin, else PATH.
pub fn find_bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PGMIG_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let has_tools = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    for v in ["17", "16", "15", "14", "13"] {
        let dir = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"));
        if has_tools(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|d| has_tools(d)) {
            return Ok(dir);
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
    let name = std::ffi::CString::new("postgres").expect("no NUL in a literal");
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
    /// initdb + start; a cluster that fails half way is stopped and removed.
    pub fn start(config: Config) -> Result<Cluster, String> {
        let bin_dir = match &config.bin_dir {
            Some(d) => d.clone(),
            None => find_bin_dir()?,
        };
        let as_postgres = is_root();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let base_dir = config.parent.join(format!(
            "{}{}-{nanos}",
            config.dir_prefix,
            std::process::id()
        ));
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
        let cluster = Cluster {
            bin_dir,
            base_dir,
            data_dir,
            sock_dir,
            port: free_port(),
            as_postgres,
            config,
        };
        // On an error the cluster drops here, which stops what was started.
        cluster.init()?;
        cluster.start_server()?;
        Ok(cluster)
    }

    fn init(&self) -> Result<(), String> {
        let mut initdb = self.server_cmd("initdb");
        initdb.arg("-D").arg(&self.data_dir).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
        ]);
        if self.config.initdb_no_sync {
            initdb.arg("--no-sync");
        }
        let out = initdb
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed\n{}", output_text(&out)));
        }
        Ok(())
    }

    /// `pg_ctl start` on the data directory (again, after [`crash`](Self::crash)).
    pub fn start_server(&self) -> Result<(), String> {
        let mut opts = format!(
            "-k {} -p {} -c listen_addresses='' -c unix_socket_permissions=0777 -c logging_collector=off",
            self.sock_dir.display(),
            self.port
        );
        for (name, value) in &self.config.settings {
            opts.push_str(&format!(" -c {name}={value}"));
        }
        let out = self
            .server_cmd("pg_ctl")
            .args(["start", "-w", "-t"])
            .arg(self.config.start_timeout_secs.to_string())
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(self.log_path())
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

    /// Crashes the server (`pg_ctl stop -m immediate`: no shutdown checkpoint); the next
    /// [`start_server`](Self::start_server) runs crash recovery.
    pub fn crash(&self) -> Result<(), String> {
        let out = self
            .server_cmd("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.data_dir)
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl stop -m immediate failed\n{}",
                output_text(&out)
            ));
        }
        Ok(())
    }

    /// A command for a server-side tool, as `postgres` when we are root.
    fn server_cmd(&self, tool: &str) -> Command {
        server_cmd(&self.bin_dir, self.as_postgres, tool)
    }

    /// The settings the server was started with.
    pub fn settings(&self) -> &[(String, String)] {
        &self.config.settings
    }

    pub fn log_path(&self) -> PathBuf {
        self.base_dir.join("server.log")
    }

    /// The last 30 lines of the server log, headed, for an error message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!("--- server.log (tail) ---\n{}", lines[from..].join("\n"))
    }

    /// Conninfo of a database of this cluster, for the `postgres` crate and psql alike.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host={} port={} dbname={dbname} user=postgres",
            self.sock_dir.display(),
            self.port
        )
    }

    pub fn connect(&self, dbname: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url(dbname), postgres::NoTls)
    }

    /// psql on a database (`-X -v ON_ERROR_STOP=1`), to add arguments to; the caller's
    /// PGOPTIONS, PGSERVICE and PGPASSWORD do not reach it.
    ///
    /// psql runs as the current OS user (it only needs the socket, and trust auth lets
    /// it log in as `postgres`), so it can read scripts in root-owned 0700 temp dirs.
    pub fn psql(&self, dbname: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("psql"));
        cmd.args(["-X", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(dbname));
        cmd.env_remove("PGOPTIONS")
            .env_remove("PGSERVICE")
            .env_remove("PGPASSWORD");
        cmd
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster's directory (data/, sock/, server.log): room for a user's scratch files.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn socket_dir(&self) -> &Path {
        &self.sock_dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops and removes this cluster when the process exits: for a cluster in a static,
    /// which is never dropped.
    pub fn stop_at_exit(&self) {
        let Ok(mut clusters) = AT_EXIT.lock() else {
            return;
        };
        let first = clusters.is_empty();
        clusters.push(AtExit {
            bin_dir: self.bin_dir.clone(),
            as_postgres: self.as_postgres,
            base_dir: self.base_dir.clone(),
        });
        if first {
            unsafe {
                libc::atexit(stop_registered_clusters);
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.config.keep {
            eprintln!(
                "cluster kept in {} (socket {}, port {})",
                self.base_dir.display(),
                self.sock_dir.display(),
                self.port
            );
            return;
        }
        stop_and_remove(&self.bin_dir, self.as_postgres, &self.base_dir);
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

/// Stops and removes the clusters named `<dir_prefix>…` under `parent` whose owning
/// process is gone (a killed run); this process's own and live runs' clusters stay.
pub fn remove_leftovers(parent: &Path, dir_prefix: &str) -> Result<(), String> {
    let bin_dir = find_bin_dir()?;
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    let own = format!("{dir_prefix}{}-", std::process::id());
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(dir_prefix) || name.starts_with(&own) {
            continue;
        }
        let dir = entry.path();
        let owner = std::fs::read_to_string(dir.join("owner.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        match owner {
            Some(pid) if process_alive(pid) => continue,
            _ => stop_and_remove(&bin_dir, is_root(), &dir),
        }
    }
    Ok(())
}

struct AtExit {
    bin_dir: PathBuf,
    as_postgres: bool,
    base_dir: PathBuf,
}

static AT_EXIT: std::sync::Mutex<Vec<AtExit>> = std::sync::Mutex::new(Vec::new());

extern "C" fn stop_registered_clusters() {
    if let Ok(clusters) = AT_EXIT.lock() {
        for c in clusters.iter() {
            stop_and_remove(&c.bin_dir, c.as_postgres, &c.base_dir);
        }
    }
}

/// The full text of a PostgreSQL error (message, detail, hint, where), not just "db error".
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

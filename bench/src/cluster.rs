//! The benchmark's own throwaway PostgreSQL cluster: `initdb` + `pg_ctl start` into a fresh
//! directory, unix socket only, as the `postgres` OS user (through `runuser -u postgres --`)
//! when we are root. Durable settings (fsync, synchronous_commit, full_page_writes on) plus
//! what a DBA sets for a bulk load; see [`DEFAULT_SETTINGS`]. Stopped and removed on drop
//! unless kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Server settings for the benchmark (overridable with `--set name=value`).
pub const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("shared_buffers", "4GB"),
    ("maintenance_work_mem", "1GB"),
    ("work_mem", "64MB"),
    ("effective_cache_size", "16GB"),
    ("max_wal_size", "16GB"),
    ("checkpoint_timeout", "30min"),
    ("checkpoint_completion_target", "0.9"),
    ("wal_buffers", "64MB"),
    ("random_page_cost", "1.1"),
    ("autovacuum", "off"),
    // durable, as in production: these are the defaults, stated so the report shows them
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("full_page_writes", "on"),
];

pub struct BenchCluster {
    pub bin_dir: PathBuf,
    pub base_dir: PathBuf,
    pub data_dir: PathBuf,
    pub sock_dir: PathBuf,
    pub port: u16,
    as_postgres: bool,
    pub keep: bool,
    pub settings: Vec<(String, String)>,
}

pub fn find_bin_dir(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(d) = given {
        return Ok(d.to_path_buf());
    }
    if let Ok(dir) = std::env::var("PGMIG_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    for v in ["15", "16", "17", "14", "13"] {
        let dir = PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"));
        if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
            return Ok(dir);
        }
    }
    Err("initdb/pg_ctl not found under /usr/lib/postgresql/*/bin (install postgresql-15, or pass --pg-bin)".into())
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn id_u(user: Option<&str>) -> Option<u32> {
    let mut c = Command::new("id");
    c.arg("-u");
    if let Some(u) = user {
        c.arg(u);
    }
    let out = c.output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn id_g(user: &str) -> Option<u32> {
    let out = Command::new("id").args(["-g", user]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54331)
}

impl BenchCluster {
    /// initdb + start. `parent` is where the cluster directory goes (/tmp by default).
    pub fn start(
        bin_dir: PathBuf,
        parent: &Path,
        overrides: &[(String, String)],
        keep: bool,
    ) -> Result<BenchCluster, String> {
        let as_postgres = id_u(None) == Some(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let base_dir = parent.join(format!("pgmig-bench-{}-{nanos}", std::process::id()));
        let data_dir = base_dir.join("data");
        let sock_dir = base_dir.join("sock");
        std::fs::create_dir_all(&sock_dir)
            .map_err(|e| format!("create {}: {e}", sock_dir.display()))?;
        if as_postgres {
            let (uid, gid) = match (id_u(Some("postgres")), id_g("postgres")) {
                (Some(u), Some(g)) => (u, g),
                _ => return Err("running as root but there is no `postgres` OS user".into()),
            };
            for d in [&base_dir, &sock_dir] {
                std::os::unix::fs::chown(d, Some(uid), Some(gid))
                    .map_err(|e| format!("chown {}: {e}", d.display()))?;
            }
        }
        let mut settings: Vec<(String, String)> = DEFAULT_SETTINGS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in overrides {
            match settings.iter_mut().find(|(n, _)| n == k) {
                Some(s) => s.1 = v.clone(),
                None => settings.push((k.clone(), v.clone())),
            }
        }
        let cluster = BenchCluster {
            bin_dir,
            base_dir,
            data_dir,
            sock_dir,
            port: free_port(),
            as_postgres,
            keep,
            settings,
        };
        let out = cluster
            .server_cmd("initdb")
            .arg("-D")
            .arg(&cluster.data_dir)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", text(&out)));
        }
        let mut opts = format!(
            "-k {} -p {} -c listen_addresses='' -c unix_socket_permissions=0777 -c logging_collector=off",
            cluster.sock_dir.display(),
            cluster.port
        );
        for (k, v) in &cluster.settings {
            opts.push_str(&format!(" -c {k}={v}"));
        }
        let out = cluster
            .server_cmd("pg_ctl")
            .args(["start", "-w", "-t", "120", "-D"])
            .arg(&cluster.data_dir)
            .arg("-l")
            .arg(cluster.log_path())
            .arg("-o")
            .arg(opts)
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !out.status.success() {
            let log = std::fs::read_to_string(cluster.log_path()).unwrap_or_default();
            return Err(format!("pg_ctl start failed: {}\n{log}", text(&out)));
        }
        Ok(cluster)
    }

    pub fn log_path(&self) -> PathBuf {
        self.base_dir.join("server.log")
    }

    fn server_cmd(&self, tool: &str) -> Command {
        let exe = self.bin_dir.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c.current_dir("/");
            c
        } else {
            Command::new(exe)
        }
    }

    /// Conninfo of a database of this cluster, with optional `options` (`-c name=value …`).
    pub fn url(&self, db: &str) -> String {
        format!(
            "host={} port={} dbname={db} user=postgres",
            self.sock_dir.display(),
            self.port
        )
    }

    pub fn connect(&self, db: &str) -> Result<postgres::Client, String> {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
            .map_err(|e| format!("connect to {db}: {e}"))
    }

    /// psql on a database: `-X -q -v ON_ERROR_STOP=1`.
    pub fn psql(&self, db: &str) -> Command {
        let mut c = Command::new(self.bin_dir.join("psql"));
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(db));
        c.env_remove("PGOPTIONS");
        c
    }
}

impl Drop for BenchCluster {
    fn drop(&mut self) {
        if self.keep {
            eprintln!(
                "bench: cluster kept in {} (socket {}, port {})",
                self.base_dir.display(),
                self.sock_dir.display(),
                self.port
            );
            return;
        }
        let _ = self
            .server_cmd("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(&self.data_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.base_dir);
    }
}

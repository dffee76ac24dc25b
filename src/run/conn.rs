//! Connecting: a URL or key=value conninfo, the notice callback, the output sink.

use std::sync::Arc;
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::error::{describe_pg_error, RunError};
use super::ui::{Format, OutputLine, Ui};

/// A database session of the runner: the client and where its output goes.
pub struct Connection {
    pub(crate) client: Client,
    pub(crate) ui: Arc<Ui>,
    /// How it was reached: a second connection (the progress monitor) uses it too.
    pub(crate) config: Config,
    /// The `search_path` the session started with: what a script run as psql runs it
    /// would see. pgmig's own queries run with [`PINNED_SEARCH_PATH`] instead.
    pub(crate) script_search_path: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// The underlying client, for queries of the caller's own.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The output captured so far (and forgets it); empty unless connected with
    /// [`connect_capturing`].
    pub fn take_output(&self) -> Vec<OutputLine> {
        self.ui.take_captured()
    }
}

/// Parses a conninfo: `postgresql://…` URL or `key=value …` (as libpq accepts both); what it
/// leaves out comes from the environment as libpq takes it (see [`fill_from_environment`]).
pub fn parse_conninfo(conninfo: &str) -> Result<Config, RunError> {
    parse_conninfo_with(conninfo, |name| std::env::var(name).ok())
}

fn parse_conninfo_with(
    conninfo: &str,
    environment: impl Fn(&str) -> Option<String>,
) -> Result<Config, RunError> {
    if conninfo.trim().is_empty() {
        return Err(RunError::Conninfo {
            message: "no database given (use --db or DATABASE_URL)".into(),
        });
    }
    let mut config: Config = conninfo.parse().map_err(|e: postgres::Error| {
        let m = describe_pg_error(&e);
        let message = m
            .strip_prefix("invalid connection string: ")
            .unwrap_or(&m)
            .to_string();
        RunError::Conninfo { message }
    })?;
    fill_from_environment(&mut config, environment)?;
    if config.get_application_name().is_none() {
        config.application_name("pgmig");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(15));
    }
    Ok(config)
}

/// libpq's socket directory when neither the conninfo nor `PGHOST` names a host: Debian's and
/// Red Hat's packages use /var/run/postgresql, PostgreSQL's own builds /tmp.
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// What the conninfo leaves out, taken as libpq (and so psql, createdb) takes it: `PGHOST` (a
/// socket directory or host names, comma-separated; else the default socket directory),
/// `PGPORT`, `PGUSER` (else the login name), `PGDATABASE` and `PGPASSWORD`. So
/// `postgresql:///shop` is the database `psql -d shop` reaches in the same shell.
fn fill_from_environment(
    config: &mut Config,
    environment: impl Fn(&str) -> Option<String>,
) -> Result<(), RunError> {
    let set = |name: &str| environment(name).filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        match set("PGHOST") {
            Some(hosts) => {
                for host in hosts.split(',') {
                    if host.starts_with('/') {
                        config.host_path(host);
                    } else {
                        config.host(host);
                    }
                }
            }
            None => {
                let dir = DEFAULT_SOCKET_DIRS
                    .into_iter()
                    .find(|d| std::path::Path::new(d).is_dir())
                    .unwrap_or(DEFAULT_SOCKET_DIRS[0]);
                config.host_path(dir);
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(port) = set("PGPORT") {
            let port = port.parse::<u16>().map_err(|_| RunError::Conninfo {
                message: format!("PGPORT is {port:?}, not a port number"),
            })?;
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        if let Some(user) = set("PGUSER")
            .or_else(|| set("USER"))
            .or_else(|| set("LOGNAME"))
        {
            config.user(&user);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(dbname) = set("PGDATABASE") {
            config.dbname(&dbname);
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = set("PGPASSWORD") {
            config.password(&password);
        }
    }
    Ok(())
}

fn connect_ui(conninfo: &str, ui: Ui) -> Result<Connection, RunError> {
    let config = parse_conninfo(conninfo)?;
    let ui = Arc::new(ui);
    let notices = Arc::clone(&ui);
    let mut with_notices = config.clone();
    with_notices.notice_callback(move |n| notices.notice(&n));
    let mut client = with_notices.connect(NoTls).map_err(|e| RunError::Connect {
        message: format!("{} ({})", describe_pg_error(&e), describe_target(&config)),
    })?;
    let script_search_path = client
        .simple_query("SHOW search_path")
        .ok()
        .and_then(|messages| {
            messages.into_iter().find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                _ => None,
            })
        })
        .unwrap_or_default();
    pin_search_path(&mut client)?;
    Ok(Connection {
        client,
        ui,
        config,
        script_search_path,
    })
}

/// The path pgmig's own queries run with. They run before a script pins its own, and the
/// database's or a role's default path may put a schema another role owns before
/// `pg_catalog`: a `public.pg_try_advisory_lock` planted there must not run in their place.
pub(crate) const PINNED_SEARCH_PATH: &str = "SET search_path = pg_catalog, pg_temp";

/// Pins the session's `search_path` for pgmig's own queries (a SET calls no function).
pub(crate) fn pin_search_path(client: &mut Client) -> Result<(), RunError> {
    client
        .batch_execute(PINNED_SEARCH_PATH)
        .map_err(|e| RunError::query("could not pin search_path", e))
}

/// Where a connection goes, as a DBA would check it: `socket /run/x/.s.PGSQL.5432`,
/// `host db.example port 5432`, with the database and user when given.
fn describe_target(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let place = match config.get_hosts().first() {
        Some(postgres::config::Host::Unix(dir)) => format!(
            "tried socket {}",
            dir.join(format!(".s.PGSQL.{port}")).display()
        ),
        Some(postgres::config::Host::Tcp(host)) => format!("tried host {host} port {port}"),
        // parse_conninfo always gives a host (the environment's or the default socket).
        None => "no host".to_string(),
    };
    let mut parts = vec![place];
    if let Some(db) = config.get_dbname() {
        parts.push(format!("database {db}"));
    }
    if let Some(user) = config.get_user() {
        parts.push(format!("user {user}"));
    }
    parts.join(", ")
}

/// Connects; server notices are printed on stderr as they arrive, `\echo` and query results
/// go to stdout.
pub fn connect(conninfo: &str) -> Result<Connection, RunError> {
    connect_as(conninfo, Format::Human)
}

/// Connects like [`connect`], reporting progress in `format` (JSON lines on stdout with
/// [`Format::Json`]).
pub fn connect_as(conninfo: &str, format: Format) -> Result<Connection, RunError> {
    connect_ui(conninfo, Ui::terminal(format))
}

/// Connects like [`connect`], but keeps all output for [`Connection::take_output`].
pub fn connect_capturing(conninfo: &str) -> Result<Connection, RunError> {
    connect_capturing_as(conninfo, Format::Human)
}

/// [`connect_capturing`] with a progress format: with [`Format::Json`] the events are
/// captured as stdout lines.
pub fn connect_capturing_as(conninfo: &str, format: Format) -> Result<Connection, RunError> {
    connect_ui(conninfo, Ui::capturing(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_forms() {
        let c = parse_conninfo("host=/tmp/x port=5433 dbname=app user=postgres").unwrap();
        assert_eq!(c.get_dbname(), Some("app"));
        assert_eq!(c.get_application_name(), Some("pgmig"));
        let c = parse_conninfo("postgresql://u@localhost:5432/db?application_name=mine").unwrap();
        assert_eq!(c.get_dbname(), Some("db"));
        assert_eq!(c.get_application_name(), Some("mine"));
    }

    #[test]
    fn the_target_is_named_as_tried() {
        let t = |c: &str| describe_target(&parse_conninfo(c).unwrap());
        assert_eq!(
            t("host=/run/pg port=5433 dbname=app user=dba"),
            "tried socket /run/pg/.s.PGSQL.5433, database app, user dba"
        );
        assert_eq!(
            t("postgresql://u@db.example/x"),
            "tried host db.example port 5432, database x, user u"
        );
    }

    #[test]
    fn what_the_conninfo_leaves_out_comes_from_the_environment_as_for_psql() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let shell = env(&[
            ("PGHOST", "/run/pg"),
            ("PGPORT", "5499"),
            ("PGUSER", "dba"),
            ("PGPASSWORD", "pw"),
            ("USER", "login"),
        ]);
        let c = parse_conninfo_with("postgresql:///shop", shell).unwrap();
        assert_eq!(
            describe_target(&c),
            "tried socket /run/pg/.s.PGSQL.5499, database shop, user dba"
        );
        assert_eq!(c.get_password(), Some(&b"pw"[..]));
        // What the conninfo says wins.
        let c = parse_conninfo_with("host=db.example port=6000 user=app dbname=x", shell).unwrap();
        assert_eq!(
            describe_target(&c),
            "tried host db.example port 6000, database x, user app"
        );
        let c =
            parse_conninfo_with("dbname=x", env(&[("PGHOST", "a,/s"), ("USER", "me")])).unwrap();
        assert_eq!(c.get_hosts().len(), 2);
        assert_eq!(c.get_user(), Some("me"));
        let c = parse_conninfo_with("", env(&[("PGDATABASE", "d")]));
        assert!(c.is_err(), "an empty conninfo is still no database given");
        let e = parse_conninfo_with("dbname=x", env(&[("PGPORT", "many")])).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("PGPORT"), "{e}");
    }

    #[test]
    fn bad_conninfo_is_an_input_error() {
        for bad in [
            "",
            "host=x port=notanumber",
            "dbname='unterminated",
            "postgresql://h:99999999/db",
        ] {
            let e = parse_conninfo(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
        }
    }
}

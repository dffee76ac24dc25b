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

/// Parses a conninfo: `postgresql://…` URL or `key=value …` (as libpq accepts both).
pub fn parse_conninfo(conninfo: &str) -> Result<Config, RunError> {
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
    if config.get_application_name().is_none() {
        config.application_name("pgmig");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(15));
    }
    Ok(config)
}

fn connect_ui(conninfo: &str, ui: Ui) -> Result<Connection, RunError> {
    let config = parse_conninfo(conninfo)?;
    let ui = Arc::new(ui);
    let notices = Arc::clone(&ui);
    let mut with_notices = config.clone();
    with_notices.notice_callback(move |n| notices.notice(&n));
    let client = with_notices.connect(NoTls).map_err(|e| RunError::Connect {
        message: format!("{} ({})", describe_pg_error(&e), describe_target(&config)),
    })?;
    Ok(Connection { client, ui, config })
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
        // The postgres crate, unlike libpq, has no default socket: no host is no connection.
        None => "no host given: add host=… (a name or a socket directory)".to_string(),
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
        assert_eq!(
            t("dbname=x"),
            "no host given: add host=… (a name or a socket directory), database x"
        );
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

//! The functions a model's expressions call by name. The scripts run them with the rights of
//! the role running the scripts (often a superuser), on the model author's word: a built-in
//! that reads or acts beyond its arguments is refused here, at the call; every name called is
//! handed to the implicit-code guard, which refuses at run time a function another role owns
//! or could replace, a privileged or volatile built-in ([`called_functions`]).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName,
    ObjectNamePart, Spanned, TableFactor, Value, Visit, Visitor,
};
use sqlparser::tokenizer::Location;

use super::ident::ident_name;
use super::sql::Origin;
use crate::diagnostic::Diagnostic;
use crate::sql_text::quote_ident;

/// Built-ins (and common extensions' functions) a model may not call, by group: what they do
/// beyond computing a value from their arguments. A name ending in `*` stands for every name
/// it starts. Matched on the function's name in any schema: a model has no use for its own
/// function of such a name either. The guard's run-time rules (owner, EXECUTE by PUBLIC for
/// built-ins, volatility) catch what this list misses.
const REFUSED: &[(&[&str], &str)] = &[
    // They run the SQL text they are given, or read whole tables, schemas or the database,
    // with the runner's rights: `table_to_xml('pg_authid'::regclass, …)` is every password hash.
    (
        &[
            "query_to_xml*",
            "table_to_xml*",
            "cursor_to_xml*",
            "schema_to_xml*",
            "database_to_xml*",
            "ts_stat",
        ],
        "runs SQL or reads whole tables with the rights of the role running the scripts",
    ),
    // The server's files and large objects: the DBA's file system, not the model's data.
    (
        &[
            "pg_read_file",
            "pg_read_binary_file",
            "pg_ls_*",
            "pg_stat_file",
            "pg_file_*",
            "pg_current_logfile",
            "lo_*",
            "loread",
            "lowrite",
        ],
        "reads or writes files or large objects on the database server",
    ),
    // Settings and the server's administration: they outlive the value computed.
    (
        &[
            "set_config",
            "pg_terminate_backend",
            "pg_cancel_backend",
            "pg_reload_conf",
            "pg_rotate_logfile",
            "pg_promote",
            "pg_switch_wal",
            "pg_create_restore_point",
            "pg_backup_*",
            "pg_start_backup",
            "pg_stop_backup",
            "pg_wal_replay_*",
            "pg_stat_reset*",
            "pg_log_backend_memory_contexts",
            "pg_import_system_collations",
        ],
        "changes settings or administers the server",
    ),
    // Advisory locks: pg_advisory_unlock_all could release the lock that keeps two runs of
    // the scripts apart; any other could hold up the application.
    (
        &["pg_advisory_*", "pg_try_advisory_*"],
        "takes or releases advisory locks, among them the scripts' own",
    ),
    // Messages to other sessions, and replication: effects outside the migrated rows.
    (
        &[
            "pg_notify",
            "pg_logical_*",
            "pg_replication_*",
            "pg_create_logical_replication_slot",
            "pg_create_physical_replication_slot",
            "pg_copy_logical_replication_slot",
            "pg_copy_physical_replication_slot",
            "pg_drop_replication_slot",
        ],
        "sends messages to other sessions or acts on replication",
    ),
    // Connections to other databases, with credentials the server holds.
    (&["dblink*"], "connects to another database from the server"),
    // What a superuser sees and the model's readers may not: every setting, those PostgreSQL
    // hides from other roles too (primary_conninfo holds a replication password,
    // archive_command and data_directory the server's layout). `current_setting` is refused
    // but for the few settings in READABLE_SETTINGS, named by a literal
    // ([`current_setting_refused`]).
    (
        &[
            "pg_show_all_settings",
            "pg_show_all_file_settings",
            "pg_hba_file_rules",
            "pg_ident_file_mappings",
        ],
        "reads the server's settings, superuser-only ones too (primary_conninfo holds a replication password)",
    ),
    // Other sessions and the server's activity: a superuser sees every session's query text
    // (a password in an ALTER ROLE), client address and the replication connections.
    (
        &[
            "pg_stat_*",
            "pg_get_replication_slots",
            "pg_get_backend_memory_contexts",
            "pg_get_shmem_allocations",
        ],
        "reads other sessions' queries and addresses or the server's statistics, all of them for a superuser",
    ),
    // Where the server listens and keeps its files.
    (
        &[
            "inet_server_*",
            "inet_client_*",
            "pg_tablespace_location",
            "pg_relation_filepath",
        ],
        "reads the server's network addresses or file layout",
    ),
];

/// The settings a model may read with `current_setting('…')`, lower case: those that shape
/// how values are computed and printed, which PostgreSQL shows every role (checked as a role
/// without `pg_read_all_settings` on PostgreSQL 15). A name held in a column or computed could
/// be any setting, so only a literal passes. (PostgreSQL does not say which settings are
/// superuser-only, neither in `pg_settings` nor in `pg_settings_get_flags`, so the scripts
/// cannot check a name at run time.)
const READABLE_SETTINGS: &[&str] = &[
    "timezone",
    "datestyle",
    "intervalstyle",
    "extra_float_digits",
    "default_text_search_config",
    "standard_conforming_strings",
    "server_version",
    "server_version_num",
    "server_encoding",
    "client_encoding",
    "lc_collate",
    "lc_ctype",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
];

/// Why a function of this (unqualified, folded) name is refused, if it is.
fn refused(name: &str) -> Option<&'static str> {
    REFUSED.iter().find_map(|(names, why)| {
        names
            .iter()
            .any(|n| match n.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *n,
            })
            .then_some(*why)
    })
}

/// Why this call of a function named `current_setting` is refused, if it is: its first
/// argument must be a literal naming one of [`READABLE_SETTINGS`].
fn current_setting_refused(args: &[FunctionArg]) -> Option<&'static str> {
    let named = match args.first() {
        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        _ => None,
    };
    match named {
        Some(setting) if READABLE_SETTINGS.contains(&setting.to_lowercase().as_str()) => None,
        Some(_) => Some("reads a setting that is not among those a model may read (the time zone, date and number formats, locales, encodings, server version), and a superuser reads them all (primary_conninfo holds a replication password)"),
        None => Some("reads a setting named by an expression, and a superuser reads them all (primary_conninfo holds a replication password): name one of the time zone, date and number formats, locales, encodings or server version by a literal"),
    }
}

/// Every call of a refused built-in in `node`: the function's name as written, where its
/// last part starts and how long it is (where an error points), and why it is refused.
/// Refused too: a call qualified with `pg_temp` (the scripts' own helpers live there, and
/// the guard cannot tell them from the model's), and an operator the model names in another
/// schema than pg_catalog (`OPERATOR(v1.||)`: it runs its owner's function, which the guard
/// does not look for by name).
pub fn refusals<V: Visit>(node: &V) -> Vec<(String, Location, usize, &'static str)> {
    let mut found = Vec::new();
    let _ = node.visit(&mut Calls(|name: &ObjectName, args: &[FunctionArg]| {
        if let Some(ObjectNamePart::Identifier(last)) = name.0.last() {
            let in_pg_temp = name.0.len() > 1
                && matches!(&name.0[0], ObjectNamePart::Identifier(s) if ident_name(s).starts_with("pg_temp"));
            let function = ident_name(last);
            let why = if in_pg_temp {
                Some("is in pg_temp, where only the scripts' own helpers live")
            } else if function == "current_setting" {
                current_setting_refused(args)
            } else {
                refused(&function)
            };
            if let Some(why) = why {
                found.push((name.to_string(), last.span.start, last.value.chars().count(), why));
            }
        }
    }));
    let _ = node.visit(&mut Operators(|op: &Vec<String>, at: Location| {
        if op.len() > 1 && !op[0].eq_ignore_ascii_case("pg_catalog") {
            found.push((
                format!("OPERATOR({})", op.join(".")),
                at,
                1,
                "runs a function of that schema's operator, which the scripts cannot check by name",
            ));
        }
    }));
    found
}

/// The message for a refused call.
pub fn refusal_message(name: &str, why: &str) -> String {
    format!("a model may not call `{name}`: it {why}")
}

/// Every call of a refused built-in in `node`, as an error at the function's name.
pub fn refused_calls<V: Visit>(node: &V, origin: Origin) -> Vec<Diagnostic> {
    refusals(node)
        .into_iter()
        .map(|(name, at, len, why)| {
            origin
                .error(refusal_message(&name, why), at, len)
                .with_hint("the scripts run the model's expressions with the rights of the role running them, often a superuser: compute the value in V1 (a view or a column its owner fills) or after the migration")
        })
        .collect()
}

/// The functions `node` calls, as the scripts print them (qualified or not), each part
/// quoted as needed: the guard reads them with `parse_ident`. A table function in FROM
/// (`generate_series(1, 3) AS g`) is a call too.
pub fn called_functions<V: Visit>(node: &V) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let _ = node.visit(&mut Calls(|name: &ObjectName, _: &[FunctionArg]| {
        let parts: Option<Vec<String>> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(quote_ident(&ident_name(i))),
                _ => None,
            })
            .collect();
        if let Some(parts) = parts {
            names.insert(parts.join("."));
        }
    }));
    names
}

/// Calls `F` with every schema-qualifiable operator (`OPERATOR(schema.op)`) an expression
/// names, and where the expression around it starts.
struct Operators<F>(F);

impl<F: FnMut(&Vec<String>, Location)> Visitor for Operators<F> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::BinaryOp {
            op: BinaryOperator::PGCustomBinaryOperator(parts),
            ..
        } = expr
        {
            (self.0)(parts, expr.span().start);
        }
        ControlFlow::Continue(())
    }
}

/// Calls `F` with the name and the arguments of every function called in an expression or
/// in FROM (none for a call without an argument list, or with a subquery for one).
struct Calls<F>(F);

impl<F: FnMut(&ObjectName, &[FunctionArg])> Visitor for Calls<F> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let args = match &f.args {
                FunctionArguments::List(list) => list.args.as_slice(),
                FunctionArguments::None | FunctionArguments::Subquery(_) => &[],
            };
            (self.0)(&f.name, args);
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table {
                name,
                args: Some(args),
                ..
            } => (self.0)(name, &args.args),
            TableFactor::Function { name, args, .. } => (self.0)(name, args),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(sql: &str) -> sqlparser::ast::Statement {
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn every_call_is_collected_as_written_and_quoted_as_needed() {
        let names = called_functions(&from(
            r#"SELECT Lower(v1."Norm"(x)), pg_catalog.btrim(y), count(*) FROM t CROSS JOIN LATERAL generate_series(1, 2) AS g, LATERAL v1.rows_of(t.id) AS r WHERE v1.ok(t.id)"#,
        ));
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            [
                "count",
                "generate_series",
                "lower",
                "pg_catalog.btrim",
                "v1.\"Norm\"",
                "v1.ok",
                "v1.rows_of"
            ]
        );
    }

    #[test]
    fn refused_names_by_group_and_prefix() {
        for name in [
            "table_to_xml_and_xmlschema",
            "pg_read_file",
            "pg_ls_waldir",
            "lo_import",
            "set_config",
            "pg_advisory_unlock_all",
            "dblink_exec",
            "pg_logical_emit_message",
            "pg_show_all_settings",
            "pg_stat_get_activity",
            "pg_stat_get_wal_receiver",
            "pg_stat_statements",
            "inet_server_addr",
        ] {
            assert!(refused(name).is_some(), "{name} passed");
        }
        for name in ["lower", "format", "pg_sleep", "log", "now", "xmlelement"] {
            assert_eq!(refused(name), None, "{name} refused");
        }
    }

    #[test]
    fn current_setting_reads_only_a_literal_readable_setting() {
        let refused_in = |sql: &str| {
            refusals(&from(sql))
                .into_iter()
                .map(|(name, _, _, _)| name)
                .collect::<Vec<_>>()
        };
        for sql in [
            "SELECT current_setting('TimeZone')",
            "SELECT pg_catalog.current_setting('server_version_num', true)",
            "SELECT pg_catalog.current_setting(E'DateStyle')",
        ] {
            assert!(refused_in(sql).is_empty(), "{sql} refused");
        }
        for sql in [
            "SELECT current_setting('primary_conninfo')",
            "SELECT pg_catalog.current_setting('data_directory', true)",
            "SELECT current_setting(t.name) FROM t",
            "SELECT current_setting('time' || 'zone')",
            "SELECT current_setting()",
            "SELECT s FROM current_setting('primary_conninfo') AS s",
        ] {
            assert_eq!(refused_in(sql).len(), 1, "{sql} passed");
        }
    }
}

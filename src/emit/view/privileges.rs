//! What each script needs of the role that runs it, derived from the plan: the check at the
//! top of every script (templates/privileges.sql) and the grants PLAN.md lists.
//!
//! A role that owns the V2 tables (and their sequences), can read V1 and has CREATE on the
//! database has all of it; a superuser too. The transform library adds pgcrypto (a trusted
//! extension: CREATE on the database installs it), and a V1 on another server postgres_fdw
//! (untrusted: a superuser installs it and grants USAGE on its wrapper).

use std::collections::BTreeMap;

use super::referrer::rollback_index_tables;
use crate::catalog::{quote_ident, QualName};
use crate::plan::Plan;

/// The scripts, in the order PLAN.md names them.
const SCRIPTS: [&str; 5] = [
    "precheck.sql",
    "migrate.sql",
    "verify.sql",
    "rollback.sql",
    "export.sql",
];

/// Privileges in the order a GRANT lists them.
const ORDER: [&str; 6] = ["USAGE", "CREATE", "SELECT", "INSERT", "UPDATE", "DELETE"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Schema,
    Table,
    Sequence,
}

impl Kind {
    fn sql(self) -> &'static str {
        match self {
            Kind::Schema => "schema",
            Kind::Table => "table",
            Kind::Sequence => "sequence",
        }
    }
}

/// A schema (`schema` empty), table or sequence, as GRANT names it.
type Object = (Kind, String, String);

/// Which scripts use each privilege on an object: privilege (its place in [`ORDER`]) → scripts.
type Uses<'a> = BTreeMap<usize, Vec<&'a str>>;

/// One script's needs: objects → privileges, in first-mention order.
#[derive(Default)]
struct Needs {
    objects: Vec<(Object, Vec<&'static str>)>,
}

impl Needs {
    fn add(&mut self, kind: Kind, schema: &str, name: &str, privileges: &[&'static str]) {
        if privileges.is_empty() {
            return;
        }
        let object = (kind, schema.to_string(), name.to_string());
        let at = match self.objects.iter().position(|(o, _)| *o == object) {
            Some(i) => i,
            None => {
                self.objects.push((object, Vec::new()));
                self.objects.len() - 1
            }
        };
        let held = &mut self.objects[at].1;
        for p in privileges {
            if !held.contains(p) {
                held.push(p);
            }
        }
        held.sort_by_key(|p| ORDER.iter().position(|o| o == p));
    }

    fn add_table(&mut self, table: &QualName, privileges: &[&'static str]) {
        self.add_in_schema(Kind::Table, table, privileges);
    }

    fn add_in_schema(&mut self, kind: Kind, object: &QualName, privileges: &[&'static str]) {
        if !privileges.is_empty() {
            self.add(Kind::Schema, "", &object.schema, &["USAGE"]);
        }
        self.add(kind, &object.schema, &object.name, privileges);
    }
}

/// What one script checks before anything else, printed for templates/privileges.sql.
#[derive(Debug, Clone)]
pub struct ScriptNeeds {
    pub script: &'static str,
    /// The rows of `needed (kind, schema_name, object_name, privileges)`.
    pub needed: Vec<NeededObject>,
    /// The script makes schema `_pgmig` (when it is missing), and `installs_pgcrypto` when it
    /// is missing: CREATE on the database is needed then (with `fdw`, on every run).
    pub creates: bool,
    pub installs_pgcrypto: bool,
    /// Session-only helpers in pg_temp: TEMPORARY on the database.
    pub temp: bool,
    /// V1 through postgres_fdw: the extension and USAGE on its wrapper.
    pub fdw: bool,
    /// The rows of `owned (schema_name, object_name)`: tables the script builds an index on,
    /// which only their owner (or a member of the owning role) can (empty: none).
    pub owned: Vec<QualName>,
}

/// An object a script needs privileges on (templates/privileges.sql makes the fields
/// literals): `kind` is `schema`, `table` or `sequence`; a schema has no `schema`.
#[derive(Debug, Clone, PartialEq)]
pub struct NeededObject {
    pub kind: &'static str,
    pub schema: Option<String>,
    pub name: String,
    /// `SELECT, INSERT`: in the order a GRANT lists them.
    pub privileges: String,
}

/// The privileges of every script, and the grants that give them all.
#[derive(Debug, Clone)]
pub struct PrivilegesView {
    pub scripts: Vec<ScriptNeeds>,
    /// PLAN.md's SQL block: comment and GRANT lines; `<role>` and `<database>` are the DBA's.
    pub grants: Vec<String>,
}

impl PrivilegesView {
    /// The needs of `script`, one of the five scripts (the templates name it; the snapshot
    /// tests render every template).
    pub fn of(&self, script: &str) -> &ScriptNeeds {
        self.scripts
            .iter()
            .find(|s| s.script == script)
            .expect("a template names one of the five scripts")
    }

    pub(super) fn new(plan: &Plan, uses_library: bool) -> PrivilegesView {
        let transaction = matches!(plan.mode, crate::plan::Mode::Transaction);
        // Precheck builds its id maps in pg_temp (and its casts tests and hierarchy orders).
        // A self-referencing step's rows are put in hierarchy order in pg_temp by migrate
        // where it commits in parts (batched, or the per-entity root).
        let orders_hierarchy = plan.steps.iter().any(|s| {
            s.hierarchy.is_some()
                && match &plan.mode {
                    crate::plan::Mode::Transaction => false,
                    crate::plan::Mode::Batched { .. } => true,
                    crate::plan::Mode::PerEntity { root, .. } => &s.name == root,
                }
        });
        let fdw = plan.source_server.is_some();
        let mut indexed: Vec<&QualName> = Vec::new();
        for (_, leaf) in rollback_index_tables(&plan.referrers, &plan.steps) {
            if !indexed.contains(&leaf) {
                indexed.push(leaf);
            }
        }
        let mut all: Vec<(&'static str, Needs)> = Vec::new();
        let mut scripts = Vec::new();
        for script in SCRIPTS {
            let needs = needs_of(plan, script);
            // Precheck and migrate make `_pgmig` (and install pgcrypto, or make the staging
            // schema of V1's foreign tables): templates/privileges.sql says when that needs
            // CREATE on the database.
            let creates = matches!(script, "precheck.sql" | "migrate.sql");
            let needed = needed_objects(&needs);
            scripts.push(ScriptNeeds {
                script,
                needed,
                creates,
                installs_pgcrypto: creates && uses_library,
                temp: (script == "precheck.sql" && !plan.steps.is_empty())
                    || (script == "migrate.sql" && (transaction || orders_hierarchy)),
                fdw: creates && fdw,
                owned: if script == "rollback.sql" {
                    indexed.iter().map(|t| (*t).clone()).collect()
                } else {
                    Vec::new()
                },
            });
            all.push((script, needs));
        }
        let mut grants = grant_lines(&all, &scripts, uses_library, fdw);
        if !indexed.is_empty() {
            // No GRANT gives what CREATE INDEX needs: ownership of the table.
            let tables: Vec<String> = indexed.iter().map(|t| t.to_string()).collect();
            grants.push(format!(
                "-- rollback builds a temporary index on {} (see \"Rollback and the rows of others\"): only the tables' owner can, so run rollback.sql as that role or a member of it",
                tables.join(", ")
            ));
        }
        PrivilegesView { scripts, grants }
    }
}

/// The objects `script` reads or writes, with the privileges it uses on each.
fn needs_of(plan: &Plan, script: &str) -> Needs {
    // `_pgmig` is not among them: it is the scripts' own, and templates/privileges.sql names
    // the role that owns it instead (a grant on the schema alone would not do).
    let mut needs = Needs::default();
    if plan.source_server.is_none() {
        for (table, _) in &plan.v1_tables {
            needs.add_table(table, &["SELECT"]);
        }
    }
    let (target, reference, replaced, sequence): (
        &[&'static str],
        &[&'static str],
        &[&'static str],
        &[&'static str],
    ) = match script {
        "precheck.sql" => (&["SELECT"], &["SELECT", "INSERT"], &["SELECT"], &[]),
        "migrate.sql" => (
            &["SELECT", "INSERT"],
            &["SELECT", "INSERT"],
            &["SELECT", "DELETE"],
            &["SELECT", "UPDATE"],
        ),
        "verify.sql" => (&["SELECT"], &["SELECT"], &[], &["SELECT"]),
        "rollback.sql" => (
            &["SELECT", "DELETE"],
            &["SELECT", "DELETE"],
            &["SELECT", "INSERT"],
            &["SELECT", "UPDATE"],
        ),
        _ => (&["SELECT"], &[], &[], &[]),
    };
    for r in &plan.references {
        needs.add_table(&r.table, reference);
        for q in &r.sequences {
            needs.add_in_schema(Kind::Sequence, &q.sequence, sequence);
        }
    }
    for s in &plan.steps {
        needs.add_table(&s.target, target);
        for t in s.replace.iter().flat_map(|x| x.tables.iter()) {
            needs.add_table(&t.table, replaced);
        }
        for q in &s.sequences {
            needs.add_in_schema(Kind::Sequence, &q.sequence, sequence);
        }
    }
    if script == "rollback.sql" {
        // Rows of others under migrated rows are counted before anything is deleted.
        for r in &plan.referrers {
            needs.add_table(&r.table, &["SELECT"]);
        }
    }
    needs
}

/// The objects `needs` names, each with its privileges.
fn needed_objects(needs: &Needs) -> Vec<NeededObject> {
    needs
        .objects
        .iter()
        .map(|((kind, schema, name), privileges)| NeededObject {
            kind: kind.sql(),
            schema: (*kind != Kind::Schema).then(|| schema.clone()),
            name: name.clone(),
            privileges: privileges.join(", "),
        })
        .collect()
}

/// PLAN.md's grants for running every script: the objects that need the same privileges
/// (for the same scripts) in one GRANT, with a comment saying which script uses what.
fn grant_lines(
    all: &[(&'static str, Needs)],
    scripts: &[ScriptNeeds],
    uses_library: bool,
    fdw: bool,
) -> Vec<String> {
    let short = |s: &str| s.trim_end_matches(".sql").to_string();
    let who = |names: &[&str]| {
        if names.len() == SCRIPTS.len() {
            "every script".to_string()
        } else {
            names
                .iter()
                .map(|n| short(n))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut lines = Vec::new();
    let mut create =
        vec!["precheck and migrate make schema _pgmig (once: the role then owns it)".to_string()];
    if uses_library {
        create.push("install pgcrypto when it is missing (a trusted extension)".into());
    }
    if fdw {
        create.push("make the staging schema of V1's foreign tables".into());
    }
    lines.push(format!("-- CREATE: {}", create.join("; ")));
    lines.push("GRANT CREATE ON DATABASE <database> TO <role>;".into());
    let temp: Vec<&str> = scripts
        .iter()
        .filter(|s| s.temp)
        .map(|s| s.script)
        .collect();
    if !temp.is_empty() {
        lines.push(format!(
            "-- TEMPORARY (PUBLIC has it unless revoked): session-only helpers of {}",
            who(&temp)
        ));
        lines.push("GRANT TEMPORARY ON DATABASE <database> TO <role>;".into());
    }
    if fdw {
        lines.push("-- V1 is read through postgres_fdw, not a trusted extension: a superuser installs it once".into());
        lines.push("CREATE EXTENSION IF NOT EXISTS postgres_fdw;".into());
        lines.push("GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO <role>;".into());
    }
    // Object → privilege → scripts, in first-mention order.
    let mut by_object: Vec<(Object, Uses)> = Vec::new();
    for (script, needs) in all {
        for (object, privileges) in &needs.objects {
            let at = match by_object.iter().position(|(o, _)| o == object) {
                Some(i) => i,
                None => {
                    by_object.push((object.clone(), BTreeMap::new()));
                    by_object.len() - 1
                }
            };
            for p in privileges {
                let rank = ORDER.iter().position(|o| o == p).unwrap_or(ORDER.len());
                by_object[at].1.entry(rank).or_default().push(script);
            }
        }
    }
    by_object.sort_by_key(|((kind, _, _), _)| *kind);
    let mut groups: Vec<(Kind, Uses, Vec<String>)> = Vec::new();
    for ((kind, schema, name), uses) in by_object {
        let printed = if kind == Kind::Schema {
            quote_ident(&name)
        } else {
            QualName::new(schema, name).to_string()
        };
        match groups.iter_mut().find(|(k, u, _)| *k == kind && *u == uses) {
            Some(group) => group.2.push(printed),
            None => groups.push((kind, uses, vec![printed])),
        }
    }
    for (kind, uses, objects) in groups {
        let comment: Vec<String> = uses
            .iter()
            .map(|(p, s)| format!("{}: {}", ORDER[*p], who(s)))
            .collect();
        let privileges: Vec<&str> = uses.keys().map(|p| ORDER[*p]).collect();
        lines.push(format!("-- {}", comment.join("; ")));
        lines.push(format!(
            "GRANT {} ON {} {} TO <role>;",
            privileges.join(", "),
            kind.sql().to_uppercase(),
            objects.join(", ")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_merge_in_grant_order() {
        let mut needs = Needs::default();
        needs.add_table(&QualName::new("public", "t"), &["INSERT"]);
        needs.add_table(&QualName::new("public", "t"), &["SELECT", "INSERT"]);
        let row = |kind, schema: Option<&str>, name: &str, privileges: &str| NeededObject {
            kind,
            schema: schema.map(str::to_string),
            name: name.to_string(),
            privileges: privileges.to_string(),
        };
        assert_eq!(
            needed_objects(&needs),
            [
                row("schema", None, "public", "USAGE"),
                row("table", Some("public"), "t", "SELECT, INSERT")
            ]
        );
    }
}

//! What one statement locks: the table-level lock mode PostgreSQL takes on each table it
//! touches, and whether it rewrites or scans the table while holding it.
//!
//! Modes follow PostgreSQL's "Explicit Locking" and `ALTER TABLE` pages: `SELECT` takes
//! ACCESS SHARE, `INSERT/UPDATE/DELETE/MERGE` ROW EXCLUSIVE on their target (ACCESS SHARE on
//! what they read), `CREATE INDEX` SHARE, `CREATE INDEX CONCURRENTLY`, `VALIDATE
//! CONSTRAINT`, `ANALYZE` and `VACUUM` SHARE UPDATE EXCLUSIVE, `ADD FOREIGN KEY` and triggers
//! SHARE ROW EXCLUSIVE (on both tables of a foreign key), and every other `ALTER TABLE`
//! form, `DROP`, `TRUNCATE`, `VACUUM FULL` ACCESS EXCLUSIVE.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::ControlFlow;

use serde::Serialize;
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, DataType, Expr, FromTable,
    FunctionArguments, GeneratedExpressionMode, LockTableMode, ObjectName, ObjectNamePart, Query,
    Statement, TableConstraint, TableFactor, TableObject, Value, Visit, Visitor,
};

/// PostgreSQL's table-level lock modes, weakest first (`Ord` follows strength).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    /// The mode as PostgreSQL spells it: `ACCESS EXCLUSIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// What the mode blocks, for a reviewer.
    pub fn blocks(self) -> &'static str {
        match self {
            LockMode::AccessShare | LockMode::RowShare => "only ACCESS EXCLUSIVE (DDL)",
            LockMode::RowExclusive => "SHARE and stronger (CREATE INDEX, DDL)",
            LockMode::ShareUpdateExclusive => "other DDL, VACUUM, ANALYZE; not reads or writes",
            LockMode::Share => "writes (INSERT, UPDATE, DELETE)",
            LockMode::ShareRowExclusive => "writes and other SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "writes; only plain reads go on",
            LockMode::AccessExclusive => "everything, reads included",
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LockMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What the statement does to the table while it holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Catalog only: done at once, however big the table.
    None,
    /// Reads or writes the rows it selects (DML, queries).
    Rows,
    /// Reads the whole table (validating a constraint, building an index, sampling).
    Scan,
    /// Writes the whole table anew (and its indexes).
    Rewrite,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::None => "none",
            Effect::Rows => "rows",
            Effect::Scan => "scan",
            Effect::Rewrite => "rewrite",
        }
    }
}

/// One table lock a statement takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The table (or index, schema…) as written, unquoted names lowercased.
    pub table: String,
    pub lock: LockMode,
    pub effect: Effect,
}

/// Whether an operation rewrites the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    No,
    /// Rewrites unless a condition the script does not show holds (the reason says which).
    Maybe(String),
    Yes(String),
}

/// One `ALTER TABLE` subcommand, classified.
#[derive(Debug, Clone)]
pub struct AlterOp {
    /// `ALTER COLUMN TYPE`, `ADD CONSTRAINT … FOREIGN KEY`, …
    pub what: String,
    pub lock: LockMode,
    pub effect: Effect,
    pub rewrite: Rewrite,
    /// The other table a foreign key locks (SHARE ROW EXCLUSIVE).
    pub references: Option<String>,
}

/// What a statement does, lock-wise.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// A short summary: `ALTER TABLE … ALTER COLUMN TYPE`, `CREATE INDEX`, `INSERT`…
    pub summary: String,
    /// The table locks, strongest first.
    pub accesses: Vec<Access>,
    /// Tables this statement creates.
    pub creates: Vec<String>,
    /// Tables this statement drops.
    pub drops: Vec<String>,
    /// `SET lock_timeout`: `Some(true)` when set to a non-zero value, `Some(false)` when
    /// set to 0 or reset.
    pub lock_timeout: Option<bool>,
}

/// A table name as written, unquoted parts lowercased, quoted parts in quotes.
pub fn table_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) if i.quote_style.is_none() => i.value.to_lowercase(),
            ObjectNamePart::Identifier(i) if is_plain(&i.value) => i.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The key two names of one table share: `public.x` and `x` are the same table under the
/// default search_path.
pub fn table_key(name: &str) -> String {
    name.strip_prefix("public.").unwrap_or(name).to_string()
}

/// Every ALTER TABLE subcommand's lock, effect and rewrite.
pub fn alter_op(op: &AlterTableOperation) -> AlterOp {
    use LockMode::*;
    let op_ = |what: &str, lock, effect| AlterOp {
        what: what.to_string(),
        lock,
        effect,
        rewrite: Rewrite::No,
        references: None,
    };
    match op {
        AlterTableOperation::AddColumn { column_def, .. } => {
            let rewrite = column_rewrite(column_def);
            let references = column_def.options.iter().find_map(|o| match &o.option {
                ColumnOption::ForeignKey(fk) => Some(table_name(&fk.foreign_table)),
                _ => None,
            });
            let checks = column_def.options.iter().any(|o| {
                matches!(
                    o.option,
                    ColumnOption::Check(_) | ColumnOption::ForeignKey(_)
                )
            });
            let effect = match rewrite {
                Rewrite::No if checks => Effect::Scan,
                Rewrite::No => Effect::None,
                _ => Effect::Rewrite,
            };
            AlterOp {
                what: "ADD COLUMN".into(),
                lock: AccessExclusive,
                effect,
                rewrite,
                references,
            }
        }
        AlterTableOperation::AddConstraint {
            constraint,
            not_valid,
        } => {
            let scan = if *not_valid {
                Effect::None
            } else {
                Effect::Scan
            };
            let nv = if *not_valid { " NOT VALID" } else { "" };
            match constraint {
                TableConstraint::ForeignKey(fk) => AlterOp {
                    what: format!("ADD CONSTRAINT … FOREIGN KEY{nv}"),
                    lock: ShareRowExclusive,
                    effect: scan,
                    rewrite: Rewrite::No,
                    references: Some(table_name(&fk.foreign_table)),
                },
                TableConstraint::Check(_) => op_(
                    &format!("ADD CONSTRAINT … CHECK{nv}"),
                    AccessExclusive,
                    scan,
                ),
                TableConstraint::PrimaryKey(_) => {
                    op_("ADD PRIMARY KEY", AccessExclusive, Effect::Scan)
                }
                TableConstraint::Unique(_) => op_("ADD UNIQUE", AccessExclusive, Effect::Scan),
                _ => op_("ADD CONSTRAINT", AccessExclusive, Effect::Scan),
            }
        }
        AlterTableOperation::ValidateConstraint { .. } => {
            op_("VALIDATE CONSTRAINT", ShareUpdateExclusive, Effect::Scan)
        }
        AlterTableOperation::DropConstraint { .. } => {
            op_("DROP CONSTRAINT", AccessExclusive, Effect::None)
        }
        AlterTableOperation::DropColumn { .. } => op_("DROP COLUMN", AccessExclusive, Effect::None),
        AlterTableOperation::RenameColumn { .. } => {
            op_("RENAME COLUMN", AccessExclusive, Effect::None)
        }
        AlterTableOperation::RenameTable { .. } => op_("RENAME TO", AccessExclusive, Effect::None),
        AlterTableOperation::RenameConstraint { .. } => {
            op_("RENAME CONSTRAINT", AccessExclusive, Effect::None)
        }
        AlterTableOperation::AlterColumn { op, .. } => match op {
            AlterColumnOperation::SetNotNull => {
                op_("ALTER COLUMN SET NOT NULL", AccessExclusive, Effect::Scan)
            }
            AlterColumnOperation::DropNotNull => {
                op_("ALTER COLUMN DROP NOT NULL", AccessExclusive, Effect::None)
            }
            AlterColumnOperation::SetDefault { .. } => {
                op_("ALTER COLUMN SET DEFAULT", AccessExclusive, Effect::None)
            }
            AlterColumnOperation::DropDefault => {
                op_("ALTER COLUMN DROP DEFAULT", AccessExclusive, Effect::None)
            }
            AlterColumnOperation::SetDataType {
                data_type, using, ..
            } => {
                let rewrite = type_change_rewrite(data_type, using.as_ref());
                AlterOp {
                    what: "ALTER COLUMN TYPE".into(),
                    lock: AccessExclusive,
                    effect: Effect::Rewrite,
                    rewrite,
                    references: None,
                }
            }
            AlterColumnOperation::AddGenerated { .. } => {
                op_("ALTER COLUMN ADD GENERATED", AccessExclusive, Effect::None)
            }
        },
        AlterTableOperation::SetLogged | AlterTableOperation::SetUnlogged => AlterOp {
            what: "SET LOGGED/UNLOGGED".into(),
            lock: AccessExclusive,
            effect: Effect::Rewrite,
            rewrite: Rewrite::Yes("SET LOGGED/UNLOGGED writes the table anew".into()),
            references: None,
        },
        AlterTableOperation::EnableTrigger { .. }
        | AlterTableOperation::DisableTrigger { .. }
        | AlterTableOperation::EnableAlwaysTrigger { .. }
        | AlterTableOperation::EnableReplicaTrigger { .. } => {
            op_("ENABLE/DISABLE TRIGGER", ShareRowExclusive, Effect::None)
        }
        AlterTableOperation::SetOptionsParens { .. } => op_(
            "SET (storage parameters)",
            ShareUpdateExclusive,
            Effect::None,
        ),
        AlterTableOperation::AttachPartition { .. } => {
            op_("ATTACH PARTITION", ShareUpdateExclusive, Effect::Scan)
        }
        AlterTableOperation::DetachPartition { .. } => {
            op_("DETACH PARTITION", AccessExclusive, Effect::None)
        }
        AlterTableOperation::OwnerTo { .. } => op_("OWNER TO", AccessExclusive, Effect::None),
        _ => op_("ALTER TABLE", AccessExclusive, Effect::None),
    }
}

/// `ALTER COLUMN TYPE` rewrites the table unless the old type is binary-coercible to the new
/// one (`varchar(n)` → `varchar(m ≥ n)` or `text`, `numeric(p,s)` → `numeric(q ≥ p,s)`…),
/// which the script does not show; a `USING` clause always rewrites.
fn type_change_rewrite(data_type: &DataType, using: Option<&Expr>) -> Rewrite {
    if using.is_some() {
        return Rewrite::Yes("a USING clause recomputes every row".into());
    }
    let t = data_type.to_string().to_lowercase();
    let maybe_free = [
        "text",
        "varchar",
        "character varying",
        "numeric",
        "decimal",
        "varbit",
        "bit varying",
        "citext",
    ];
    if maybe_free.iter().any(|p| t.starts_with(p)) {
        Rewrite::Maybe(format!("the change to {t} rewrites the table unless the old type is binary-coercible to it (varchar(n) → text or a longer varchar, numeric(p,s) → numeric with more precision)"))
    } else {
        Rewrite::Yes(format!(
            "changing a column's type to {t} converts every row"
        ))
    }
}

/// Functions known not to be volatile: a default calling only these is evaluated once when
/// the column is added, with no rewrite.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "transaction_timestamp",
    "statement_timestamp",
    "current_user",
    "session_user",
    "current_setting",
    "coalesce",
    "nullif",
    "lower",
    "upper",
    "length",
    "abs",
    "round",
    "concat",
    "to_jsonb",
    "jsonb_build_object",
    "json_build_object",
    "array",
    "make_date",
    "make_interval",
    "greatest",
    "least",
    "to_timestamp",
    "to_date",
    "md5",
];

/// Functions known to be volatile (the default is computed per row: a rewrite).
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v4",
    "uuid_generate_v1",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "setseed",
];

/// Whether `ADD COLUMN` with this definition rewrites the table (PostgreSQL 11+: a
/// non-volatile default is stored once in the catalog).
pub fn column_rewrite(col: &ColumnDef) -> Rewrite {
    let ty = col.data_type.to_string().to_lowercase();
    if [
        "serial",
        "bigserial",
        "smallserial",
        "serial2",
        "serial4",
        "serial8",
    ]
    .contains(&ty.as_str())
    {
        return Rewrite::Yes(format!(
            "a {ty} column's default nextval() is volatile: every row gets its own value"
        ));
    }
    for o in &col.options {
        match &o.option {
            ColumnOption::Default(e) => {
                let (volatile, unknown) = functions_in(e);
                if let Some(f) = volatile.first() {
                    return Rewrite::Yes(format!(
                        "the default calls {f}(), which is volatile: every row gets its own value"
                    ));
                }
                if let Some(f) = unknown.first() {
                    return Rewrite::Maybe(format!("the default calls {f}(), which rewrites the table if it is volatile (the default for a function)"));
                }
            }
            ColumnOption::Generated {
                generation_expr: Some(_),
                generation_expr_mode,
                ..
            } if generation_expr_mode != &Some(GeneratedExpressionMode::Virtual) => {
                return Rewrite::Yes("a stored generated column is computed for every row".into());
            }
            ColumnOption::Generated {
                generation_expr: None,
                ..
            }
            | ColumnOption::Identity(_) => {
                return Rewrite::Yes("an identity column fills every row from its sequence".into());
            }
            _ => {}
        }
    }
    Rewrite::No
}

/// The functions an expression calls: (known volatile, not known either way).
fn functions_in(e: &Expr) -> (Vec<String>, Vec<String>) {
    struct F(Vec<String>, Vec<String>);
    impl Visitor for F {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e {
                let name = f
                    .name
                    .0
                    .last()
                    .map(|p| p.to_string().to_lowercase())
                    .unwrap_or_default();
                let is_call = !matches!(f.args, FunctionArguments::None);
                if VOLATILE.contains(&name.as_str()) {
                    self.0.push(name);
                } else if is_call && !NOT_VOLATILE.contains(&name.as_str()) {
                    self.1.push(name);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut f = F(Vec::new(), Vec::new());
    let _ = e.visit(&mut f);
    (f.0, f.1)
}

/// Tables a statement reads and writes: (write targets, reads, kinds of writes), CTE names
/// left out.
fn relations(st: &Statement) -> (Vec<String>, Vec<String>, Vec<&'static str>) {
    #[derive(Default)]
    struct R {
        kinds: Vec<&'static str>,
        writes: Vec<String>,
        reads: Vec<String>,
        ctes: BTreeSet<String>,
    }
    impl Visitor for R {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for cte in &with.cte_tables {
                    self.ctes.insert(cte.alias.name.value.to_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_statement(&mut self, st: &Statement) -> ControlFlow<()> {
            match st {
                Statement::Insert(i) => {
                    self.kinds.push("INSERT");
                    if let TableObject::TableName(n) = &i.table {
                        self.writes.push(table_name(n));
                    }
                }
                Statement::Update(u) => {
                    self.kinds.push("UPDATE");
                    if let TableFactor::Table { name, .. } = &u.table.relation {
                        self.writes.push(table_name(name));
                    }
                }
                Statement::Delete(d) => {
                    self.kinds.push("DELETE");
                    let from = match &d.from {
                        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
                    };
                    if let Some(TableFactor::Table { name, .. }) = from.first().map(|t| &t.relation)
                    {
                        self.writes.push(table_name(name));
                    }
                }
                Statement::Merge(m) => {
                    self.kinds.push("MERGE");
                    if let TableFactor::Table { name, .. } = &m.table {
                        self.writes.push(table_name(name));
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name, args: None, ..
            } = t
            {
                self.reads.push(table_name(name));
            }
            ControlFlow::Continue(())
        }
    }
    let mut r = R::default();
    let _ = st.visit(&mut r);
    let ctes = r.ctes;
    let writes: Vec<String> = dedup(r.writes);
    let reads = dedup(
        r.reads
            .into_iter()
            .filter(|t| !ctes.contains(t) && !writes.contains(t))
            .collect(),
    );
    let mut kinds = r.kinds;
    kinds.dedup();
    (writes, reads, kinds)
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|t| seen.insert(t.clone())).collect()
}

fn has_locking_clause(st: &Statement) -> bool {
    struct L(bool);
    impl Visitor for L {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if !q.locks.is_empty() {
                self.0 = true;
            }
            ControlFlow::Continue(())
        }
    }
    let mut l = L(false);
    let _ = st.visit(&mut l);
    l.0
}

fn dml(st: &Statement, summary: &str) -> Analysis {
    let (writes, reads, kinds) = relations(st);
    let read_lock = if has_locking_clause(st) {
        LockMode::RowShare
    } else {
        LockMode::AccessShare
    };
    let mut accesses: Vec<Access> = writes
        .iter()
        .map(|t| Access {
            table: t.clone(),
            lock: LockMode::RowExclusive,
            effect: Effect::Rows,
        })
        .collect();
    accesses.extend(reads.into_iter().map(|t| Access {
        table: t,
        lock: read_lock,
        effect: Effect::Rows,
    }));
    let summary = if summary.is_empty() {
        // A query: a data-modifying WITH names what it writes.
        if kinds.is_empty() {
            "SELECT".to_string()
        } else {
            format!("WITH … {}", kinds.join("/"))
        }
    } else {
        summary.to_string()
    };
    Analysis {
        summary,
        accesses,
        ..Default::default()
    }
}

fn lock_mode(m: &LockTableMode) -> LockMode {
    match m {
        LockTableMode::AccessShare => LockMode::AccessShare,
        LockTableMode::RowShare => LockMode::RowShare,
        LockTableMode::RowExclusive => LockMode::RowExclusive,
        LockTableMode::ShareUpdateExclusive => LockMode::ShareUpdateExclusive,
        LockTableMode::Share => LockMode::Share,
        LockTableMode::ShareRowExclusive => LockMode::ShareRowExclusive,
        LockTableMode::Exclusive => LockMode::Exclusive,
        LockTableMode::AccessExclusive => LockMode::AccessExclusive,
    }
}

/// Whether a `SET lock_timeout` value turns the timeout on (anything but 0; a psql variable
/// counts as on: the generated scripts default it to 5s).
fn timeout_on(values: &[Expr]) -> bool {
    match values.first() {
        Some(Expr::Value(v)) => match &v.value {
            Value::Number(n, _) => !matches!(n.parse::<f64>(), Ok(n) if n == 0.0),
            Value::SingleQuotedString(s) => {
                let digits: String = s
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                !matches!(digits.parse::<f64>(), Ok(n) if n == 0.0)
            }
            _ => true,
        },
        Some(Expr::Identifier(i)) => !i.value.eq_ignore_ascii_case("default"),
        _ => true,
    }
}

/// What a parsed statement locks. `text` is its source, for the few forms sqlparser folds.
pub fn analyze(st: &Statement, text: &str) -> Analysis {
    use LockMode::*;
    let one = |summary: &str, table: String, lock, effect| Analysis {
        summary: summary.to_string(),
        accesses: vec![Access {
            table,
            lock,
            effect,
        }],
        ..Default::default()
    };
    let mut a = match st {
        Statement::Query(_) => {
            let mut a = dml(st, "");
            if text.to_lowercase().contains("set_config('lock_timeout'") {
                a.lock_timeout = Some(true);
            }
            a
        }
        Statement::Insert(_) => dml(st, "INSERT"),
        Statement::Update(_) => dml(st, "UPDATE"),
        Statement::Delete(_) => dml(st, "DELETE"),
        Statement::Merge(_) => dml(st, "MERGE"),
        Statement::CreateTable(ct) => {
            let name = table_name(&ct.name);
            let mut a = match &ct.query {
                Some(_) => dml(st, "CREATE TABLE AS"),
                None => Analysis {
                    summary: "CREATE TABLE".into(),
                    ..Default::default()
                },
            };
            a.accesses.insert(
                0,
                Access {
                    table: name.clone(),
                    lock: AccessExclusive,
                    effect: Effect::None,
                },
            );
            let mut parents: Vec<String> = ct
                .constraints
                .iter()
                .filter_map(|c| match c {
                    TableConstraint::ForeignKey(fk) => Some(table_name(&fk.foreign_table)),
                    _ => None,
                })
                .collect();
            for col in &ct.columns {
                for o in &col.options {
                    if let ColumnOption::ForeignKey(fk) = &o.option {
                        parents.push(table_name(&fk.foreign_table));
                    }
                }
            }
            for p in dedup(parents) {
                if p != name {
                    a.accesses.push(Access {
                        table: p,
                        lock: ShareRowExclusive,
                        effect: Effect::None,
                    });
                }
            }
            // `IF NOT EXISTS` may find a table that is already there, with rows and readers; a
            // temporary table is the session's own either way.
            if !ct.if_not_exists || ct.temporary {
                a.creates.push(name);
            }
            a
        }
        Statement::AlterTable(at) => {
            let name = table_name(&at.name);
            let ops: Vec<AlterOp> = at.operations.iter().map(alter_op).collect();
            let lock = ops.iter().map(|o| o.lock).max().unwrap_or(AccessExclusive);
            let effect = ops.iter().map(|o| o.effect).max().unwrap_or(Effect::None);
            let whats: Vec<&str> = ops.iter().map(|o| o.what.as_str()).collect();
            let mut a = one(
                &format!("ALTER TABLE … {}", whats.join(", ")),
                name.clone(),
                lock,
                effect,
            );
            for o in &ops {
                if let Some(parent) = &o.references {
                    if parent != &name && !a.accesses.iter().any(|x| &x.table == parent) {
                        a.accesses.push(Access {
                            table: parent.clone(),
                            lock: ShareRowExclusive,
                            effect: Effect::None,
                        });
                    }
                }
            }
            for op in &at.operations {
                if let AlterTableOperation::RenameTable { table_name: new } = op {
                    let new = new.to_string().to_lowercase();
                    a.drops.push(name.clone());
                    a.creates.push(new);
                }
            }
            a
        }
        Statement::CreateIndex(ci) => {
            let (summary, lock) = if ci.concurrently {
                ("CREATE INDEX CONCURRENTLY", ShareUpdateExclusive)
            } else {
                ("CREATE INDEX", Share)
            };
            let summary = if ci.unique {
                summary.replace("INDEX", "UNIQUE INDEX")
            } else {
                summary.to_string()
            };
            one(&summary, table_name(&ci.table_name), lock, Effect::Scan)
        }
        Statement::Drop {
            object_type, names, ..
        } => {
            let kind = object_type.to_string().to_uppercase();
            let concurrently = text.to_uppercase().contains("CONCURRENTLY");
            let lock = if concurrently {
                ShareUpdateExclusive
            } else {
                AccessExclusive
            };
            let mut a = Analysis {
                summary: format!("DROP {kind}"),
                accesses: names
                    .iter()
                    .map(|n| Access {
                        table: table_name(n),
                        lock,
                        effect: Effect::None,
                    })
                    .collect(),
                ..Default::default()
            };
            if kind == "TABLE" {
                a.drops = names.iter().map(table_name).collect();
            }
            a
        }
        Statement::Truncate(t) => Analysis {
            summary: "TRUNCATE".into(),
            accesses: t
                .table_names
                .iter()
                .map(|n| Access {
                    table: table_name(&n.name),
                    lock: AccessExclusive,
                    effect: Effect::None,
                })
                .collect(),
            ..Default::default()
        },
        Statement::Analyze(an) => match &an.table_name {
            Some(n) => one("ANALYZE", table_name(n), ShareUpdateExclusive, Effect::Scan),
            None => one(
                "ANALYZE",
                "(every table)".into(),
                ShareUpdateExclusive,
                Effect::Scan,
            ),
        },
        Statement::Vacuum(v) => {
            let table = v
                .table_name
                .as_ref()
                .map_or("(every table)".to_string(), table_name);
            if v.full {
                one("VACUUM FULL", table, AccessExclusive, Effect::Rewrite)
            } else {
                one("VACUUM", table, ShareUpdateExclusive, Effect::Scan)
            }
        }
        Statement::Lock(l) => {
            let lock = l.lock_mode.as_ref().map_or(AccessExclusive, lock_mode);
            Analysis {
                summary: format!("LOCK TABLE IN {lock} MODE"),
                accesses: l
                    .tables
                    .iter()
                    .map(|t| Access {
                        table: table_name(&t.name),
                        lock,
                        effect: Effect::None,
                    })
                    .collect(),
                ..Default::default()
            }
        }
        Statement::Set(sqlparser::ast::Set::SingleAssignment {
            variable, values, ..
        }) => {
            let var = variable.to_string().to_lowercase();
            let mut a = Analysis {
                summary: format!("SET {var}"),
                ..Default::default()
            };
            if var == "lock_timeout" {
                a.lock_timeout = Some(timeout_on(values));
            }
            a
        }
        other => {
            let first: String = other
                .to_string()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            Analysis {
                summary: first.to_uppercase(),
                ..Default::default()
            }
        }
    };
    a.accesses.sort_by_key(|x| std::cmp::Reverse(x.lock));
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn an(sql: &str) -> Analysis {
        let st = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .pop()
            .unwrap();
        analyze(&st, sql)
    }

    fn locks(sql: &str) -> Vec<(String, LockMode, Effect)> {
        an(sql)
            .accesses
            .into_iter()
            .map(|a| (a.table, a.lock, a.effect))
            .collect()
    }

    #[test]
    fn alter_table_forms() {
        use LockMode::*;
        assert_eq!(
            locks("ALTER TABLE t ALTER COLUMN a TYPE bigint"),
            vec![("t".into(), AccessExclusive, Effect::Rewrite)]
        );
        assert_eq!(
            locks("ALTER TABLE t DROP COLUMN a"),
            vec![("t".into(), AccessExclusive, Effect::None)]
        );
        assert_eq!(
            locks("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)"),
            vec![("t".into(), AccessExclusive, Effect::Scan)]
        );
        assert_eq!(
            locks("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"),
            vec![("t".into(), AccessExclusive, Effect::None)]
        );
        assert_eq!(
            locks("ALTER TABLE s.t ADD CONSTRAINT f FOREIGN KEY (p) REFERENCES s.p (id)"),
            vec![
                ("s.t".into(), ShareRowExclusive, Effect::Scan),
                ("s.p".into(), ShareRowExclusive, Effect::None)
            ]
        );
        assert_eq!(
            locks("ALTER TABLE t VALIDATE CONSTRAINT f"),
            vec![("t".into(), ShareUpdateExclusive, Effect::Scan)]
        );
        assert_eq!(
            locks("ALTER TABLE t RENAME COLUMN a TO b"),
            vec![("t".into(), AccessExclusive, Effect::None)]
        );
        assert_eq!(
            locks("ALTER TABLE t ADD COLUMN a int DEFAULT 0"),
            vec![("t".into(), AccessExclusive, Effect::None)]
        );
        assert_eq!(
            locks("ALTER TABLE t ADD COLUMN a uuid DEFAULT gen_random_uuid()"),
            vec![("t".into(), AccessExclusive, Effect::Rewrite)]
        );
    }

    #[test]
    fn dml_indexes_and_maintenance() {
        use LockMode::*;
        assert_eq!(
            locks("CREATE INDEX ON t (a)"),
            vec![("t".into(), Share, Effect::Scan)]
        );
        assert_eq!(
            locks("CREATE INDEX CONCURRENTLY i ON t (a)"),
            vec![("t".into(), ShareUpdateExclusive, Effect::Scan)]
        );
        assert_eq!(
            locks("ANALYZE public.t"),
            vec![("public.t".into(), ShareUpdateExclusive, Effect::Scan)]
        );
        assert_eq!(
            locks("WITH x AS (INSERT INTO a SELECT * FROM b RETURNING id) INSERT INTO m SELECT id FROM x"),
            vec![("a".into(), RowExclusive, Effect::Rows), ("m".into(), RowExclusive, Effect::Rows), ("b".into(), AccessShare, Effect::Rows)]
        );
        assert_eq!(
            locks(
                "SELECT * FROM a JOIN b ON true CROSS JOIN LATERAL generate_series(1, 3) AS g (n)"
            ),
            vec![
                ("a".into(), AccessShare, Effect::Rows),
                ("b".into(), AccessShare, Effect::Rows)
            ]
        );
        assert_eq!(
            locks("DELETE FROM t USING m WHERE t.id = m.id")[0],
            ("t".into(), RowExclusive, Effect::Rows)
        );
        assert_eq!(
            locks("LOCK TABLE t IN SHARE MODE"),
            vec![("t".into(), Share, Effect::None)]
        );
        assert_eq!(
            locks("TRUNCATE t"),
            vec![("t".into(), AccessExclusive, Effect::None)]
        );
        assert_eq!(
            locks("SELECT * FROM t FOR UPDATE"),
            vec![("t".into(), RowShare, Effect::Rows)]
        );
    }

    #[test]
    fn lock_timeout_values() {
        assert_eq!(an("SET lock_timeout = '5s'").lock_timeout, Some(true));
        assert_eq!(an("SET lock_timeout TO 0").lock_timeout, Some(false));
        assert_eq!(an("SET statement_timeout = '5s'").lock_timeout, None);
        assert_eq!(
            an("SELECT set_config('lock_timeout', '2s', true)").lock_timeout,
            Some(true)
        );
    }

    #[test]
    fn type_changes_that_may_be_free() {
        let t = |sql: &str| match Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .pop()
            .unwrap()
        {
            Statement::AlterTable(at) => alter_op(&at.operations[0]).rewrite,
            _ => unreachable!(),
        };
        assert!(matches!(
            t("ALTER TABLE t ALTER COLUMN a TYPE text"),
            Rewrite::Maybe(_)
        ));
        assert!(matches!(
            t("ALTER TABLE t ALTER COLUMN a TYPE bigint"),
            Rewrite::Yes(_)
        ));
        assert!(matches!(
            t("ALTER TABLE t ALTER COLUMN a TYPE text USING a::text"),
            Rewrite::Yes(_)
        ));
    }
}

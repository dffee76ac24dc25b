//! The proof that every transaction of a compiled script that touches the application runs
//! the implicit-code guard first.
//!
//! The guard (`_pgmig.pgmig_implicit_code_guard(…)`, or its inline form: the `DO` block of
//! templates/implicit_code_guard.sql, whose first declaration is `written_names text[]`) locks
//! what the transaction will touch and refuses code the tables' owners could make this role
//! run implicitly. Its locks, hence its protection, last until its transaction ends. So:
//!
//! **Rule.** In every transaction, a statement that touches the application comes after a
//! guard in that same transaction. A statement touches the application when it names a
//! relation (reads, writes, locks, alters, analyzes it), calls a function or procedure, or
//! casts to a type, in a schema other than those below; runs dynamic SQL (`EXECUTE`, whose
//! text this check cannot read); or calls a routine of the script whose body does so.
//!
//! **How the script is read** ([`super::script`]): as psql runs it. Top-level `BEGIN` /
//! `START TRANSACTION` open a transaction, `COMMIT`, `END`, `ROLLBACK` (and `ABORT`) close it
//! (`AND CHAIN` opens the next one; `ROLLBACK TO SAVEPOINT` may undo a guard run after the
//! savepoint: the transaction counts as unguarded); outside one, each statement is its own
//! transaction, so a guard there protects nothing after it. A `DO` body runs where the `DO`
//! is; a `CREATE FUNCTION/PROCEDURE` body runs where the routine is called (`CALL`, or a call
//! in any expression), from the caller's transaction. In a body, `COMMIT`/`ROLLBACK` start a
//! new, unguarded transaction; a loop that commits or rolls back (or calls a procedure that
//! may) starts every iteration unguarded (after a `COMMIT` the loop body starts again in the
//! new transaction), its `WHILE` condition too; a `FOR … IN query` runs its query before the
//! first iteration (at a `COMMIT` PostgreSQL fetches the remaining rows into a holdable
//! cursor). `IF`/`ELSIF`/`ELSE`, `CASE` and psql's `\if`/`\elif`/`\else`
//! are branches: each starts from the state before it, and after `END IF` / `\endif` a
//! transaction is unguarded if it is on any branch (or with no `ELSE`, on the way around it):
//! both branches of a `\if` are code that may run. An exception handler starts from the state
//! before its block (the block's subtransaction is rolled back and the guard's locks taken in
//! it are released); after the block, it is unguarded if the block's end or a handler's is.
//! The guard only counts when this script creates the guard function before calling it.
//!
//! **Exceptions**, each safe for the reason given:
//! - relations, functions and types in `_pgmig`: pgmig's own schema, created and owned by this
//!   role, whose objects the bookkeeping guard refuses to share with another owner (and whose
//!   routines' bodies this check reads where they are called);
//! - `pg_catalog` (and `information_schema`, views over it): only a superuser can change it;
//!   which built-ins the model may call is checked by the script's first guard, a verdict no
//!   other role can change afterwards;
//! - unqualified names once the script has pinned `search_path` to `pg_catalog, pg_temp`
//!   (pin.sql, before anything else): they resolve in `pg_catalog` (functions, types,
//!   relations) or in this session's own temporary tables, which no other role can attach
//!   code to; CTE names are no relations;
//! - statements that name nothing: `SET`, `SELECT set_config(…)`, `SHOW`, transaction control,
//!   the advisory lock (`pg_catalog.pg_try_advisory_lock(…)`);
//! - a relation named by a string, as sequence functions take it (`setval('public.s', …)`),
//!   and `'…'::regclass` casts, and `EXECUTE pg_catalog.format('ALTER SEQUENCE %s …', …)`
//!   (dry_run_sequences.sql): PostgreSQL looks the name up in the catalog and runs no code of
//!   the relation's owner (a sequence has no triggers, rules or defaults);
//! - `ANALYZE t` and `CREATE INDEX … ON t`: PostgreSQL runs the table's index and statistics
//!   expressions as the table's owner, in a security-restricted operation (since the fix of
//!   CVE-2022-1552), never with this role's rights;
//! - `LOCK TABLE`: a lock runs no code of the owner's, and one taken before the guard holds
//!   what the guard then checks (the in-place fill batch's SHARE UPDATE EXCLUSIVE);
//! - `DROP INDEX CONCURRENTLY` (outside a transaction by necessity), `DROP SERVER` (V1's
//!   foreign server, with what `CASCADE` drops), the user mapping for V1's server and `IMPORT
//!   FOREIGN SCHEMA`: a drop or a catalog row runs no code of the owner's (event triggers, which do run, only a
//!   superuser can create, and event_trigger_guard.sql checks them).
//!
//! Not followed: a recursive call of a routine of the script (none is written). The check
//! proves the guard's place; what the guard itself refuses is tested against PostgreSQL
//! (tests/it/security_implicit.rs).

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, visit_relations, DataType, Expr, ObjectName, ObjectNamePart, Query,
    Statement as Ast, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::script::{self, Stmt};

/// The guard as a function (implicit_code_guard_function.sql).
pub const GUARD_FUNCTION: &str = "_pgmig.pgmig_implicit_code_guard";

/// Schemas whose objects a statement may touch before the guard (see the module's doc).
const SAFE_SCHEMAS: [&str; 3] = ["_pgmig", "pg_catalog", "information_schema"];

/// A statement that touches the application in a transaction that has not run the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unguarded {
    /// 1-based script line of the statement (or of the PL/pgSQL code) that touches.
    pub line: usize,
    /// The block it is in: `DO $step$`, `PROCEDURE _pgmig.step_x`, or `None` at top level.
    pub block: Option<String>,
    /// The first line of its text.
    pub statement: String,
    /// What it touches: `writes public.users`, `calls public.f`, `runs dynamic SQL`…
    pub touches: String,
}

impl Unguarded {
    /// `FILE:LINE: … (in BLOCK): STATEMENT`.
    pub fn render(&self, file: &str) -> String {
        let block = self
            .block
            .as_ref()
            .map_or(String::new(), |b| format!(" (in {b})"));
        format!(
            "{file}:{}: {} before the implicit-code guard in its transaction{block}: {}",
            self.line, self.touches, self.statement
        )
    }
}

/// Every statement of `script` that touches the application before the guard in its
/// transaction, in script order (see the module's doc for the rule and its exceptions).
pub fn unguarded(script: &str) -> Vec<Unguarded> {
    let (statements, meta_commands) = script::statements_and_meta_commands(script);
    let mut check = Check::default();
    let mut state = Top {
        autocommit: true,
        in_transaction: false,
        unguarded: true,
    };
    let mut branches: Vec<Branch<Top>> = Vec::new();
    let mut meta = meta_commands.iter().peekable();
    let mut i = 0;
    while i < statements.len() {
        let st = &statements[i];
        let end = i
            + 1
            + statements[i + 1..]
                .iter()
                .take_while(|s| s.block.is_some())
                .count();
        while let Some((_, command)) = meta.next_if(|(line, _)| *line < st.line) {
            let (name, _) = crate::run::meta::split_name(command);
            state = psql_branch(name, state, &mut branches);
        }
        state = check.top_level(st, &statements[i + 1..end], state);
        i = end;
    }
    check.found
}

/// The state of the script's transaction between two top-level statements: each flag says
/// what may be so on some way through the script's `\if` branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Top {
    /// Outside `BEGIN … COMMIT`: each statement its own transaction.
    autocommit: bool,
    in_transaction: bool,
    /// The open transaction has not run the guard.
    unguarded: bool,
}

impl Top {
    fn or(self, other: Top) -> Top {
        Top {
            autocommit: self.autocommit || other.autocommit,
            in_transaction: self.in_transaction || other.in_transaction,
            unguarded: self.unguarded || other.unguarded,
        }
    }

    /// Whether a statement here may run in a transaction without the guard.
    fn unguarded_here(self) -> bool {
        self.autocommit || self.unguarded
    }

    /// After a statement that ran with `unguarded_after` in its transaction: a transaction
    /// of its own ends with it.
    fn after(self, unguarded_after: bool) -> Top {
        Top {
            unguarded: self.autocommit || unguarded_after,
            ..self
        }
    }
}

/// An `\if` or `IF`: the state before it, the states its branches ended in, and whether one
/// of them is an `else`.
struct Branch<S> {
    entry: S,
    ends: Option<S>,
    has_else: bool,
}

fn psql_branch(name: &str, state: Top, branches: &mut Vec<Branch<Top>>) -> Top {
    match name {
        "if" => {
            branches.push(Branch {
                entry: state,
                ends: None,
                has_else: false,
            });
            state
        }
        "elif" | "else" => match branches.last_mut() {
            Some(b) => {
                b.ends = Some(b.ends.map_or(state, |e| e.or(state)));
                b.has_else |= name == "else";
                b.entry
            }
            None => state,
        },
        "endif" => match branches.pop() {
            Some(b) => {
                let state = b.ends.map_or(state, |e| e.or(state));
                if b.has_else {
                    state
                } else {
                    state.or(b.entry)
                }
            }
            None => state,
        },
        _ => state,
    }
}

#[derive(Default)]
struct Check<'a> {
    /// The routines the script created so far, by name (overloads share one).
    routines: BTreeMap<String, Vec<&'a [Stmt]>>,
    /// The script created the guard function.
    guard_defined: bool,
    /// `SET search_path = pg_catalog, pg_temp` ran.
    pinned: bool,
    /// The routines being followed (a recursive call is not followed again).
    calling: Vec<String>,
    found: Vec<Unguarded>,
}

/// What one statement or piece of PL/pgSQL does, as far as the rule goes.
#[derive(Default)]
struct Effects {
    /// What it touches in the application, first first.
    touches: Vec<String>,
    /// Routines of the script it calls.
    calls: Vec<String>,
    /// It is a call of the guard function.
    guard: bool,
}

impl<'a> Check<'a> {
    fn report(&mut self, st: &Stmt, touches: &str) {
        let found = Unguarded {
            line: st.line,
            block: st.block.clone(),
            statement: st.text.lines().next().unwrap_or("").trim().to_string(),
            touches: touches.to_string(),
        };
        if !self.found.contains(&found) {
            self.found.push(found);
        }
    }

    fn top_level(&mut self, st: &'a Stmt, body: &'a [Stmt], state: Top) -> Top {
        if st.has_body {
            if let Some(name) = routine_name(st, body) {
                if name == GUARD_FUNCTION {
                    self.guard_defined = true;
                } else {
                    self.routines.entry(name.clone()).or_default().push(body);
                }
                if !in_safe_schema(&name) {
                    self.report(st, &format!("creates {name}"));
                }
                return state.after(state.unguarded);
            }
            if is_inline_guard(body) {
                return state.after(false);
            }
            let end = self.body(body, state.unguarded_here());
            return state.after(end);
        }
        let Some(ast) = &st.ast else {
            if state.unguarded_here() && !runs_no_code_of_others(&st.text) {
                self.report(st, "runs a statement this check cannot read");
            }
            return state.after(state.unguarded);
        };
        match ast {
            Ast::StartTransaction { .. } => Top {
                autocommit: false,
                in_transaction: true,
                unguarded: true,
            },
            Ast::Commit { chain, .. }
            | Ast::Rollback {
                chain,
                savepoint: None,
            } => Top {
                autocommit: !chain,
                in_transaction: *chain,
                unguarded: true,
            },
            Ast::Rollback { .. } => Top {
                unguarded: true,
                ..state
            },
            _ => {
                let end = self.sql(st, ast, state.unguarded_here());
                state.after(end)
            }
        }
    }

    /// A SQL statement run in a transaction that is `unguarded` or not: whether it is
    /// unguarded after it.
    fn sql(&mut self, st: &Stmt, ast: &Ast, unguarded: bool) -> bool {
        if is_search_path_pin(ast) {
            self.pinned = true;
        }
        if runs_expressions_as_the_owner(ast) || only_locks(ast) {
            return unguarded;
        }
        let effects = self.effects_of(ast);
        self.apply(st, effects, unguarded)
    }

    fn apply(&mut self, st: &Stmt, effects: Effects, mut unguarded: bool) -> bool {
        if effects.guard {
            if self.guard_defined {
                return false;
            }
            if unguarded {
                self.report(
                    st,
                    &format!("calls {GUARD_FUNCTION}, which this script has not created,"),
                );
            }
            return unguarded;
        }
        if unguarded {
            if let Some(t) = effects.touches.first() {
                self.report(st, t);
            }
        }
        for name in effects.calls {
            unguarded = self.call(st, &name, unguarded);
        }
        unguarded
    }

    /// A routine of the script called from a transaction that is `unguarded` or not.
    fn call(&mut self, st: &Stmt, name: &str, unguarded: bool) -> bool {
        let Some(bodies) = self.routines.get(name).cloned() else {
            if unguarded {
                self.report(
                    st,
                    &format!("calls {name}, which this script has not created,"),
                );
            }
            return unguarded;
        };
        if self.calling.iter().any(|c| c == name) {
            return unguarded;
        }
        self.calling.push(name.to_string());
        // Every overload's body is read (each may have findings), none skipped.
        let mut end = false;
        for body in bodies {
            end |= self.body(body, unguarded);
        }
        self.calling.pop();
        end
    }

    /// A PL/pgSQL body entered `unguarded` or not: whether it may end unguarded.
    fn body(&mut self, body: &'a [Stmt], unguarded: bool) -> bool {
        let mut flow = Flow {
            unguarded,
            loops_ending_transactions: self.loops_ending_transactions(body),
            loops_opened: 0,
            frames: Vec::new(),
            returned: false,
        };
        for st in body {
            if st.control {
                self.control(st, &mut flow);
            } else if let Some(ast) = &st.ast {
                flow.unguarded = match ast {
                    Ast::Commit { .. } | Ast::Rollback { .. } => true,
                    _ => self.sql(st, ast, flow.unguarded),
                };
            } else if flow.unguarded {
                self.report(st, "runs a statement this check cannot read");
            }
            flow.seen();
        }
        flow.unguarded || flow.returned
    }

    /// For each loop of `body`, in the order they open: whether it commits or rolls back in
    /// it (or calls a procedure that may).
    fn loops_ending_transactions(&self, body: &[Stmt]) -> Vec<bool> {
        let mut loops: Vec<bool> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        for st in body {
            if st.control {
                let tokens = significant_tokens(&st.text);
                let mut depth = 0i32;
                for (i, t) in tokens.iter().enumerate() {
                    match t {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ if depth == 0 && is_word(t, "LOOP") => {
                            if i > 0 && is_word(&tokens[i - 1], "END") {
                                open.pop();
                            } else {
                                open.push(loops.len());
                                loops.push(false);
                            }
                        }
                        _ => {}
                    }
                }
            } else if self.may_end_transaction(st) {
                for &l in &open {
                    loops[l] = true;
                }
            }
        }
        loops
    }

    fn may_end_transaction(&self, st: &Stmt) -> bool {
        match &st.ast {
            Some(Ast::Commit { .. } | Ast::Rollback { .. }) => true,
            // A procedure of the script ends one if it commits, rolls back or calls another.
            Some(Ast::Call(f)) => match self.routines.get(&parts(&f.name).join(".")) {
                Some(bodies) => bodies.iter().flat_map(|b| b.iter()).any(|s| {
                    matches!(
                        s.ast,
                        Some(Ast::Commit { .. } | Ast::Rollback { .. } | Ast::Call(_))
                    )
                }),
                None => true,
            },
            _ => false,
        }
    }

    /// PL/pgSQL control code: its structure moves `flow`; the queries and calls in its
    /// conditions and expressions are checked where they run.
    fn control(&mut self, st: &Stmt, flow: &mut Flow) {
        let tokens = significant_tokens(&st.text);
        let mut depth = 0i32;
        let mut segment: Vec<Token> = Vec::new();
        let mut expression_cases = 0;
        let mut i = 0;
        while i < tokens.len() {
            let t = &tokens[i];
            let prev = i.checked_sub(1).map(|p| &tokens[p]);
            let next = tokens.get(i + 1);
            match t {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            let word = if depth == 0 { keyword_of(t) } else { None };
            let after_end = prev.is_some_and(|p| is_word(p, "END"));
            let statement_start = prev.is_none_or(|p| {
                ["THEN", "ELSE", "BEGIN", "LOOP"]
                    .iter()
                    .any(|w| is_word(p, w))
            });
            match word.as_deref() {
                Some("IF") if !after_end => {
                    self.segment(st, &mut segment, flow);
                    flow.open(Frame::If(Branch {
                        entry: flow.unguarded,
                        ends: None,
                        has_else: false,
                    }));
                }
                Some("CASE") if statement_start => {
                    self.segment(st, &mut segment, flow);
                    flow.open(Frame::If(Branch {
                        entry: flow.unguarded,
                        ends: None,
                        has_else: false,
                    }));
                }
                Some("CASE") if !after_end => expression_cases += 1,
                Some("IF" | "CASE") => {
                    self.segment(st, &mut segment, flow);
                    flow.close_if();
                }
                Some("THEN") => self.segment(st, &mut segment, flow),
                Some("ELSIF" | "ELSEIF") | Some("ELSE") if expression_cases == 0 => {
                    self.segment(st, &mut segment, flow);
                    flow.branch(word.as_deref() == Some("ELSE"));
                }
                Some("WHEN")
                    if expression_cases == 0
                        && !prev.is_some_and(|p| is_word(p, "EXIT") || is_word(p, "CONTINUE")) =>
                {
                    self.segment(st, &mut segment, flow);
                    flow.branch(false);
                }
                Some("LOOP") if after_end => flow.close_loop(),
                Some("LOOP") => {
                    // A FOR loop's query runs before the first iteration (a COMMIT in the loop
                    // fetches its remaining rows there and then: the cursor is made holdable);
                    // a WHILE condition runs at every iteration's start.
                    let while_loop = segment.first().is_some_and(|t| is_word(t, "WHILE"));
                    if !while_loop {
                        self.segment(st, &mut segment, flow);
                    }
                    flow.open_loop();
                    self.segment(st, &mut segment, flow);
                }
                Some("BEGIN") => {
                    self.segment(st, &mut segment, flow);
                    flow.open(Frame::Block {
                        entry: flow.unguarded,
                        handled: None,
                    });
                }
                Some("EXCEPTION") => {
                    self.segment(st, &mut segment, flow);
                    flow.handlers();
                }
                Some("END")
                    if !next.is_some_and(|n| {
                        is_word(n, "IF") || is_word(n, "LOOP") || is_word(n, "CASE")
                    }) =>
                {
                    if expression_cases > 0 {
                        expression_cases -= 1;
                        segment.push(t.clone());
                    } else {
                        self.segment(st, &mut segment, flow);
                        flow.close_block();
                    }
                }
                Some("END") => self.segment(st, &mut segment, flow),
                Some("RETURN") => {
                    self.segment(st, &mut segment, flow);
                    segment.push(t.clone());
                    flow.returned |= flow.unguarded;
                }
                _ => segment.push(t.clone()),
            }
            i += 1;
        }
        self.segment(st, &mut segment, flow);
    }

    /// The expressions of a piece of control code (a condition, an assignment, `RAISE`'s
    /// arguments, `EXECUTE`), run with the transaction `unguarded` or not.
    fn segment(&mut self, st: &Stmt, segment: &mut Vec<Token>, flow: &mut Flow) {
        let tokens = std::mem::take(segment);
        if tokens.is_empty() {
            return;
        }
        let mut effects = Effects::default();
        if tokens.first().is_some_and(|t| is_word(t, "EXECUTE"))
            && !executes_a_known_statement(&tokens)
        {
            effects.touches.push("runs dynamic SQL (EXECUTE)".into());
        }
        // A query in the code: from its SELECT or WITH to the end of its parentheses.
        let mut skip_to = 0;
        for (i, t) in tokens.iter().enumerate() {
            if i < skip_to {
                continue;
            }
            if is_word(t, "SELECT") || is_word(t, "WITH") {
                let mut depth = 0i32;
                let end = tokens[i..]
                    .iter()
                    .position(|t| {
                        match t {
                            Token::LParen => depth += 1,
                            Token::RParen => depth -= 1,
                            _ => {}
                        }
                        depth < 0
                    })
                    .map_or(tokens.len(), |n| i + n);
                let text: String = tokens[i..end].iter().map(|t| format!("{t} ")).collect();
                match script::parse_sql(&text) {
                    Some(ast) => {
                        let e = self.effects_of(&ast);
                        effects.touches.extend(e.touches);
                        effects.calls.extend(e.calls);
                    }
                    None => effects
                        .touches
                        .push("runs a query this check cannot read".into()),
                }
                skip_to = end;
                continue;
            }
            // A call: NAME [. NAME] (
            if let Token::Word(_) = t {
                let mut name = vec![t];
                let mut j = i + 1;
                while tokens.get(j) == Some(&Token::Period) {
                    match tokens.get(j + 1) {
                        Some(w @ Token::Word(_)) => name.push(w),
                        _ => break,
                    }
                    j += 2;
                }
                let after_period = i > 0 && tokens[i - 1] == Token::Period;
                if !after_period && name.len() > 1 && tokens.get(j) == Some(&Token::LParen) {
                    let name = name.iter().map(|w| w.to_string()).collect::<Vec<_>>();
                    self.function(&name, &mut effects);
                }
            }
        }
        flow.unguarded = self.apply(st, effects, flow.unguarded);
    }

    /// The touches, routine calls and guard call of one parsed statement.
    fn effects_of(&self, ast: &Ast) -> Effects {
        let mut effects = Effects::default();
        if let Ast::Call(f) = ast {
            self.function(&parts(&f.name), &mut effects);
        }
        let ctes = cte_names(ast);
        let _ = visit_relations(ast, |name| {
            let parts = parts(name);
            let is_cte = parts.len() == 1 && ctes.contains(&parts[0]);
            if !is_cte && !self.resolves_safely(&parts) {
                effects.touches.push(format!("names {}", parts.join(".")));
            }
            ControlFlow::<()>::Continue(())
        });
        for access in super::locks::analyze(ast, &ast.to_string()).accesses {
            let parts = split_name(&access.table);
            let is_cte = parts.len() == 1 && ctes.contains(&parts[0]);
            if !is_cte && !self.resolves_safely(&parts) {
                effects.touches.push(format!(
                    "takes {} on {}",
                    access.lock.as_str(),
                    parts.join(".")
                ));
            }
        }
        let _ = visit_expressions(ast, |e| {
            match e {
                Expr::Function(f) => self.function(&parts(&f.name), &mut effects),
                Expr::Cast { data_type, .. }
                | Expr::TypedString(sqlparser::ast::TypedString { data_type, .. }) => {
                    self.data_type(data_type, &mut effects)
                }
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
        effects.guard = is_guard_call(ast);
        effects
    }

    fn function(&self, name: &[String], effects: &mut Effects) {
        let joined = name.join(".");
        if joined == GUARD_FUNCTION {
            return;
        }
        if name.len() > 1 && name[0] == "_pgmig" {
            effects.calls.push(joined);
        } else if !self.resolves_safely(name) {
            effects.touches.push(format!("calls {joined}"));
        }
    }

    fn data_type(&self, data_type: &DataType, effects: &mut Effects) {
        let text = data_type.to_string();
        let name = text.split(['(', '[']).next().unwrap_or("").trim();
        let parts = split_name(name);
        if parts.len() > 1 && !self.resolves_safely(&parts) {
            effects.touches.push(format!("casts to {name}"));
        }
    }

    /// A name that is in a safe schema, or unqualified under the pinned search_path.
    fn resolves_safely(&self, parts: &[String]) -> bool {
        match parts {
            [_] => self.pinned,
            [schema, ..] => SAFE_SCHEMAS.contains(&schema.as_str()) || schema == "pg_temp",
            [] => true,
        }
    }
}

/// Where a body's control flow is.
struct Flow {
    unguarded: bool,
    /// For each loop of the body, in the order they open: it may end a transaction.
    loops_ending_transactions: Vec<bool>,
    loops_opened: usize,
    frames: Vec<Frame>,
    /// A `RETURN` ran unguarded.
    returned: bool,
}

enum Frame {
    /// `IF` or a `CASE` statement.
    If(Branch<bool>),
    /// A loop, with whether any point in it was unguarded.
    Loop { seen: bool },
    /// `BEGIN … END`; `handled`: the state its statements ended in, once `EXCEPTION` began
    /// the handlers.
    Block { entry: bool, handled: Option<bool> },
}

impl Flow {
    fn open(&mut self, frame: Frame) {
        self.frames.push(frame);
    }

    fn seen(&mut self) {
        for f in &mut self.frames {
            if let Frame::Loop { seen } = f {
                *seen |= self.unguarded;
            }
        }
    }

    /// A loop opens: after a `COMMIT` in it, its next iteration starts in a new transaction.
    fn open_loop(&mut self) {
        let ends = self
            .loops_ending_transactions
            .get(self.loops_opened)
            .copied()
            .unwrap_or(true);
        self.loops_opened += 1;
        self.unguarded |= ends;
        self.frames.push(Frame::Loop {
            seen: self.unguarded,
        });
    }

    fn close_loop(&mut self) {
        self.seen();
        if let Some(Frame::Loop { seen }) = self.frames.last() {
            self.unguarded = *seen;
            self.frames.pop();
        }
    }

    fn branch(&mut self, is_else: bool) {
        match self.frames.last_mut() {
            Some(Frame::If(b)) => {
                b.ends = Some(b.ends.unwrap_or(false) || self.unguarded);
                b.has_else |= is_else;
                self.unguarded = b.entry;
            }
            Some(Frame::Block {
                entry,
                handled: Some(h),
            }) => {
                *h |= self.unguarded;
                self.unguarded = *entry;
            }
            _ => {}
        }
    }

    fn close_if(&mut self) {
        if let Some(Frame::If(b)) = self.frames.last() {
            self.unguarded = self.unguarded || b.ends.unwrap_or(false) || (!b.has_else && b.entry);
            self.frames.pop();
        }
    }

    fn handlers(&mut self) {
        if let Some(Frame::Block { entry, handled }) = self.frames.last_mut() {
            *handled = Some(self.unguarded);
            self.unguarded = *entry;
        }
    }

    fn close_block(&mut self) {
        if let Some(Frame::Block { handled, .. }) = self.frames.last() {
            self.unguarded |= handled.unwrap_or(false);
            self.frames.pop();
        }
    }
}

/// The tokens of a piece of SQL or PL/pgSQL, without whitespace and comments.
fn significant_tokens(text: &str) -> Vec<Token> {
    Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .collect()
}

fn keyword_of(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
        _ => None,
    }
}

fn is_word(t: &Token, name: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
}

/// The name of an object as PostgreSQL stores it: unquoted parts lowercased.
fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) if i.quote_style.is_none() => i.value.to_lowercase(),
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// `schema."Name"` as written (the lint's form) into its parts, quotes taken off.
fn split_name(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                part.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut part)),
            c if quoted => part.push(c),
            c => part.push(c.to_ascii_lowercase()),
        }
    }
    out.push(part);
    out
}

fn in_safe_schema(name: &str) -> bool {
    let parts = split_name(name);
    parts.len() > 1 && (SAFE_SCHEMAS.contains(&parts[0].as_str()) || parts[0] == "pg_temp")
}

/// The name of the routine a `CREATE FUNCTION/PROCEDURE` statement creates (from its body's
/// block when sqlparser does not read the statement).
fn routine_name(st: &Stmt, body: &[Stmt]) -> Option<String> {
    match &st.ast {
        Some(Ast::CreateFunction(f)) => Some(parts(&f.name).join(".")),
        Some(Ast::CreateProcedure { name, .. }) => Some(parts(name).join(".")),
        _ => {
            let block = body.first()?.block.as_deref()?;
            let name = block
                .strip_prefix("FUNCTION ")
                .or_else(|| block.strip_prefix("PROCEDURE "))?;
            Some(split_name(name).join("."))
        }
    }
}

/// The names the statement's `WITH` clauses give.
fn cte_names(ast: &Ast) -> Vec<String> {
    struct Ctes(Vec<String>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                for cte in &with.cte_tables {
                    let name = &cte.alias.name;
                    self.0.push(match name.quote_style {
                        None => name.value.to_lowercase(),
                        Some(_) => name.value.clone(),
                    });
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut ctes = Ctes(Vec::new());
    let _ = ast.visit(&mut ctes);
    ctes.0
}

/// `SELECT _pgmig.pgmig_implicit_code_guard(…)` (or `PERFORM`), alone.
fn is_guard_call(ast: &Ast) -> bool {
    let Ast::Query(q) = ast else {
        return false;
    };
    let sqlparser::ast::SetExpr::Select(select) = q.body.as_ref() else {
        return false;
    };
    select.from.is_empty()
        && select.selection.is_none()
        && matches!(
            select.projection.as_slice(),
            [sqlparser::ast::SelectItem::UnnamedExpr(Expr::Function(f))]
                if parts(&f.name).join(".") == GUARD_FUNCTION
        )
}

/// The inline guard: a `DO` body whose first declaration is `written_names text[]`.
fn is_inline_guard(body: &[Stmt]) -> bool {
    let Some(first) = body.first().filter(|s| s.control) else {
        return false;
    };
    let tokens: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, &first.text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .take(3)
        .collect();
    tokens.len() == 3
        && is_word(&tokens[0], "DECLARE")
        && is_word(&tokens[1], "written_names")
        && is_word(&tokens[2], "text")
}

/// `ANALYZE t` and `CREATE INDEX … ON t`: PostgreSQL runs the table's index and statistics
/// expressions (and the index's) as the table's owner, in a security-restricted operation.
fn runs_expressions_as_the_owner(ast: &Ast) -> bool {
    matches!(ast, Ast::Analyze(_) | Ast::CreateIndex(_))
}

/// `LOCK TABLE t`: taking a lock runs no code of the table's owner, and a lock taken before
/// the guard is one the guard's check can rely on (the in-place fill's SHARE UPDATE EXCLUSIVE).
fn only_locks(ast: &Ast) -> bool {
    matches!(ast, Ast::Lock(_))
}

/// Statements sqlparser does not read that run no code of another role's: `DROP INDEX
/// CONCURRENTLY` (a drop runs none of the table's owner), `DROP SERVER` (nor do the foreign
/// tables and user mappings its `CASCADE` drops) and `CREATE`/`ALTER`/`DROP USER MAPPING` (a
/// catalog row of this role's password for V1's server), `IMPORT FOREIGN SCHEMA` (it asks
/// V1's server for its tables and creates foreign tables of them: catalog rows).
fn runs_no_code_of_others(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .take(3)
        .map(str::to_uppercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        words[..],
        ["DROP", "INDEX", "CONCURRENTLY"]
            | ["DROP", "SERVER", ..]
            | ["CREATE" | "ALTER" | "DROP", "USER", "MAPPING"]
            | ["IMPORT", "FOREIGN", "SCHEMA"]
    )
}

/// `EXECUTE pg_catalog.format('ALTER SEQUENCE %s …', …)` (dry_run_sequences.sql: a sequence
/// has no code of its owner's to run) and `EXECUTE pg_catalog.format('ALTER USER MAPPING FOR
/// CURRENT_USER SERVER %I …', …)` (fdw_mapping.sql: V1's password, a catalog row of this
/// role's).
fn executes_a_known_statement(tokens: &[Token]) -> bool {
    matches!(
        tokens,
        [_, schema, Token::Period, format, Token::LParen, Token::SingleQuotedString(text), ..]
            if is_word(schema, "pg_catalog") && is_word(format, "format")
                && (text.starts_with("ALTER SEQUENCE %s ")
                    || text.starts_with("ALTER USER MAPPING FOR CURRENT_USER SERVER %I "))
    )
}

/// `SET search_path = pg_catalog, pg_temp` (pin.sql).
fn is_search_path_pin(ast: &Ast) -> bool {
    let text = ast.to_string().to_lowercase();
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text == "set search_path = pg_catalog, pg_temp"
        || text == "set search_path to pg_catalog, pg_temp"
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "SET search_path = pg_catalog, pg_temp;\n";
    const GUARD: &str = "CREATE OR REPLACE FUNCTION _pgmig.pgmig_implicit_code_guard(w text[], r text[], c text[], f text[])\nRETURNS void LANGUAGE plpgsql AS $guard$\nBEGIN\n  PERFORM 1;\nEND\n$guard$;\n";

    /// (line, touches) of each finding.
    fn found(script: &str) -> Vec<(usize, String)> {
        unguarded(&format!("{PIN}{GUARD}{script}"))
            .into_iter()
            .map(|u| (u.line, u.touches))
            .collect()
    }

    /// The line of `script`'s n-th line once PIN and GUARD are in front of it.
    fn line(n: usize) -> usize {
        PIN.lines().count() + GUARD.lines().count() + n
    }

    #[test]
    fn a_transaction_is_guarded_from_the_guard_to_its_end() {
        let script = "SELECT count(*) FROM public.t;\nBEGIN;\nINSERT INTO _pgmig.log VALUES (1);\nSELECT _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\nINSERT INTO public.t SELECT * FROM v1.s;\nCOMMIT;\nDELETE FROM public.t;\n";
        assert_eq!(
            found(script),
            vec![
                (line(1), "names public.t".to_string()),
                (line(7), "names public.t".to_string())
            ]
        );
    }

    #[test]
    fn a_guard_outside_a_transaction_protects_nothing_after_it() {
        let script = "SELECT _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\nUPDATE public.t SET a = 1;\n";
        assert_eq!(found(script), vec![(line(2), "names public.t".to_string())]);
    }

    #[test]
    fn a_commit_in_a_loop_starts_the_next_iteration_unguarded() {
        let script = "CREATE PROCEDURE _pgmig.fill() LANGUAGE plpgsql AS $fill$\nBEGIN\n  LOOP\n    UPDATE public.t SET a = 1;\n    PERFORM _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\n    COMMIT;\n  END LOOP;\nEND\n$fill$;\nBEGIN;\nSELECT _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\nCOMMIT;\nCALL _pgmig.fill();\n";
        assert_eq!(found(script), vec![(line(4), "names public.t".to_string())]);
        let fixed = script.replace(
            "    UPDATE public.t SET a = 1;\n    PERFORM _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\n",
            "    PERFORM _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\n    UPDATE public.t SET a = 1;\n",
        );
        assert_eq!(found(&fixed), vec![]);
    }

    #[test]
    fn both_branches_of_a_psql_if_and_of_a_plpgsql_if_may_run() {
        let script = "BEGIN;\n\\if :dry_run\nSELECT _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\n\\endif\nINSERT INTO public.t VALUES (1);\nCOMMIT;\nDO $x$\nBEGIN\n  IF random() > 0.5 THEN\n    PERFORM _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\n  ELSE\n    PERFORM 1;\n  END IF;\n  IF EXISTS (SELECT 1 FROM v1.s) THEN\n    PERFORM 1;\n  END IF;\nEND\n$x$;\n";
        assert_eq!(
            found(script),
            vec![
                (line(5), "names public.t".to_string()),
                (line(14), "names v1.s".to_string())
            ]
        );
    }

    #[test]
    fn an_exception_handler_starts_without_the_guard_its_block_ran() {
        let script = "DO $x$\nBEGIN\n  BEGIN\n    PERFORM _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\n    DELETE FROM public.t;\n  EXCEPTION WHEN others THEN\n    DELETE FROM public.u;\n  END;\nEND\n$x$;\n";
        assert_eq!(found(script), vec![(line(7), "names public.u".to_string())]);
    }

    #[test]
    fn calls_casts_and_dynamic_sql_touch_but_pgmig_and_the_catalog_do_not() {
        let script = "DO $x$\nBEGIN\n  PERFORM public.f(1);\n  PERFORM 1::public.d;\n  EXECUTE 'SELECT 1';\n  PERFORM count(*) FROM _pgmig.log, pg_catalog.pg_class, pg_temp.x;\n  ANALYZE public.t;\nEND\n$x$;\n";
        assert_eq!(
            found(script),
            vec![
                (line(3), "calls public.f".to_string()),
                (line(4), "casts to public.d".to_string()),
                (line(5), "runs dynamic SQL (EXECUTE)".to_string())
            ]
        );
    }

    #[test]
    fn the_guard_counts_only_once_the_script_created_it() {
        let script = "BEGIN;\nSELECT _pgmig.pgmig_implicit_code_guard('{}', '{}', '{}', '{}');\nINSERT INTO public.t VALUES (1);\nCOMMIT;\n";
        let found: Vec<usize> = unguarded(&format!("{PIN}{script}"))
            .into_iter()
            .map(|u| u.line)
            .collect();
        assert_eq!(found, vec![3, 4]);
    }
}

//! The interpreter: walks a script line by line as psql does, keeps the `\if` stack and the
//! variables, and hands complete statements of active branches to a [`Sink`].
//!
//! [`check`] validates a script before anything runs (unknown meta-commands, unbalanced or
//! misplaced `\if`/`\elif`/`\else`/`\endif`), so a malformed script never half-runs.

use super::error::RunError;
use super::meta::{kind_of, parse_args, split_name, MetaKind};
use crate::psql::scanner::{SqlScanner, Statement};
use crate::psql::vars::{is_valid_name, parse_bool, Vars};

/// Where the interpreter sends what it produces.
pub trait Sink {
    /// Runs one statement; an error stops the script.
    fn execute(&mut self, statement: &Statement) -> Result<(), RunError>;
    /// `\echo` output (psql prints it on stdout).
    fn echo(&mut self, text: &str, newline: bool);
    /// A warning psql would print (and continue).
    fn warn(&mut self, text: &str);
    /// `\copy … TO 'file'`: runs `copy` (a `COPY … TO STDOUT`) and writes its output to `file`.
    fn copy_to(&mut self, copy: &str, file: &str) -> Result<(), RunError>;
    /// `\gset`: runs `statement` and gives back its rows, each as (column, value) pairs
    /// (`None` for NULL), printing nothing.
    fn rows(&mut self, statement: &Statement) -> Result<Vec<Row>, RunError>;
}

/// One row of a query `\gset` sends: (column name, value, `None` for NULL).
pub type Row = Vec<(String, Option<String>)>;

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to its end.
    Completed,
    /// `\q` stopped it (successfully).
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Branch {
    /// This branch runs.
    Active,
    /// No branch has run yet; a later `\elif`/`\else` may.
    Waiting,
    /// A branch already ran; the rest are skipped.
    Done,
    /// The whole `\if` sits in an inactive branch.
    Ignored,
}

#[derive(Debug)]
struct Frame {
    branch: Branch,
    seen_else: bool,
    line: usize,
}

fn script_error(script: &str, line: usize, message: impl Into<String>) -> RunError {
    RunError::Script {
        script: script.to_string(),
        line,
        message: message.into(),
    }
}

/// psql splits lines on `\n`; a trailing `\r` is whitespace to the scanner.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().map(|(n, l)| (n + 1, l))
}

/// Checks the structure of a script without running it: every meta-command is known, every
/// `\if` has its `\endif`, no `\elif`/`\else` after `\else`, no stray `\endif`.
pub fn check(script: &str, text: &str) -> Result<(), RunError> {
    let mut scanner = SqlScanner::new();
    let mut stack: Vec<(usize, bool)> = Vec::new(); // (line of \if, seen \else)
    for (n, line) in lines(text) {
        let out = scanner.feed_line(line, n, None);
        let Some(meta) = out.meta else { continue };
        let kind = kind_of(meta.trim_end()).map_err(|m| script_error(script, n, m))?;
        let (name, _) = split_name(&meta);
        match kind {
            MetaKind::If => stack.push((n, false)),
            MetaKind::Elif | MetaKind::Else => match stack.last_mut() {
                None => {
                    return Err(script_error(
                        script,
                        n,
                        format!("\\{name}: no matching \\if"),
                    ))
                }
                Some((_, true)) => {
                    return Err(script_error(
                        script,
                        n,
                        format!("\\{name}: cannot occur after \\else"),
                    ))
                }
                Some((_, seen)) => *seen = kind == MetaKind::Else,
            },
            MetaKind::Endif if stack.pop().is_none() => {
                return Err(script_error(script, n, "\\endif: no matching \\if"));
            }
            _ => {}
        }
    }
    if let Some((line, _)) = stack.last() {
        return Err(script_error(
            script,
            *line,
            "reached the end of the script without finding the \\endif of this \\if",
        ));
    }
    Ok(())
}

/// Whether a statement is `COPY … TO STDOUT …` (its rows go to the client).
fn is_copy_to_stdout(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    words.first().is_some_and(|w| w == "COPY")
        && words.windows(2).any(|w| w[0] == "TO" && w[1] == "STDOUT")
}

/// Runs `text` through `sink`: statements of active branches in order, meta-commands
/// interpreted, `vars` updated by `\set`/`\unset`. Checks the script first (see [`check`]).
pub fn interpret(
    script: &str,
    text: &str,
    vars: &mut Vars,
    sink: &mut dyn Sink,
) -> Result<Outcome, RunError> {
    check(script, text)?;
    let mut scanner = SqlScanner::new();
    let mut stack: Vec<Frame> = Vec::new();
    for (n, line) in lines(text) {
        let active = stack.last().is_none_or(|f| f.branch == Branch::Active);
        let out = scanner.feed_line(line, n, if active { Some(vars) } else { None });
        for st in &out.statements {
            if active {
                sink.execute(st)?;
            }
        }
        let Some(meta) = out.meta else { continue };
        if !active {
            // psql forgets SQL typed inside an inactive branch.
            scanner.discard();
        }
        let meta = meta.trim_end();
        let kind = kind_of(meta).map_err(|m| script_error(script, n, m))?;
        let (name, rest) = split_name(meta);
        if !active && !kind.is_conditional() {
            continue;
        }
        let err = |m: String| script_error(script, n, format!("\\{name}: {m}"));
        let eval = |vars: &Vars| -> Result<bool, RunError> {
            let expr = parse_args(rest, vars).map_err(err)?.join(" ");
            parse_bool(&expr).ok_or_else(|| {
                script_error(script, n, format!("unrecognized value \"{expr}\" for \"\\{name} expression\": Boolean expected"))
            })
        };
        match kind {
            MetaKind::If => {
                let branch = if !active {
                    Branch::Ignored
                } else if eval(vars)? {
                    Branch::Active
                } else {
                    Branch::Waiting
                };
                stack.push(Frame {
                    branch,
                    seen_else: false,
                    line: n,
                });
            }
            MetaKind::Elif | MetaKind::Else => {
                let Some(top) = stack.last_mut() else {
                    return Err(err("no matching \\if".into()));
                };
                if top.seen_else {
                    return Err(err("cannot occur after \\else".into()));
                }
                top.branch = match top.branch {
                    Branch::Active => Branch::Done,
                    Branch::Waiting if kind == MetaKind::Else => Branch::Active,
                    Branch::Waiting if eval(vars)? => Branch::Active,
                    other => other,
                };
                top.seen_else = kind == MetaKind::Else;
                if kind == MetaKind::Else && !rest.trim().is_empty() {
                    sink.warn(&format!(
                        "\\else: extra argument \"{}\" ignored",
                        rest.trim()
                    ));
                }
            }
            MetaKind::Endif => {
                if stack.pop().is_none() {
                    return Err(err("no matching \\if".into()));
                }
                if !rest.trim().is_empty() {
                    sink.warn(&format!(
                        "\\endif: extra argument \"{}\" ignored",
                        rest.trim()
                    ));
                }
            }
            MetaKind::Set => {
                let args = parse_args(rest, vars).map_err(err)?;
                let Some((var, values)) = args.split_first() else {
                    for (k, v) in vars.iter() {
                        sink.echo(&format!("{k} = '{v}'"), true);
                    }
                    continue;
                };
                if !is_valid_name(var) {
                    return Err(err(format!("invalid variable name: \"{var}\"")));
                }
                let value = values.concat();
                if var == "ON_ERROR_STOP" && parse_bool(&value).is_none() {
                    return Err(err(format!(
                        "unrecognized value \"{value}\" for \"ON_ERROR_STOP\": Boolean expected"
                    )));
                }
                vars.insert(var.clone(), value);
            }
            MetaKind::Unset => {
                let args = parse_args(rest, vars).map_err(err)?;
                let Some(var) = args.first() else {
                    return Err(err("missing required argument".into()));
                };
                vars.remove(var);
            }
            MetaKind::Echo => {
                let args = parse_args(rest, vars).map_err(err)?;
                let (newline, words) = match args.split_first() {
                    Some((first, tail)) if first == "-n" => (false, tail),
                    _ => (true, &args[..]),
                };
                sink.echo(&words.join(" "), newline);
            }
            // `\getenv VAR ENV`: as psql, an unset ENV leaves VAR as it was. Secrets come in
            // this way, never through the script or the command line.
            MetaKind::Getenv => {
                let args = parse_args(rest, vars).map_err(err)?;
                let [var, env] = args.as_slice() else {
                    return Err(err("missing required argument".into()));
                };
                if let Ok(value) = std::env::var(env) {
                    vars.insert(var.clone(), value);
                }
            }
            // No variable interpolation in `\copy`, as in psql: the whole line is its argument.
            MetaKind::Copy => {
                let (copy, file) =
                    super::meta::parse_copy_to(rest).map_err(|m| err(m.to_string()))?;
                sink.copy_to(&copy, &file)?;
            }
            MetaKind::SendTo => {
                let args = parse_args(rest, vars).map_err(err)?;
                let [file] = args.as_slice() else {
                    return Err(err("pgmig run knows `\\g FILE` only".into()));
                };
                let st = scanner.finish().filter(|st| is_copy_to_stdout(&st.text));
                let Some(st) = st else {
                    return Err(err(
                        "pgmig run sends only a `COPY … TO STDOUT` to a file".into()
                    ));
                };
                let file = super::meta::plain_file_name(file).map_err(err)?;
                sink.copy_to(&st.text, &file)?;
            }
            // As psql: the query's one row into variables named by its columns, a NULL
            // unsetting one; no row or several is an error. Narrower than psql: no prefix,
            // and only variables named pgmig_… (see meta::gset_variable).
            MetaKind::Gset => {
                if !parse_args(rest, vars).map_err(err)?.is_empty() {
                    return Err(err("pgmig run knows `\\gset` without a prefix only".into()));
                }
                let Some(st) = scanner.finish() else {
                    return Err(err(
                        "no query before it: pgmig run does not send the previous query again"
                            .into(),
                    ));
                };
                let rows = sink.rows(&st)?;
                let [row] = rows.as_slice() else {
                    let what = if rows.is_empty() {
                        "no rows"
                    } else {
                        "more than one row"
                    };
                    return Err(RunError::Query {
                        what: format!("{script}:{}", st.line),
                        message: format!("{what} returned for \\gset"),
                    });
                };
                for (column, _) in row {
                    super::meta::gset_variable(column).map_err(|m| script_error(script, n, m))?;
                }
                for (column, value) in row {
                    match value {
                        Some(v) => vars.insert(column.clone(), v.clone()),
                        None => vars.remove(column),
                    };
                }
            }
            MetaKind::Quit => return Ok(Outcome::Quit),
        }
    }
    if let Some(f) = stack.last() {
        return Err(script_error(
            script,
            f.line,
            "reached the end of the script without finding the \\endif of this \\if",
        ));
    }
    if let Some(st) = scanner.finish() {
        sink.execute(&st)?;
    }
    Ok(Outcome::Completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Record {
        log: Vec<String>,
        fail_on: Option<&'static str>,
    }

    impl Sink for Record {
        fn rows(&mut self, st: &Statement) -> Result<Vec<Row>, RunError> {
            self.log.push(format!("rows {}: {}", st.line, st.text));
            // `SELECT <value> AS <column>[, …]`: one row echoing the aliases; `WHERE false` none.
            if st.text.contains("WHERE false") {
                return Ok(Vec::new());
            }
            let one = |item: &str| {
                let (value, column) = item
                    .trim()
                    .trim_start_matches("SELECT ")
                    .split_once(" AS ")
                    .unwrap();
                let value = value.trim_matches('\'');
                (
                    column.trim_end_matches(';').trim().to_string(),
                    (value != "NULL").then(|| value.to_string()),
                )
            };
            let row: Row = st.text.split(',').map(one).collect();
            Ok(if st.text.contains("UNION ALL") {
                vec![row.clone(), row]
            } else {
                vec![row]
            })
        }
        fn copy_to(&mut self, copy: &str, file: &str) -> Result<(), RunError> {
            self.log.push(format!("copy {copy} > {file}"));
            Ok(())
        }
        fn execute(&mut self, st: &Statement) -> Result<(), RunError> {
            if self.fail_on.is_some_and(|f| st.text.contains(f)) {
                return Err(RunError::Query {
                    what: "test".into(),
                    message: format!("failed at {}", st.line),
                });
            }
            self.log.push(format!("{}: {}", st.line, st.text));
            Ok(())
        }
        fn echo(&mut self, text: &str, newline: bool) {
            self.log
                .push(format!("echo{}: {text}", if newline { "" } else { " -n" }));
        }
        fn warn(&mut self, text: &str) {
            self.log.push(format!("warn: {text}"));
        }
    }

    fn run(text: &str, pairs: &[(&str, &str)]) -> Result<(Vec<String>, Vars, Outcome), RunError> {
        let mut vars: Vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut rec = Record::default();
        let outcome = interpret("t.sql", text, &mut vars, &mut rec)?;
        Ok((rec.log, vars, outcome))
    }

    const DRY: &str = "\\set ON_ERROR_STOP on
BEGIN;
INSERT INTO t VALUES (:'who');
\\if :{?dry_run}
  \\echo dry run: rolling back
  ROLLBACK;
\\else
  COMMIT;
\\endif
";

    #[test]
    fn dry_run_branch_is_taken_when_the_variable_is_set() {
        let (log, vars, outcome) = run(DRY, &[("dry_run", "1"), ("who", "o'neil")]).unwrap();
        assert_eq!(
            log,
            vec![
                "2: BEGIN;",
                "3: INSERT INTO t VALUES ('o''neil');",
                "echo: dry run: rolling back",
                "6: ROLLBACK;",
            ]
        );
        assert_eq!(vars.get("ON_ERROR_STOP").map(String::as_str), Some("on"));
        assert_eq!(outcome, Outcome::Completed);
    }

    #[test]
    fn copy_to_stdout_then_g_writes_the_file_and_nothing_else_does() {
        let text =
            "COPY (SELECT 1 AS \"a\nb\")\n  TO STDOUT WITH (FORMAT csv) \\g 'x.csv'\nSELECT 2;";
        let (log, _, _) = run(text, &[]).unwrap();
        assert_eq!(
            log,
            vec![
                "copy COPY (SELECT 1 AS \"a\nb\")\n  TO STDOUT WITH (FORMAT csv) > x.csv",
                "4: SELECT 2;"
            ]
        );
        let e = run("SELECT 1 \\g 'x.csv'", &[]).unwrap_err().to_string();
        assert!(e.contains("only a `COPY … TO STDOUT`"), "{e}");
        let e = run("COPY t TO STDOUT \\g '../x.csv'", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a plain file name"), "{e}");
    }

    #[test]
    fn else_branch_without_the_variable() {
        let (log, _, _) = run(DRY, &[("who", "x")]).unwrap();
        assert_eq!(
            log,
            vec!["2: BEGIN;", "3: INSERT INTO t VALUES ('x');", "8: COMMIT;"]
        );
    }

    #[test]
    fn nested_ifs_and_elif_chains() {
        let text = "\\if false\n  \\if true\n    SELECT 'never';\n  \\else\n    SELECT 'never2';\n  \\endif\n\\elif :a\n  SELECT 'a';\n\\elif true\n  SELECT 'not after a';\n\\else\n  SELECT 'not else';\n\\endif\nSELECT 'end';";
        let (log, _, _) = run(text, &[("a", "yes")]).unwrap();
        assert_eq!(log, vec!["8: SELECT 'a';", "14: SELECT 'end';"]);
        let (log, _, _) = run(text, &[("a", "off")]).unwrap();
        assert_eq!(log, vec!["10: SELECT 'not after a';", "14: SELECT 'end';"]);
    }

    #[test]
    fn inactive_branches_do_not_evaluate_or_set() {
        // :undefined in an inactive \elif would be an error if evaluated.
        let text = "\\if true\n\\set x 1\n\\elif :undefined\n\\set x 2\n\\else\n\\set y 3\n\\endif\n\\echo :x :y";
        let (log, vars, _) = run(text, &[]).unwrap();
        assert_eq!(vars.get("x").map(String::as_str), Some("1"));
        assert!(!vars.contains_key("y"));
        assert_eq!(log, vec!["echo: 1 :y"]);
    }

    #[test]
    fn non_boolean_if_is_an_input_error() {
        let e = run("SELECT 1;\n\\if :dry_run\n\\endif", &[]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "t.sql:2: unrecognized value \":dry_run\" for \"\\if expression\": Boolean expected"
        );
        let e = run("\\if maybe\n\\endif", &[]).unwrap_err();
        assert!(e.to_string().contains("\"maybe\""), "{e}");
    }

    #[test]
    fn structure_errors_are_found_before_anything_runs() {
        let cases = [
            (
                "SELECT 1;\n\\if true\nSELECT 2;\n",
                "t.sql:2: reached the end",
            ),
            ("SELECT 1;\n\\endif\n", "t.sql:2: \\endif: no matching \\if"),
            ("\\else\n", "t.sql:1: \\else: no matching \\if"),
            (
                "\\if true\n\\else\n\\elif true\n\\endif\n",
                "t.sql:3: \\elif: cannot occur after \\else",
            ),
            (
                "\\if true\n\\else\n\\else\n\\endif\n",
                "t.sql:3: \\else: cannot occur after \\else",
            ),
            (
                "SELECT 1;\n\\if false\n\\gexec\n\\endif\n",
                "t.sql:3: unsupported meta-command \\gexec",
            ),
        ];
        for (text, want) in cases {
            let mut rec = Record::default();
            let e = interpret("t.sql", text, &mut Vars::new(), &mut rec).unwrap_err();
            assert!(e.to_string().starts_with(want), "{text:?}: {e}");
            assert_eq!(e.exit_code(), 2);
            assert!(rec.log.is_empty(), "ran before failing: {:?}", rec.log);
        }
    }

    #[test]
    fn set_concatenates_unset_removes_and_names_are_checked() {
        let (_, vars, _) = run("\\set a x 'y z' :b\n\\set e\n\\unset b", &[("b", "B")]).unwrap();
        assert_eq!(vars.get("a").map(String::as_str), Some("xy zB"));
        assert_eq!(vars.get("e").map(String::as_str), Some(""));
        assert!(!vars.contains_key("b"));
        assert!(run("\\set a-b 1", &[])
            .unwrap_err()
            .to_string()
            .contains("invalid variable name"));
        assert!(run("\\set ON_ERROR_STOP maybe", &[]).is_err());
        assert!(run("\\unset", &[]).is_err());
    }

    #[test]
    fn gset_stores_one_row_into_pgmig_variables_only() {
        let (log, vars, _) = run(
            "SELECT 't' AS pgmig_swapped, NULL AS pgmig_gone \\gset\n\\if :pgmig_swapped\nSELECT 'skipped';\n\\endif",
            &[("pgmig_gone", "was set")],
        )
        .unwrap();
        assert_eq!(vars.get("pgmig_swapped").map(String::as_str), Some("t"));
        assert!(
            !vars.contains_key("pgmig_gone"),
            "a NULL unsets, as in psql"
        );
        assert_eq!(
            log,
            vec![
                "rows 1: SELECT 't' AS pgmig_swapped, NULL AS pgmig_gone",
                "3: SELECT 'skipped';"
            ]
        );
        // A column named otherwise (ON_ERROR_STOP off would let a failure pass): refused,
        // and nothing is set.
        let e = run("SELECT 'off' AS ON_ERROR_STOP \\gset", &[]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("only variables named pgmig_"), "{e}");
        for (text, want) in [
            (
                "SELECT 't' AS pgmig_x WHERE false \\gset",
                "no rows returned for \\gset",
            ),
            (
                "SELECT 't' AS pgmig_x UNION ALL SELECT 'f' \\gset",
                "more than one row returned for \\gset",
            ),
            (
                "SELECT 't' AS pgmig_x \\gset pgmig_",
                "without a prefix only",
            ),
            ("\\gset", "no query before it"),
        ] {
            let e = run(text, &[]).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn echo_forms() {
        let (log, _, _) = run(
            "\\echo  a   'b  c' :x\n\\echo -n no newline\n\\echo",
            &[("x", "X")],
        )
        .unwrap();
        assert_eq!(log, vec!["echo: a b  c X", "echo -n: no newline", "echo: "]);
    }

    #[test]
    fn quit_stops_and_drops_pending_sql() {
        let (log, _, outcome) = run("SELECT 1;\nSELECT 2\n\\q\nSELECT 3;", &[]).unwrap();
        assert_eq!(log, vec!["1: SELECT 1;"]);
        assert_eq!(outcome, Outcome::Quit);
    }

    #[test]
    fn set_value_is_visible_to_later_sql_only() {
        let (log, _, _) = run("SELECT :v;\n\\set v 2\nSELECT :v;", &[]).unwrap();
        assert_eq!(log, vec!["1: SELECT :v;", "3: SELECT 2;"]);
    }

    #[test]
    fn a_failing_statement_stops_the_script() {
        let mut vars = Vars::new();
        let mut rec = Record {
            fail_on: Some("bad"),
            ..Default::default()
        };
        let e = interpret(
            "t.sql",
            "SELECT 1;\nSELECT bad;\nSELECT 3;",
            &mut vars,
            &mut rec,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "test: failed at 2");
        assert_eq!(rec.log, vec!["1: SELECT 1;"]);
    }

    #[test]
    fn sql_in_an_inactive_branch_is_discarded_even_if_unterminated() {
        let (log, _, _) = run("\\if false\nSELECT 'half'\n\\endif\nSELECT 2;", &[]).unwrap();
        assert_eq!(log, vec!["4: SELECT 2;"]);
    }

    #[test]
    fn crlf_lines() {
        let (log, _, _) = run("\\if true\r\nSELECT 1;\r\n\\endif\r\n", &[]).unwrap();
        assert_eq!(log, vec!["2: SELECT 1;"]);
    }
}

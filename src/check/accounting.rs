//! Nothing is lost silently: every V1 table and column is read by a step or listed under
//! `drop:` with its reason. A V1 column nobody reads whose V2 counterpart (by the matcher
//! `init` uses) takes its default is how a whole column of data became NULL with every
//! check green; it is an error naming that counterpart. A column listed under `drop:` that
//! a step does read is an error too: the model would say two things.

use indexmap::IndexMap;

use crate::catalog::{quote_ident, Catalog, QualName, Table};
use crate::diagnostic::{Diagnostic, Diagnostics, Pos};
use crate::init::convert::{convert, Conversion};
use crate::init::draft::{COLUMN_THRESHOLD, TABLE_THRESHOLD};
use crate::init::matching::match_names;
use crate::init::naming::{column_key, table_key};
use crate::init::render::scalar;
use crate::model::{pos_of, DropDecl, Model, Text};
use crate::plan::{Dropped, Step};

use super::suggest::did_you_mean;

/// What the compile knows to account for V1's data.
pub struct Accounting<'a> {
    pub model: &'a Model,
    /// The model file's lines: an unread table points at `drop:` (or `tables:`).
    pub lines: &'a [&'a str],
    pub v1: &'a Catalog,
    pub v2: &'a Catalog,
    pub source_schema: &'a str,
    /// Every step of the model, resolved.
    pub steps: &'a [Step],
}

impl Accounting<'_> {
    /// Checks `drop:` against V1 and the steps, reports every unaccounted table and column at
    /// once, and returns what is dropped, in the model's order, for PLAN.md.
    pub fn check(&self, diags: &mut Diagnostics) -> Vec<Dropped> {
        let tables: Vec<&Table> = self
            .v1
            .tables_in(self.source_schema)
            .filter(|t| t.partition_of.is_none())
            .collect();
        let dropped = self.declared(&tables, diags);
        let unread_tables: Vec<&Table> = tables
            .iter()
            .copied()
            .filter(|t| self.readers(t).is_empty())
            .collect();
        for t in &tables {
            let listed = self
                .model
                .drop
                .iter()
                .find(|(name, _)| name.as_str() == t.name.name)
                .map(|(_, d)| d);
            let readers = self.readers(t);
            let unaccounted: Vec<&str> = match listed {
                Some(DropDecl::Table(_)) => continue,
                Some(DropDecl::Columns(cols)) => t
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .filter(|c| {
                        !self.is_read(&readers, c) && !cols.keys().any(|k| k.as_str() == *c)
                    })
                    .collect(),
                None if readers.is_empty() => {
                    diags.push(self.unread_table(t, &unread_tables));
                    continue;
                }
                None => t
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .filter(|c| !self.is_read(&readers, c))
                    .collect(),
            };
            self.unread_columns(t, &unaccounted, diags);
        }
        dropped
    }

    /// The steps reading `table` or a table it inherits from (whose rows include its own).
    fn readers(&self, table: &Table) -> Vec<&Step> {
        let mut tables = vec![&table.name];
        let mut i = 0;
        while i < tables.len() {
            let parents = self
                .v1
                .table(tables[i])
                .map_or(&[][..], |t| t.inherits.as_slice());
            for p in parents {
                if !tables.contains(&p) {
                    tables.push(p);
                }
            }
            i += 1;
        }
        self.steps
            .iter()
            .filter(|s| tables.iter().any(|t| s.reads.contains(t)))
            .collect()
    }

    /// Whether a step reading `table` mentions `column` (by name, or through a whole-row reference).
    fn is_read(&self, readers: &[&Step], column: &str) -> bool {
        readers.iter().any(|s| {
            s.mentioned
                .binary_search_by(|m| m.as_str().cmp(column))
                .is_ok()
        })
    }

    /// The model's position of a step, by its name.
    fn step_pos(&self, step: &str) -> Option<Pos> {
        self.model
            .tables
            .keys()
            .find(|k| k.as_str() == step)
            .and_then(pos_of)
    }

    /// Reads `drop:`: unknown tables and columns, reasons missing or still TODO, and data
    /// listed as dropped that a step reads are errors.
    fn declared(&self, tables: &[&Table], diags: &mut Diagnostics) -> Vec<Dropped> {
        let mut dropped = Vec::new();
        for (name, decl) in &self.model.drop {
            let Some(table) = tables.iter().find(|t| t.name.name == name.as_str()) else {
                let candidates: Vec<String> = tables.iter().map(|t| t.name.name.clone()).collect();
                let mut d = Diagnostic::error(
                    format!(
                        "drop: V1 has no table `{}` in schema `{}`",
                        name.as_str(),
                        self.source_schema
                    ),
                    pos_of(name),
                );
                if let Some(s) = did_you_mean(name.as_str(), &candidates) {
                    d = d.with_hint(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                continue;
            };
            let line = |t: &Text| pos_of(t).map_or(0, |p| p.line);
            match decl {
                DropDecl::Table(reason) => {
                    let what = table.name.to_string();
                    let readers: Vec<String> =
                        self.readers(table).iter().map(|s| s.name.clone()).collect();
                    if !readers.is_empty() {
                        diags.push(read_yet_dropped(&what, &readers, pos_of(name)));
                    } else if let Some(d) = bad_reason(&what, reason, pos_of(name)) {
                        diags.push(d);
                    } else {
                        dropped.push(Dropped {
                            table: table.name.clone(),
                            column: None,
                            reason: reason.clone(),
                            line: line(name),
                        });
                    }
                }
                DropDecl::Columns(columns) => {
                    for (column, reason) in columns {
                        if table.column(column.as_str()).is_none() {
                            let candidates: Vec<String> =
                                table.columns.iter().map(|c| c.name.clone()).collect();
                            let mut d = Diagnostic::error(
                                format!(
                                    "drop: column `{}` does not exist in V1 table `{}`",
                                    column.as_str(),
                                    table.name
                                ),
                                pos_of(column),
                            );
                            if let Some(s) = did_you_mean(column.as_str(), &candidates) {
                                d = d.with_hint(format!("did you mean `{s}`?"));
                            }
                            diags.push(d);
                            continue;
                        }
                        let what = format!("{}.{}", table.name, quote_ident(column));
                        let readers: Vec<String> = self
                            .readers(table)
                            .into_iter()
                            .filter(|s| self.is_read(&[s], column))
                            .map(|s| s.name.clone())
                            .collect();
                        if !readers.is_empty() {
                            diags.push(read_yet_dropped(&what, &readers, pos_of(column)));
                        } else if let Some(d) =
                            bad_reason(&what, reason, pos_of(reason).or_else(|| pos_of(column)))
                        {
                            diags.push(d);
                        } else {
                            dropped.push(Dropped {
                                table: table.name.clone(),
                                column: Some(column.to_string()),
                                reason: reason.to_string(),
                                line: line(column),
                            });
                        }
                    }
                }
            }
        }
        dropped
    }

    /// A V1 table no step reads and `drop:` does not list; with the V2 table it likely fills
    /// when V2 has one no step fills (the matcher of `init`).
    fn unread_table(&self, table: &Table, unread: &[&Table]) -> Diagnostic {
        let filled: Vec<&QualName> = self.steps.iter().map(|s| &s.target).collect();
        let schema = self.model.target_schema();
        let empty: Vec<&str> = self
            .v2
            .tables_in(schema)
            .filter(|t| t.partition_of.is_none() && !filled.contains(&&t.name))
            .map(|t| t.name.name.as_str())
            .collect();
        let sources: Vec<&str> = unread.iter().map(|t| t.name.name.as_str()).collect();
        let target = match_names(&empty, &sources, table_key, |_, _, _| true, TABLE_THRESHOLD)
            .into_iter()
            .find(|p| sources[p.source] == table.name.name)
            .map(|p| QualName::new(schema, empty[p.target]));
        let message = match &target {
            Some(t) => format!("V1 table `{}` is read by no step; V2's `{t}` is filled by none: write its step or list the table under drop:", table.name),
            None => format!("V1 table `{}` is read by no step; read it in a step or list it under drop:", table.name),
        };
        let at = self
            .top_level_key("drop")
            .or_else(|| self.top_level_key("tables"))
            .or_else(|| pos_of(&self.model.name));
        Diagnostic::error(message, at).with_hint(format!(
            "to drop its rows, say why: `drop: {{{}: REASON}}` (PLAN.md shows the reason)",
            scalar(&table.name.name, true)
        ))
    }

    /// One error per V1 column of `table` that no step reads and `drop:` does not list; with
    /// the V2 column left to its default that the matcher of `init` pairs it with.
    fn unread_columns(&self, table: &Table, unread: &[&str], diags: &mut Diagnostics) {
        if unread.is_empty() {
            return;
        }
        let mut targets: IndexMap<&str, (&Step, String)> = IndexMap::new();
        for step in self
            .steps
            .iter()
            .filter(|s| s.source_table.as_ref() == Some(&table.name))
        {
            let Some(v2_table) = self.v2.table(&step.target) else {
                continue;
            };
            let alias = step
                .source_alias
                .clone()
                .unwrap_or_else(|| table.name.name.clone());
            let defaulted: Vec<&crate::catalog::Column> = v2_table
                .columns
                .iter()
                .filter(|c| c.generated.is_none() && !step.columns.iter().any(|m| m.name == c.name))
                .collect();
            let names: Vec<&str> = defaulted.iter().map(|c| c.name.as_str()).collect();
            let sources: Vec<&str> = unread
                .iter()
                .copied()
                .filter(|c| !targets.contains_key(c))
                .collect();
            let conversion = |t: usize, s: usize| {
                let from = table
                    .column(sources[s])
                    .map_or("", |c| c.data_type.as_str());
                convert(
                    &format!("{alias}.{}", quote_ident(sources[s])),
                    from,
                    &defaulted[t].data_type,
                    self.v1,
                    self.v2,
                )
            };
            let eligible = |t: usize, s: usize, renamed: bool| {
                let c = conversion(t, s);
                if renamed {
                    c.plausible()
                } else {
                    !matches!(c, Conversion::Impossible(_))
                }
            };
            for p in match_names(&names, &sources, column_key, eligible, COLUMN_THRESHOLD) {
                targets.insert(sources[p.source], (step, names[p.target].to_string()));
            }
        }
        let first_reader = self.readers(table).first().map(|s| s.name.clone());
        for column in unread {
            let what = format!("{}.{}", table.name, quote_ident(column));
            let drop_hint = format!(
                "`drop: {{{}: {{{}: REASON}}}}`",
                scalar(&table.name.name, true),
                scalar(column, true)
            );
            let d = match targets.get(column) {
                Some((step, target)) => {
                    let alias = step
                        .source_alias
                        .clone()
                        .unwrap_or_else(|| table.name.name.clone());
                    let expr = format!("{alias}.{}", quote_ident(column));
                    Diagnostic::error(
                        format!("`{what}` is read by no step; V2's `{}.{}` is left to its default; map it or list it under drop:", step.target.name, quote_ident(target)),
                        self.step_pos(&step.name),
                    )
                    .with_hint(format!("add `{}: {}` to the columns of step {}, or say why it is dropped: {drop_hint}", scalar(target, false), scalar(&expr, false), step.name))
                }
                None => Diagnostic::error(
                    format!("`{what}` is read by no step; map it or list it under drop:"),
                    first_reader
                        .as_deref()
                        .and_then(|s| self.step_pos(s))
                        .or_else(|| self.top_level_key("tables"))
                        .or_else(|| pos_of(&self.model.name)),
                )
                .with_hint(format!(
                    "say why V2 doesn't need it: {drop_hint} (PLAN.md shows the reason)"
                )),
            };
            diags.push(d);
        }
    }

    /// The position of a top-level key of the model (`tables:`, `drop:`).
    fn top_level_key(&self, key: &str) -> Option<Pos> {
        let prefix = format!("{key}:");
        let line = self.lines.iter().position(|l| l.starts_with(&prefix))?;
        Some(Pos {
            line: line + 1,
            column: 1,
            len: key.len(),
        })
    }
}

fn read_yet_dropped(what: &str, readers: &[String], at: Option<Pos>) -> Diagnostic {
    let steps = if readers.len() == 1 {
        format!("step {}", readers[0])
    } else {
        format!("steps {}", readers.join(", "))
    };
    Diagnostic::error(
        format!(
            "drop: `{what}` is listed as dropped, but {steps} read{} it",
            if readers.len() == 1 { "s" } else { "" }
        ),
        at,
    )
    .with_hint("remove it from drop:, or stop reading it: the model can't say both")
}

/// A reason that is empty or still init's placeholder.
fn bad_reason(what: &str, reason: &str, at: Option<Pos>) -> Option<Diagnostic> {
    if reason.trim().is_empty() {
        return Some(
            Diagnostic::error(format!("drop: `{what}` has no reason"), at)
                .with_hint("say why V2 doesn't need this data: PLAN.md shows the reason"),
        );
    }
    reason.trim_start().starts_with("TODO").then(|| {
        Diagnostic::error(
            format!("drop: the reason for dropping `{what}` is still a TODO"),
            at,
        )
        .with_hint(
            "say why V2 doesn't need this data (PLAN.md shows the reason), or map it in a step",
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::catalog::from_ddl;
    use crate::diagnostic::SourceFile;

    const V1: &str = r#"
        CREATE TABLE "Account" (id integer PRIMARY KEY, "Name" text NOT NULL, fax text);
        CREATE TABLE audit_trail (id integer PRIMARY KEY, happened text);
    "#;
    const V2: &str = "CREATE TABLE account (id integer PRIMARY KEY, name text);";

    /// The model's diagnostics as a reader sees them, or its plan's `drop:` entries.
    fn compile(model: &str) -> Result<Vec<String>, String> {
        let v1 = from_ddl(V1, "v1").unwrap().catalog;
        let v2 = from_ddl(V2, "public").unwrap().catalog;
        let file = SourceFile {
            name: "model.yaml".into(),
            text: model.to_string(),
        };
        let parsed = crate::model::load(model).map_err(|d| format!("{d:?}"))?;
        match super::super::check(&parsed, &file, &v1, &v2) {
            Ok((plan, _)) => Ok(plan
                .dropped
                .iter()
                .map(|d| format!("{} {:?} line {}: {}", d.table, d.column, d.line, d.reason))
                .collect()),
            Err(diags) => Err(diags.render(&file, false)),
        }
    }

    const HEAD: &str = "name: accounts\nsource: { schema: v1 }\ntables:\n  account:\n    from: '\"Account\" a'\n    key: keep\n";

    #[test]
    fn a_column_in_another_spelling_left_to_its_default_is_an_error_naming_it() {
        let model = format!(
            "{HEAD}drop:\n  audit_trail: kept in V1's archive\n  Account: {{fax: no fax in V2}}\n"
        );
        insta::assert_snapshot!(compile(&model).unwrap_err(), @r#"
        model.yaml:4:3: error: `v1."Account"."Name"` is read by no step; V2's `account.name` is left to its default; map it or list it under drop:
           ╭─[model.yaml:4:3]
         3 │ tables:
         4 │   account:
           ·   ───┬───
           ·      ╰── here
         5 │     from: '"Account" a'
           ╰────
          help: add `name: 'a."Name"'` to the columns of step account, or say why it is dropped: `drop: {Account: {Name: REASON}}`
        error: model.yaml has 1 error; nothing was written
        "#);
    }

    #[test]
    fn every_unaccounted_table_and_column_is_reported_at_once() {
        let errors = compile(HEAD).unwrap_err();
        assert!(errors.contains(r#"`v1."Account"."Name"` is read by no step; V2's `account.name` is left to its default"#), "{errors}");
        assert!(
            errors.contains(
                r#"`v1."Account".fax` is read by no step; map it or list it under drop:"#
            ),
            "{errors}"
        );
        assert!(
            errors.contains("V1 table `v1.audit_trail` is read by no step"),
            "{errors}"
        );
        assert!(errors.contains("model.yaml has 3 errors"), "{errors}");
    }

    #[test]
    fn dropped_data_is_in_the_plan_with_its_reason_and_line() {
        let model = format!("{HEAD}    columns: {{name: a.\"Name\"}}\ndrop:\n  audit_trail: kept in V1's archive\n  Account:\n    fax: no fax in V2\n");
        assert_eq!(
            compile(&model).unwrap(),
            [
                r#"v1.audit_trail None line 9: kept in V1's archive"#,
                r#"v1."Account" Some("fax") line 11: no fax in V2"#
            ]
        );
    }

    #[test]
    fn a_whole_row_reference_reads_every_column() {
        let model = format!("{HEAD}    columns: {{name: to_jsonb(a.*)::text}}\ndrop:\n  audit_trail: kept in V1's archive\n");
        assert_eq!(
            compile(&model).unwrap(),
            [r#"v1.audit_trail None line 9: kept in V1's archive"#]
        );
    }

    #[test]
    fn dropping_what_a_step_reads_is_a_contradiction() {
        let model = format!("{HEAD}    columns: {{name: a.\"Name\"}}\ndrop:\n  audit_trail: kept in V1's archive\n  Account:\n    fax: no fax in V2\n    Name: not needed\n");
        insta::assert_snapshot!(compile(&model).unwrap_err(), @r#"
        model.yaml:12:5: error: drop: `v1."Account"."Name"` is listed as dropped, but step account reads it
            ╭─[model.yaml:12:5]
         11 │     fax: no fax in V2
         12 │     Name: not needed
            ·     ──┬─
            ·       ╰── here
            ╰────
          help: remove it from drop:, or stop reading it: the model can't say both
        error: model.yaml has 1 error; nothing was written
        "#);
    }

    #[test]
    fn drop_names_that_do_not_exist_are_errors_with_a_suggestion() {
        let model = format!("{HEAD}    columns: {{name: a.\"Name\"}}\ndrop:\n  audit_trial: kept in V1's archive\n  Account:\n    faxes: no fax in V2\n");
        let errors = compile(&model).unwrap_err();
        assert!(
            errors.contains("drop: V1 has no table `audit_trial` in schema `v1`")
                && errors.contains("did you mean `audit_trail`?"),
            "{errors}"
        );
        assert!(
            errors.contains("drop: column `faxes` does not exist in V1 table `v1.\"Account\"`")
                && errors.contains("did you mean `fax`?"),
            "{errors}"
        );
    }

    #[test]
    fn a_reason_is_required_and_a_todo_is_no_reason() {
        let model = format!("{HEAD}    columns: {{name: a.\"Name\"}}\ndrop:\n  audit_trail: 'TODO: why V2 does not need table audit_trail'\n  Account:\n    fax:\n");
        let errors = compile(&model).unwrap_err();
        assert!(
            errors.contains("drop: the reason for dropping `v1.audit_trail` is still a TODO"),
            "{errors}"
        );
        assert!(
            errors.contains("drop: `v1.\"Account\".fax` has no reason"),
            "{errors}"
        );
    }
}

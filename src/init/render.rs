//! The draft as YAML text: deterministic bytes, comments where a reviewer must look.

use std::fmt::Write;

use crate::catalog::quote_ident;

use super::draft::{todo_ident, Draft, Key, Step};
use super::matching::How;

/// A YAML scalar: plain when YAML reads it back as the same string, else double-quoted.
/// `flow`: inside `[…]` or `{…}`, where `,[]{}` end a plain scalar.
pub fn scalar(s: &str, flow: bool) -> String {
    let first = s.chars().next();
    let special_start =
        first.is_none_or(|c| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace());
    let plain = !special_start
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.ends_with(char::is_whitespace)
        && !s.contains(['\n', '\t', '"'])
        && !(flow && s.contains([',', '[', ']', '{', '}']))
        && !matches!(
            s.to_lowercase().as_str(),
            "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off"
        );
    if plain {
        return s.to_string();
    }
    if !s.contains(['\'', '\n', '\t']) {
        return format!("'{s}'");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Wraps a list into comment lines of at most ~100 characters.
fn comment_list(out: &mut String, indent: &str, label: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let mut line = format!("{indent}# {label}: ");
    let start = line.len();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item}, ")
        } else {
            item.clone()
        };
        if line.len() > start && line.len() + piece.len() > 100 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = format!("{indent}#   ");
        }
        line.push_str(&piece);
    }
    out.push_str(&line);
    out.push('\n');
}

pub fn render(d: &Draft, name: &str, v1_label: &str, v2_label: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft model written by `pgmig init` from {v1_label} (V1) and {v2_label} (V2)."
    );
    out.push_str(
        "# Review every line. A TODO is a question pgmig could not answer: it fails compilation\n\
         # until answered. Same-named columns of a type PostgreSQL assigns are copied implicitly;\n\
         # each step names them in a comment and lists in `columns` only what is renamed,\n\
         # converted, defaulted or missing.\n",
    );
    let _ = writeln!(out, "name: {}", scalar(name, false));
    match &d.source_server {
        Some(server) => writeln!(
            out,
            "source: {{ server: {}, schema: {} }}",
            scalar(server, true),
            scalar(&d.source_schema, true)
        ),
        None => writeln!(
            out,
            "source: {{ schema: {} }}",
            scalar(&d.source_schema, true)
        ),
    }
    .ok();
    let _ = writeln!(
        out,
        "target: {{ schema: {} }}",
        scalar(&d.target_schema, true)
    );
    if !d.zone_dependent.is_empty() {
        out.push_str(
            "# The zone V1's timestamps without time zone are in: UTC is assumed, write yours.\n",
        );
        // Names from the catalogs, escaped: a line break in one must not end the comment.
        let columns: Vec<String> = d
            .zone_dependent
            .iter()
            .map(|c| c.escape_debug().to_string())
            .collect();
        comment_list(&mut out, "", "converted at it", &columns);
        out.push_str("timezone: UTC\n");
    }
    out.push_str("\ntables:\n");
    for (i, step) in d.steps.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_step(&mut out, step);
    }
    if !d.secrets.is_empty() {
        out.push_str("\n# V1 columns whose names look secret: rejects, archives and precheck show them as \"[redacted]\".\n");
        out.push_str("redact:\n");
        for (t, cols) in &d.secrets {
            let cols: Vec<String> = cols.iter().map(|c| scalar(c, true)).collect();
            let _ = writeln!(out, "  {}: [{}]", scalar(t, false), cols.join(", "));
        }
    }
    if !d.dropped_tables.is_empty() || !d.dropped_columns.is_empty() {
        out.push_str(
            "\n# V1 data no step above reads. Say why V2 doesn't need it (PLAN.md shows the reasons), or\n\
             # read it in a step and remove it here: a TODO reason fails compilation until answered.\n",
        );
        out.push_str("drop:\n");
        for t in &d.dropped_tables {
            let _ = writeln!(
                out,
                "  {}: {}",
                scalar(t, false),
                scalar(&format!("TODO: why V2 does not need table {t}"), false)
            );
        }
        for (t, cols) in &d.dropped_columns {
            let _ = writeln!(out, "  {}:", scalar(t, false));
            for c in cols {
                let _ = writeln!(
                    out,
                    "    {}: {}",
                    scalar(c, false),
                    scalar(&format!("TODO: why V2 does not need {t}.{c}"), false)
                );
            }
        }
    }
    out
}

fn render_step(out: &mut String, s: &Step) {
    let ind = "    ";
    match &s.source {
        Some((v1, how)) => {
            let from = format!("{} {}", quote_ident(v1), s.alias);
            let why = match how {
                How::Same => String::new(),
                How::Normalized => format!("  # V1 {v1}: same name, other spelling"),
                How::Similar(score) => format!("  # V1 {v1}: renamed? similarity {score:.2}"),
            };
            let _ = writeln!(out, "  {}:", scalar(&s.table, false));
            let _ = writeln!(out, "{ind}from: {}{why}", scalar(&from, false));
        }
        None => {
            let _ = writeln!(out, "  # TODO: no V1 table matches {}: write its FROM clause, or delete this step to leave it empty.", s.table);
            let _ = writeln!(out, "  {}:", scalar(&s.table, false));
            let _ = writeln!(
                out,
                "{ind}from: {}",
                scalar(
                    &format!("{} t", todo_ident(&format!("V1 source of {}", s.table))),
                    false
                )
            );
        }
    }
    match &s.key {
        Key::Keep => {
            let _ = writeln!(out, "{ind}key: keep");
        }
        Key::New { new, by } => {
            let by: Vec<String> = by.iter().map(|b| scalar(b, true)).collect();
            let _ = writeln!(
                out,
                "{ind}key: {{ new: {}, by: [{}] }}",
                scalar(new, true),
                by.join(", ")
            );
        }
        Key::Todo(why) => {
            let _ = writeln!(
                out,
                "{ind}key: TODO  # {why}: `keep`, or `{{ new: EXPR, by: [...] }}`"
            );
        }
    }
    comment_list(out, ind, "copied by name", &s.copied);
    comment_list(
        out,
        ind,
        "left to V2 (default, identity or NULL)",
        &s.left_to_v2,
    );
    comment_list(out, ind, "generated, computed by PostgreSQL", &s.skipped);
    comment_list(
        out,
        ind,
        "partitions, PostgreSQL routes the rows",
        &s.partitions,
    );
    for n in &s.notes {
        let _ = writeln!(out, "{ind}# {n}");
    }
    if s.columns.is_empty() {
        return;
    }
    let _ = writeln!(out, "{ind}columns:");
    let lines: Vec<(String, Option<&String>)> = s
        .columns
        .iter()
        .map(|c| {
            (
                format!(
                    "{ind}  {}: {}",
                    scalar(&c.name, false),
                    scalar(&c.expr, false)
                ),
                c.comment.as_ref(),
            )
        })
        .collect();
    let width = lines
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (line, comment) in lines {
        match comment {
            Some(c) => {
                let pad = width - line.chars().count();
                let _ = writeln!(out, "{line}{}  # {c}", " ".repeat(pad));
            }
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scalar;

    #[test]
    fn scalars_read_back_as_written() {
        assert_eq!(
            scalar("coalesce(p.goal, 'x'::text)", false),
            "coalesce(p.goal, 'x'::text)"
        );
        assert_eq!(scalar("p.a, p.b", true), "'p.a, p.b'");
        assert_eq!(scalar("\"TODO: x\"", false), "'\"TODO: x\"'");
        assert_eq!(scalar("'x': y", false), "\"'x': y\"");
        assert_eq!(scalar("true", false), "'true'");
        assert_eq!(scalar("", false), "''");
    }
}

//! `relink_json`: references inside a json/jsonb array column rewritten to V2 keys, set-based.
//!
//! Each element's object under `object` names a V2 row by one of its fields; the column's
//! expression becomes one SELECT over the array's elements joined to that V2 table (no
//! per-row loop), writing the row's primary key first in the object and dropping the old
//! fields. A source row with an object that names no V2 row is rejected, with the names.

use crate::catalog::{quote_ident, Catalog, QualName, Table};
use crate::diagnostic::Diagnostic;
use crate::model::{pos_of, RelinkJson};
use crate::plan::{ColumnMap, Reject, Relink, Sql};
use crate::sql_text::quote_literal as lit;

/// Rewrites the columns the rules name; returns the rejects they add and what precheck counts.
pub fn apply(
    rules: &[RelinkJson],
    table: &Table,
    columns: &mut [ColumnMap],
    v2: &Catalog,
    schema: &str,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<Reject>, Vec<Relink>) {
    let mut rejects = Vec::new();
    let mut relinks = Vec::new();
    for rule in rules {
        let name = rule.column.as_str();
        let line = pos_of(&rule.column).map_or(0, |p| p.line);
        let Some(column) = columns.iter_mut().find(|c| c.name == name) else {
            let what = if table.column(name).is_some() {
                "this step does not fill it"
            } else {
                "V2 has no such column"
            };
            errors.push(Diagnostic::error(
                format!("relink_json: `{}.{name}`: {what}", table.name.name),
                pos_of(&rule.column),
            ));
            continue;
        };
        let json = match column.target_type.as_str() {
            "json" => true,
            "jsonb" => false,
            other => {
                errors.push(Diagnostic::error(
                    format!(
                        "relink_json: `{}.{name}` is {other}, not json or jsonb",
                        table.name.name
                    ),
                    pos_of(&rule.column),
                ));
                continue;
            }
        };
        let Some((t, c)) = rule.to.split_once('.') else {
            errors.push(Diagnostic::error(
                "relink_json: `to` is `table.column` of V2",
                pos_of(&rule.to),
            ));
            continue;
        };
        let target_name = QualName::new(schema, t.trim());
        let Some(target) = v2.table(&target_name) else {
            errors.push(Diagnostic::error(
                format!("relink_json: table `{target_name}` does not exist in V2"),
                pos_of(&rule.to),
            ));
            continue;
        };
        let match_column = c.trim().to_string();
        if target.column(&match_column).is_none() {
            errors.push(Diagnostic::error(format!("relink_json: column `{match_column}` does not exist in V2 table `{target_name}`"), pos_of(&rule.to)));
            continue;
        }
        let unique = target
            .primary_key
            .iter()
            .chain(&target.uniques)
            .any(|k| k.columns == [match_column.clone()]);
        let pk = target
            .primary_key
            .as_ref()
            .map(|k| k.columns.clone())
            .unwrap_or_default();
        if !unique || pk.len() != 1 {
            errors.push(
                Diagnostic::error(format!("relink_json: `{target_name}.{match_column}` must be UNIQUE, and the table's primary key one column"), pos_of(&rule.to))
                    .with_hint("an object must name exactly one V2 row, whose key is written"),
            );
            continue;
        }
        let source = format!("({})::jsonb", column.expr);
        let (obj, field, write) = (
            lit(rule.object.as_str()),
            lit(rule.match_field.as_str()),
            rule.write.as_str(),
        );
        let removed: String = std::iter::once(write)
            .chain(rule.drop.iter().map(|d| d.as_str()))
            .map(|k| format!(" - {}", lit(k)))
            .collect();
        let key = format!("r.{}", quote_ident(&pk[0]));
        let rest_of = |e: &str| {
            format!(
                "CASE WHEN ({e}) = '{{}}'::jsonb THEN '}}' ELSE ', ' || substr(({e})::text, 2) END"
            )
        };
        let element = if json {
            // json keeps key order: the object is spelled with the key first.
            let object = format!(
                "{} || to_json({key})::text || {}",
                lit(&json_object_start(write)),
                rest_of(&format!("(x.e -> {obj}){removed}"))
            );
            format!(
                "({} || {object} || {})::json",
                lit(&json_object_start(rule.object.as_str())),
                rest_of(&format!("x.e - {obj}"))
            )
        } else {
            format!("jsonb_set(x.e, ARRAY[{obj}], jsonb_build_object({}, {key}) || ((x.e -> {obj}){removed}))", lit(write))
        };
        let (agg, plain, empty) = if json {
            ("json_agg", "x.e::json", "'[]'::json")
        } else {
            ("jsonb_agg", "x.e", "'[]'::jsonb")
        };
        let holds = format!("jsonb_typeof(x.e -> {obj}) = 'object'");
        let join = format!(
            "{target_name} AS r ON r.{} = x.e -> {obj} ->> {field}",
            quote_ident(&match_column)
        );
        column.expr = format!(
            "CASE WHEN {source} IS NULL THEN NULL ELSE (SELECT coalesce({agg}(CASE WHEN {holds} THEN {element} ELSE {plain} END ORDER BY x.i), {empty}) FROM jsonb_array_elements({source}) WITH ORDINALITY AS x (e, i) LEFT JOIN {join}) END"
        );
        column.literal = false;
        column.origin = crate::plan::Origin::Model(line);
        let unmatched = format!(
            "FROM jsonb_array_elements({source}) AS x (e) WHERE {holds} AND NOT EXISTS (SELECT 1 FROM {target_name} AS r WHERE r.{} = x.e -> {obj} ->> {field})",
            quote_ident(&match_column)
        );
        rejects.push(Reject {
            when: Sql { sql: format!("EXISTS (SELECT 1 {unmatched})"), line },
            reason: format!("relink_json {name}: an object names no {target_name} row by {match_column}"),
            reason_sql: Some(format!(
                "{} || (SELECT string_agg(DISTINCT coalesce(quote_literal(x.e -> {obj} ->> {field}), 'NULL'), ', ') {unmatched})",
                lit(&format!("relink_json {name}: no {target_name} row has {match_column} = "))
            )),
        });
        relinks.push(Relink {
            line,
            column: name.to_string(),
            object: rule.object.to_string(),
            source,
        });
    }
    (rejects, relinks)
}

/// `{"key": `, the start of a JSON object whose first member is `key`, as JSON text: the key
/// is a JSON string (serde_json escapes it in JSON's language); the SQL literal around it is
/// the toolkit's ([`lit`]).
fn json_object_start(key: &str) -> String {
    format!("{{{}: ", serde_json::Value::from(key))
}

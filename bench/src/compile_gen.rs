//! A generated model for the compile-time target: `tables` tables of `columns` columns in
//! V1 and in V2 (a foreign key from every table but the first to table i/2, so the load
//! order is a real tree), and a model with one step per table: an implicit copy of most
//! columns, one renamed column, a `where` on every third table, a reject rule on every
//! fifth.

use std::fmt::Write;
use std::path::Path;

const TYPES: &[&str] = &[
    "text",
    "integer",
    "numeric(10,2)",
    "timestamptz",
    "boolean",
    "varchar(40)",
    "date",
    "bigint",
];

fn ty(c: usize) -> &'static str {
    TYPES[(c - 3) % TYPES.len()]
}

/// Writes v1.sql, v2.sql and model.yaml into `dir`.
pub fn write(dir: &Path, tables: usize, columns: usize) -> std::io::Result<()> {
    assert!(columns >= 4, "at least id, parent_id and two data columns");
    let (mut v1, mut v2, mut model) = (String::new(), String::new(), String::new());
    model
        .push_str("name: generated\nsource: { schema: v1 }\ntarget: { schema: public }\ntables:\n");
    for t in 1..=tables {
        for (sql, is_v2) in [(&mut v1, false), (&mut v2, true)] {
            writeln!(sql, "CREATE TABLE t{t:04} (").unwrap();
            writeln!(sql, "    id bigint PRIMARY KEY,").unwrap();
            if t > 1 && is_v2 {
                writeln!(sql, "    parent_id bigint REFERENCES t{:04} (id),", t / 2).unwrap();
            } else {
                writeln!(sql, "    parent_id bigint,").unwrap();
            }
            for c in 3..=columns {
                // V2 renames column 3 (text) to c03_label.
                let name = if c == 3 && is_v2 {
                    "c03_label".to_string()
                } else {
                    format!("c{c:02}")
                };
                let sep = if c == columns { "" } else { "," };
                writeln!(sql, "    {name} {}{sep}", ty(c)).unwrap();
            }
            sql.push_str(");\n\n");
        }
        writeln!(model, "  t{t:04}:").unwrap();
        writeln!(model, "    from: t{t:04} s").unwrap();
        if t % 3 == 0 {
            writeln!(model, "    where: s.c04 IS NOT NULL").unwrap();
        }
        if t % 5 == 0 {
            writeln!(
                model,
                "    reject:\n      - when: s.c04 < 0\n        reason: negative c04"
            )
            .unwrap();
        }
        writeln!(model, "    key: keep").unwrap();
        writeln!(model, "    columns:\n      c03_label: upper(s.c03)").unwrap();
    }
    std::fs::write(dir.join("v1.sql"), v1)?;
    std::fs::write(dir.join("v2.sql"), v2)?;
    std::fs::write(dir.join("model.yaml"), model)?;
    Ok(())
}

//! The names of the files export.sql writes: one per step (the V2 rows it created) and one
//! per V1 table read. psql's `\copy` writes where the name says, so a name is built from the
//! model's and schemas' names only through a safe alphabet (lowercase ASCII letters, digits,
//! `_`, `-`): no path, no quote. A name that had to change (another character, an upper-case
//! letter) gets a hash of the original, so `Users` and `users` don't share a file on a
//! case-insensitive file system; plain names are kept as they are.

use std::collections::BTreeSet;

use crate::check::names::fnv1a;

/// The file of each step (in order), of each V1 table (`(schema, table)`, in order), and of
/// each text archive's rows (by its directory, a plain word already).
pub fn export_files(
    steps: &[&str],
    v1_tables: &[(&str, &str)],
    archives: &[&str],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut taken: BTreeSet<String> = BTreeSet::from(["rejects.csv".to_string()]);
    let mut unique = |file: String, original: &str| {
        let file = if taken.contains(&file) {
            format!(
                "{}-{:08x}.csv",
                file.trim_end_matches(".csv"),
                fnv1a(original.as_bytes()) as u32
            )
        } else {
            file
        };
        taken.insert(file.clone());
        file
    };
    let step_files = steps
        .iter()
        .map(|s| unique(format!("{}.v2.csv", stem(s)), &format!("step {s}")))
        .collect();
    let table_files = v1_tables
        .iter()
        .map(|(schema, table)| {
            unique(
                format!("{}.{}.csv", stem(schema), stem(table)),
                &format!("table {schema}.{table}"),
            )
        })
        .collect();
    let archive_files = archives
        .iter()
        .map(|d| unique(format!("archive.{}.csv", stem(d)), &format!("archive {d}")))
        .collect();
    (step_files, table_files, archive_files)
}

/// `name` if it is already safe, else its safe form and a hash of it (also the names of the
/// text archives' files, which come from data).
pub fn stem(name: &str) -> String {
    let safe = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if !name.is_empty() && !name.starts_with('-') && name.chars().all(safe) {
        return name.to_string();
    }
    let slug: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if safe(c) { c } else { '_' })
        .collect();
    format!("{slug}-{:08x}", fnv1a(name.as_bytes()) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_distinct_and_plain_ones_kept() {
        let (steps, tables, archives) = export_files(
            &["users", "Users", "../../x", "x"],
            &[
                ("v1", "users"),
                ("v1", "USERS"),
                ("x", "v2"),
                ("archive", "users"),
            ],
            &["users"],
        );
        insta::assert_debug_snapshot!((steps, tables, archives), @r#"
        (
            [
                "users.v2.csv",
                "users-eca2da93.v2.csv",
                "______x-190c67fd.v2.csv",
                "x.v2.csv",
            ],
            [
                "v1.users.csv",
                "v1.users-351d1cd3.csv",
                "x.v2-22889d57.csv",
                "archive.users.csv",
            ],
            [
                "archive.users-42f207ad.csv",
            ],
        )
        "#);
    }
}

//! `pgmig export`'s text archives: after export.sql has written each `archives:` query's rows
//! (`archive.<dir>.csv`: file, text), they become a directory of text files, the layout of
//! the ThyWill guide's `migrate_text_archives`:
//!
//! 1. `--v1-archive DIR` is copied first into the archives' directory (the guide's
//!    `copytree(text_archives, text_archives_v2)`): directories and regular files only, a
//!    symbolic link or any other kind of file is refused (it could point anywhere).
//! 2. Per query, one file `<dir>/<entry>/<name>.txt` per value of `file`: the texts of its
//!    rows, in the query's order, one after the other. The name comes from data, so it is
//!    made safe as export's file names are ([`stem`]: lowercase ASCII letters, digits, `_`,
//!    `-`; anything else changed and a hash of the value added): never a path. Two values
//!    made the same name are refused before anything is written. A file the V1 archive
//!    already has is kept as it was (the guide creates only missing archives).
//!
//! Which CSV goes where is read from export.sql's `-- pgmig archive: CSV -> DIR/ENTRY/`
//! lines, and every part of those lines is checked again as a plain word.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::check::archives::plain_word;
use crate::emit::export_files::stem;

const MARKER: &str = "-- pgmig archive: ";

/// What was written: per archive entry, its directory and the files made and kept.
#[derive(Debug, Default)]
pub struct Written {
    pub copied: usize,
    pub entries: Vec<(String, usize, usize)>,
}

/// Writes the text archives export.sql (`script`) describes into `to`, whose CSVs it has
/// just written.
pub fn write_archives(
    script: &str,
    to: &Path,
    v1_archive: Option<&Path>,
) -> Result<Written, String> {
    let entries = manifest(script)?;
    let mut written = Written::default();
    let v1_root = match v1_archive {
        Some(src) => Some((
            src,
            entries
                .first()
                .map(|(_, root, _)| root.clone())
                .ok_or("--v1-archive: the model has no `archives:`, nowhere to copy it")?,
        )),
        None => None,
    };
    // Every CSV is read and checked before any file is written.
    let mut archives = Vec::new();
    for (csv, root, entry) in entries {
        let path = to.join(&csv);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let rows = parse_csv(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if rows.first().map(|h| {
            h.iter()
                .map(|f| f.as_deref().unwrap_or(""))
                .collect::<Vec<_>>()
        }) != Some(vec!["file", "text"])
        {
            return Err(format!("{}: the header is not `file,text`", path.display()));
        }
        // The file's name, the value it was made from, and its texts.
        let mut files: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate().skip(1) {
            let name = match row.first() {
                Some(Some(n)) if !n.is_empty() => n,
                _ => return Err(format!("{}: row {i} has no file name", path.display())),
            };
            let body = row.get(1).cloned().flatten().unwrap_or_default();
            let (made_from, texts) = files
                .entry(format!("{}.txt", stem(name)))
                .or_insert((name.clone(), String::new()));
            // Two values made safe the same way (a plain value can be another's safe form
            // and hash): their texts must not end up in one file.
            if made_from != name {
                return Err(format!(
                    "{}: row {i}: the file names {:?} and {:?} would both be written as {}/{entry}/{}.txt; no archive was written",
                    path.display(),
                    made_from,
                    name,
                    root,
                    stem(name)
                ));
            }
            texts.push_str(&body);
        }
        archives.push((root, entry, files));
    }
    if let Some((src, root)) = v1_root {
        written.copied = copy_tree(src, &to.join(root))?;
    }
    for (root, entry, files) in archives {
        let dir = to.join(&root).join(&entry);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (mut made, mut kept) = (0, 0);
        for (name, (_, body)) in files {
            let file = dir.join(&name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)
            {
                Ok(mut f) => {
                    std::io::Write::write_all(&mut f, body.as_bytes())
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    made += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => kept += 1,
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
        }
        written
            .entries
            .push((format!("{root}/{entry}"), made, kept));
    }
    Ok(written)
}

/// export.sql's archive lines: (CSV, directory, entry), all plain words.
fn manifest(script: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut entries = Vec::new();
    for line in script.lines().filter_map(|l| l.strip_prefix(MARKER)) {
        let parsed = line.split_once(" -> ").and_then(|(csv, rest)| {
            let (path, _) = rest
                .split_once("/ ")
                .unwrap_or((rest.trim_end_matches('/'), ""));
            let (root, entry) = path.split_once('/')?;
            let csv_ok = csv
                .strip_prefix("archive.")
                .and_then(|c| c.strip_suffix(".csv"))
                .is_some_and(plain_word);
            (csv_ok && plain_word(root) && plain_word(entry))
                .then(|| (csv.to_string(), root.to_string(), entry.to_string()))
        });
        entries.push(parsed.ok_or_else(|| {
            format!("export.sql: not an archive line pgmig writes: {MARKER}{line}")
        })?);
    }
    Ok(entries)
}

/// Copies directories and regular files; refuses anything else. Returns the files copied.
fn copy_tree(src: &Path, dest: &Path) -> Result<usize, String> {
    let meta = std::fs::symlink_metadata(src)
        .map_err(|e| format!("--v1-archive {}: {e}", src.display()))?;
    if !meta.is_dir() {
        return Err(format!("--v1-archive {}: not a directory", src.display()));
    }
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", src.display()))?;
    names.sort();
    let mut copied = 0;
    for path in names {
        let name = path.file_name().expect("read_dir entries have names");
        let kind = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .file_type();
        if kind.is_dir() {
            copied += copy_tree(&path, &dest.join(name))?;
        } else if kind.is_file() {
            std::fs::copy(&path, dest.join(name))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            copied += 1;
        } else {
            return Err(format!(
                "--v1-archive: {} is not a regular file or directory (a link is not followed)",
                path.display()
            ));
        }
    }
    Ok(copied)
}

/// PostgreSQL's CSV (RFC 4180): fields quoted with `"` where needed, `""` inside quotes,
/// line breaks inside quotes kept. An unquoted empty field is NULL (`None`).
fn parse_csv(text: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let field = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => value.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            Some(value)
        } else {
            let mut value = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' || c == '\n' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            (!value.is_empty()).then_some(value)
        };
        row.push(field);
        match chars.next() {
            Some(',') => {}
            Some('\n') | None => rows.push(std::mem::take(&mut row)),
            Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_line_breaks_and_nulls() {
        let rows = parse_csv("file,text\na,\"x,\"\"y\"\"\nz\"\nb,\n\"\",\"\"\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Some("file".into()), Some("text".into())],
                vec![Some("a".into()), Some("x,\"y\"\nz".into())],
                vec![Some("b".into()), None],
                vec![Some(String::new()), Some(String::new())],
            ]
        );
        assert!(parse_csv("a,\"open\n").is_err());
    }

    #[test]
    fn names_from_data_stay_inside_and_v1_files_are_kept() {
        let to = tempfile::tempdir().unwrap();
        let script = format!("{MARKER}archive.users.csv -> arch/users/ (model line 1)\n");
        std::fs::write(
            to.path().join("archive.users.csv"),
            "file,text\n../../evil,\"a\n\"\n/etc/passwd,b\nkept,new\n../../evil,\"c\n\"\n",
        )
        .unwrap();
        let v1 = tempfile::tempdir().unwrap();
        std::fs::create_dir(v1.path().join("users")).unwrap();
        std::fs::write(v1.path().join("users/kept.txt"), "old").unwrap();
        let written = write_archives(&script, to.path(), Some(v1.path())).unwrap();
        assert_eq!(
            (written.copied, written.entries),
            (1, vec![("arch/users".to_string(), 2, 1)])
        );
        let mut names: Vec<String> = std::fs::read_dir(to.path().join("arch/users"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("{}.txt", stem("../../evil")),
                format!("{}.txt", stem("/etc/passwd")),
                "kept.txt".to_string()
            ]
        );
        assert!(
            names
                .iter()
                .all(|n| !n.contains('/') && !n.starts_with('.')),
            "{names:?}"
        );
        assert_eq!(
            std::fs::read_to_string(
                to.path()
                    .join("arch/users")
                    .join(format!("{}.txt", stem("../../evil")))
            )
            .unwrap(),
            "a\nc\n",
            "rows in order"
        );
        assert_eq!(
            std::fs::read_to_string(to.path().join("arch/users/kept.txt")).unwrap(),
            "old",
            "a V1 file is kept"
        );
    }

    /// A plain value can be another value's safe form and hash (`alice-9f15d167` is `Alice`'s,
    /// which anyone can compute): the two rows' texts went into one file, Alice's diary and
    /// the other user's together (found by a hostile review). Such names are refused, before
    /// anything is written.
    #[test]
    fn two_names_made_safe_the_same_way_are_refused_and_nothing_is_written() {
        let to = tempfile::tempdir().unwrap();
        let script = format!("{MARKER}archive.diaries.csv -> arch/diaries/ (model line 1)\n");
        let disguised = stem("Alice");
        assert_ne!(disguised, "Alice");
        std::fs::write(
            to.path().join("archive.diaries.csv"),
            format!("file,text\nAlice,private\n{disguised},other\n"),
        )
        .unwrap();
        let v1 = tempfile::tempdir().unwrap();
        std::fs::write(v1.path().join("old.txt"), "old").unwrap();
        let refused = write_archives(&script, to.path(), Some(v1.path())).unwrap_err();
        assert!(
            refused.contains(&format!(
                "row 2: the file names \"Alice\" and \"{disguised}\" would both be written as arch/diaries/{disguised}.txt; no archive was written"
            )),
            "{refused}"
        );
        assert!(!to.path().join("arch").exists(), "an archive was written");
    }

    #[test]
    fn manifest_takes_only_plain_words() {
        let ok = manifest(
            "-- pgmig archive: archive.users.csv -> text_archives_v2/users/ (model line 3)\n",
        )
        .unwrap();
        assert_eq!(
            ok,
            vec![(
                "archive.users.csv".into(),
                "text_archives_v2".into(),
                "users".into()
            )]
        );
        for bad in [
            "archive.users.csv -> ../x/users/",
            "../../etc.csv -> a/b/",
            "archive.u.csv -> a/b/c/",
            "archive.u.csv -> /a/b/",
        ] {
            assert!(manifest(&format!("{MARKER}{bad}\n")).is_err(), "{bad}");
        }
    }
}

//! README.md is a test: every ```console block in it runs, in order, as a user's shell would
//! run it from a clone, against the throwaway cluster, and what each command prints (stdout
//! and stderr, as a terminal shows them) must match what README shows; `[..]` in a line and
//! `...` as a line stand for what varies (times, rates, samples). Change README and this test
//! shows the difference; change the CLI and README must follow.
//!
//! Run by trycmd (snapbox's harness for literate CLI tests, as cargo and clap use for their
//! own docs): it reads the Markdown itself, so README stays the one copy of the walkthrough.
//!
//! trycmd skips, silently, a command whose program it does not know, and reads a fenced block
//! with no language as commands: so before running, this test checks that every program
//! README's console blocks call is one it provides, that every fence names its language, and
//! that the shell blocks it does not run are the few listed below, each with its reason.

use std::path::Path;

use crate::support::{cluster, repo_root};

/// Commands README shows in ```sh blocks, not run here, by their first words.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    ("cargo install --path .", "builds the binary this test runs"),
    ("cargo test", "runs this test"),
    (
        "cargo build --release",
        "a release build: minutes and a second target/",
    ),
    (
        "./target/release/pgmig-bench",
        "a benchmark: minutes to hours, its own cluster",
    ),
];

/// Copies a directory tree (regular files and folders).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// README's fenced blocks: (line of the opening fence, info string, lines inside).
fn fenced_blocks(text: &str) -> Vec<(usize, String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &mut open {
            None if ticks >= 3 => {
                let (fence, info) = line.split_at(ticks);
                open = Some((
                    i + 1,
                    fence.to_string(),
                    info.trim().to_string(),
                    Vec::new(),
                ));
            }
            Some((start, fence, info, lines)) => {
                if line.starts_with(fence.as_str()) && line.trim_start_matches('`').is_empty() {
                    blocks.push((*start, std::mem::take(info), std::mem::take(lines)));
                    open = None;
                } else {
                    lines.push(line.to_string());
                }
            }
            None => {}
        }
    }
    assert!(open.is_none(), "README ends inside a fenced block");
    blocks
}

/// The program a console command runs: its first word after `NAME=value` assignments.
fn program(command: &str) -> &str {
    command
        .split_whitespace()
        .find(|word| !word.contains('='))
        .unwrap_or("")
}

#[test]
fn readme_runs_as_written() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let c = cluster();
    let bin_dir = c.bin_dir();
    let pgmig = Path::new(env!("CARGO_BIN_EXE_pgmig"));

    // The scratch folder stands for a fresh clone: README's commands read `models/` and write
    // only under `try/`, never into the repository's committed out/.
    let scratch = tempfile::tempdir().unwrap();
    let readme_copy = scratch.path().join("README.md");
    std::fs::copy(root.join("README.md"), &readme_copy).unwrap();
    let clone = scratch.path().join("README.in");
    copy_tree(&root.join("models"), &clone.join("models"));

    let programs: Vec<(&str, std::path::PathBuf)> = vec![
        ("pgmig", pgmig.to_path_buf()),
        ("psql", bin_dir.join("psql")),
        ("createdb", bin_dir.join("createdb")),
        ("cp", "/usr/bin/cp".into()),
        ("sed", "/usr/bin/sed".into()),
        (
            "models/thywill/build.sh",
            clone.join("models/thywill/build.sh"),
        ),
    ];

    let mut commands = 0;
    for (line, info, lines) in fenced_blocks(&readme) {
        let language = info.split(',').next().unwrap_or("");
        assert!(
            !language.is_empty(),
            "README.md:{line}: a fence without a language would be run as commands; name it (text, yaml, sql, console…)"
        );
        match language {
            "console" => {
                for command in lines.iter().filter_map(|l| l.strip_prefix("$ ")) {
                    commands += 1;
                    assert!(
                        programs.iter().any(|(name, _)| *name == program(command)),
                        "README.md:{line}: `{command}` runs {:?}, which this test does not provide (trycmd would skip it silently)",
                        program(command)
                    );
                }
            }
            "sh" | "bash" | "shell" => {
                for command in lines
                    .iter()
                    .map(|l| l.trim())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                {
                    assert!(
                        NOT_RUN_HERE
                            .iter()
                            .any(|(prefix, _)| command.starts_with(prefix)),
                        "README.md:{line}: `{command}` is in a ```{language} block, which this test does not run: make it a ```console block with its output"
                    );
                }
            }
            _ => {}
        }
    }
    assert!(
        commands >= 20,
        "README's walkthrough has {commands} commands"
    );

    let path = format!(
        "{}:{}:/usr/bin:/bin",
        pgmig.parent().unwrap().display(),
        bin_dir.display()
    );
    let cases = trycmd::TestCases::new();
    cases
        .case(&readme_copy)
        .env("PGHOST", c.socket_dir().display().to_string())
        .env("PGPORT", c.port().to_string())
        .env("PGUSER", "postgres")
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(300));
    for (name, path) in programs {
        cases.register_bin(name, path);
    }
    // `TRYCMD=overwrite` rewrites the outputs README shows with what the commands printed
    // (trycmd keeps `[..]` and `...` where they match): it writes into the scratch copy, which
    // is copied back over README.md at the end, pass or fail, for review with `git diff`.
    let _copy_back = CopyBack {
        enabled: std::env::var("TRYCMD").is_ok_and(|v| v == "overwrite"),
        from: readme_copy.clone(),
        to: root.join("README.md"),
    };
    cases.run();
}

/// Copies `from` over `to` when dropped, if `enabled`.
struct CopyBack {
    enabled: bool,
    from: std::path::PathBuf,
    to: std::path::PathBuf,
}

impl Drop for CopyBack {
    fn drop(&mut self) {
        if self.enabled {
            std::fs::copy(&self.from, &self.to).unwrap();
        }
    }
}

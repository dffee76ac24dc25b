//! The bench's command line, before any work: its help, and bad options refused.

/// The help as the user reads it: flags with descriptions, exit codes. A change shows here.
#[test]
fn help_text() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig-bench"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("help", String::from_utf8_lossy(&out.stdout));
}

/// Bad bench options are refused before any cluster starts: exit 2, and what was wrong.
#[test]
fn bench_refuses_unknown_models_and_bad_flags() {
    for (args, needle) in [
        (
            &["--models", "drills"][..],
            "`drills` is not a model the bench scales",
        ),
        (
            &["--compile-model", "lots"][..],
            "--compile-model wants TABLESxCOLUMNS",
        ),
        (&["--set", "work_mem"][..], "--set wants NAME=VALUE"),
        (
            &["--estimate", "uuid:10"][..],
            "--estimate wants MODEL:SCALE with a model among workout, school",
        ),
        (
            &["--estimate", "workout:0"][..],
            "and a scale above 0, not `workout:0`",
        ),
        (
            &["--pgmig", "/nonexistent/pgmig", "--scales", "x"][..],
            "invalid value 'x' for '--scales",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgmig-bench"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("starting a PostgreSQL cluster"),
            "{args:?}: refused before any work: {stderr}"
        );
    }
}

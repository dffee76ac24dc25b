//! `pgmig-bench` smoke run: the smallest scale, one run, every contender. No timing is
//! asserted; only that the benchmark works end to end and that pgmig, the floor, the
//! row-by-row PL/pgSQL loop and the row-by-row client all produce the same V2 content.

use crate::support::repo_root;
use pgmig_bench as bench;

#[test]
#[ignore = "slow tier: run with --include-ignored (.ci/run does)"]
fn bench_smallest_scale_all_contenders_agree() {
    let work = tempfile::tempdir().unwrap();
    let mut opts = bench::Options::new(env!("CARGO_BIN_EXE_pgmig").into(), &repo_root());
    opts.scales = vec![1];
    opts.runs = 1;
    opts.client_max_scale = 1;
    opts.plpgsql_max_scale = 1;
    let results = tempfile::tempdir().unwrap();
    opts.out_dir = Some(results.path().to_path_buf());
    opts.compile_model = Some((20, 10));
    opts.work_dir = work.path().to_path_buf();
    // A small cluster is enough here (and leaves memory to the other tests).
    opts.settings = vec![
        ("shared_buffers".into(), "128MB".into()),
        ("effective_cache_size".into(), "1GB".into()),
    ];
    if std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
    {
        // the cluster directory must be reachable by the postgres user
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let report = bench::run(&opts).unwrap_or_else(|e| panic!("bench failed: {e}"));

    let scale = &report.scales[0];
    assert_eq!(scale.scale, 1);
    assert_eq!(scale.v1_rows["workout_plans"], 200);
    assert_eq!(scale.v1_rows["exercise_logs"], 5000);
    let reference = &scale.fingerprints[bench::MIGRATE];
    assert_eq!(reference.len(), 6, "{reference:?}");
    assert!(
        reference.iter().all(|(_, n, _)| *n > 0),
        "every V2 table gets rows: {reference:?}"
    );
    for who in [
        bench::FLOOR,
        bench::PLPGSQL,
        bench::CLIENT,
        bench::BATCHED,
        bench::BATCHED_JOBS2,
        bench::DEFERRED,
    ] {
        assert!(scale.fingerprints.contains_key(who), "{who} did not run");
        assert_eq!(
            &scale.fingerprints[who], reference,
            "{who} differs from pgmig"
        );
    }
    assert!(report.all_equal(), "{:?}", scale.mismatches);
    for who in [
        bench::PRECHECK,
        bench::MIGRATE,
        bench::VERIFY,
        bench::ROLLBACK,
        bench::FLOOR,
        bench::PLPGSQL,
        bench::CLIENT,
    ] {
        assert_eq!(scale.series[who].secs.len(), 1, "{who} ran once");
    }
    assert_eq!(scale.pgmig_steps.len(), 6);
    assert_eq!(scale.batched_steps.len(), 6);
    assert_eq!(scale.floor_steps.len(), 6);
    // The other models: school at scale 1 against its copy floor.
    let school = report
        .models
        .iter()
        .find(|m| m.model == "school" && m.scale == 1)
        .expect("school ran at scale 1");
    assert_eq!(
        school.v1_rows, 445,
        "5 schools, 40 teachers, 150 parents, 250 students"
    );
    assert!(
        school.v2_rows > school.v1_rows,
        "users, roles and profiles: {}",
        school.v2_rows
    );
    for who in bench::models::MODEL_ORDER {
        assert_eq!(school.series[*who].secs.len(), 1, "school: {who} ran once");
    }
    let compile = report.compile.as_ref().expect("compile target ran");
    assert_eq!(compile.secs.len(), 3);
    // The chart beside the report: an SVG naming every contender that ran, linked from it.
    let report_path = report.written_to.as_ref().expect("the report is written");
    let chart_path = report
        .chart_written_to
        .as_ref()
        .expect("the chart is written");
    assert_eq!(chart_path, &report_path.with_extension("svg"));
    let svg = std::fs::read_to_string(chart_path).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    for who in bench::ORDER {
        assert!(
            // plotters writes a text element's content on a line of its own.
            svg.lines().any(|l| l.trim() == *who),
            "the chart does not name {who}"
        );
    }
    let chart_name = chart_path.file_name().unwrap().to_string_lossy();
    assert!(
        std::fs::read_to_string(report_path)
            .unwrap()
            .contains(&format!("]({chart_name})")),
        "the report links its chart"
    );
    for needle in [
        "## Scale 1:",
        bench::MIGRATE,
        "migrate ≤ 1.5 × floor",
        "## Model school, scale 1:",
        bench::models::COPY_FLOOR,
        "## Compile",
    ] {
        assert!(
            report.markdown.contains(needle),
            "report lacks {needle:?}:\n{}",
            report.markdown
        );
    }
}

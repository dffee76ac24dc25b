//! `pgmig-bench`: the workout migration against baselines, on a throwaway PostgreSQL cluster.
//!
//! Per scale factor: V1 sample data (`sample.sql -v scale=N`), then `runs` rounds of
//! precheck → migrate → verify → rollback (each through `pgmig run`, a child process whose
//! peak RSS is taken with `/usr/bin/time`), the floor (`bench/sql/floor.sql`: plain
//! INSERT … SELECT), the row-by-row PL/pgSQL loop (`bench/sql/rowloop_plpgsql.sql`) and the
//! row-by-row client ([`rowloop`]), V2 emptied (TRUNCATE) and a CHECKPOINT between
//! contenders. The first round fingerprints every contender's V2 tables
//! (`bench/sql/fingerprint.sql`) and compares them with pgmig's. Medians go into a Markdown
//! report, and an SVG chart of them beside it ([`chart`]). A generated 1,000-table model
//! times `pgmig compile`.

pub mod chart;
pub mod cluster;
pub mod compile_gen;
pub mod estimate_check;
pub mod inplace_series;
pub mod models;
pub mod rowloop;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pgmig_testkit::Cluster;

const FLOOR_SQL: &str = include_str!("../../bench/sql/floor.sql");
const PLPGSQL_SQL: &str = include_str!("../../bench/sql/rowloop_plpgsql.sql");
const FINGERPRINT_SQL: &str = include_str!("../../bench/sql/fingerprint.sql");

const V2_TABLES: &str =
    "public.workout_plans, public.workout_weeks, public.workout_days, public.exercises, public.workout_sessions, public.exercise_logs";
const V1_TABLES: &[&str] = &[
    "workout_plans",
    "exercises",
    "workout_sessions",
    "exercise_logs",
];

pub const PRECHECK: &str = "pgmig precheck";
pub const MIGRATE: &str = "pgmig migrate (transaction)";
pub const BATCHED: &str = "pgmig migrate (batched)";
pub const BATCHED_JOBS2: &str = "pgmig migrate (batched, --jobs 2)";
pub const DEFERRED: &str = "pgmig migrate (transaction, -v defer_constraints=on)";
pub const VERIFY: &str = "pgmig verify";
pub const ROLLBACK: &str = "pgmig rollback";
pub const FLOOR: &str = "floor: INSERT … SELECT";
pub const PLPGSQL: &str = "row-by-row PL/pgSQL";
pub const CLIENT: &str = "row-by-row client";
pub const ORDER: &[&str] = &[
    PRECHECK,
    MIGRATE,
    DEFERRED,
    BATCHED,
    BATCHED_JOBS2,
    VERIFY,
    ROLLBACK,
    FLOOR,
    PLPGSQL,
    CLIENT,
];

#[derive(Debug, Clone)]
pub struct Options {
    pub scales: Vec<u32>,
    pub runs: usize,
    /// Largest scale the row-by-row client runs at (extrapolated above, and said so).
    pub client_max_scale: u32,
    /// Largest scale the row-by-row PL/pgSQL loop runs at.
    pub plpgsql_max_scale: u32,
    /// The `pgmig` binary that runs the scripts and compiles.
    pub pgmig_exe: PathBuf,
    /// models/workout (v1.sql, v2.sql, sample.sql, model.yaml).
    pub model_dir: PathBuf,
    /// models/: the other models, one directory each.
    pub models_dir: PathBuf,
    /// Other models benchmarked at the same scales against a copy floor ([`models`]).
    pub models: Vec<String>,
    /// Largest scale the other models run at (school's bcrypt hashes make big scales long).
    pub models_max_scale: u32,
    /// Compiled scripts (out/workout).
    pub scripts_dir: PathBuf,
    /// Where the report goes (bench/results); None: printed only.
    pub out_dir: Option<PathBuf>,
    pub pg_bin: Option<PathBuf>,
    /// Parent of the cluster directory (/tmp).
    pub work_dir: PathBuf,
    /// Server settings over [`cluster::DEFAULT_SETTINGS`].
    pub settings: Vec<(String, String)>,
    /// Batch size for the batched mode, when the compiler has one.
    pub batch_size: u64,
    /// Generated model for the compile target: (tables, columns per table); None skips it.
    pub compile_model: Option<(usize, usize)>,
    /// Log EXPLAIN ANALYZE of every statement slower than this many ms of one more migrate
    /// and floor run per scale (auto_explain), into the results directory.
    pub explain_ms: Option<u32>,
    /// Scales of the in-place series ([`inplace_series`]); empty skips it.
    pub inplace_scales: Vec<u32>,
    /// PLAN.md's window estimate against real runs ([`estimate_check`]): model and scale of
    /// each case; empty skips it.
    pub estimate: Vec<(String, u32)>,
    pub keep: bool,
}

impl Options {
    pub fn new(pgmig_exe: PathBuf, repo: &Path) -> Options {
        Options {
            scales: vec![1, 10, 100],
            runs: 3,
            client_max_scale: 10,
            plpgsql_max_scale: 100,
            pgmig_exe,
            model_dir: repo.join("models/workout"),
            models_dir: repo.join("models"),
            models: models::SCALABLE.iter().map(|m| m.to_string()).collect(),
            models_max_scale: 10,
            scripts_dir: repo.join("out/workout"),
            out_dir: Some(repo.join("bench/results")),
            pg_bin: None,
            work_dir: std::env::temp_dir(),
            settings: Vec::new(),
            batch_size: 50_000,
            compile_model: Some((1000, 20)),
            explain_ms: None,
            inplace_scales: Vec::new(),
            estimate: Vec::new(),
            keep: false,
        }
    }
}

/// Timings of one contender at one scale, one entry per run.
#[derive(Debug, Default, Clone)]
pub struct Series {
    pub secs: Vec<f64>,
    pub peak_kb: Vec<u64>,
    pub growth_bytes: Vec<i64>,
    /// Why there is no figure ("not available", "above --client-max-scale"…).
    pub note: Option<String>,
}

impl Series {
    pub fn median(&self) -> Option<f64> {
        median(&self.secs)
    }
}

pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

pub type Fingerprint = Vec<(String, i64, String)>;

#[derive(Debug, Default)]
pub struct ScaleResult {
    pub scale: u32,
    pub generate_secs: f64,
    pub v1_rows: BTreeMap<String, i64>,
    pub v1_bytes: i64,
    /// Rows pgmig's migrate put into V2.
    pub v2_rows: i64,
    pub series: BTreeMap<String, Series>,
    /// Per migrate step (first run): step, rows out, pgmig seconds (from _pgmig.log).
    pub pgmig_steps: Vec<(String, i64, f64)>,
    /// Per batched migrate step (first run, one session): step, rows out, seconds (from
    /// _pgmig.log: the step's first call to its last batch's commit).
    pub batched_steps: Vec<(String, i64, f64)>,
    /// Per floor step (first run): step, seconds.
    pub floor_steps: Vec<(String, f64)>,
    pub fingerprints: BTreeMap<String, Fingerprint>,
    /// Contenders whose V2 tables differ from pgmig's (table names and figures).
    pub mismatches: Vec<String>,
}

#[derive(Debug, Default)]
pub struct CompileResult {
    pub tables: usize,
    pub columns: usize,
    pub secs: Vec<f64>,
    pub peak_kb: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub machine: Vec<(String, String)>,
    pub settings: Vec<(String, String)>,
    pub scales: Vec<ScaleResult>,
    /// The other models, per model and scale.
    pub models: Vec<models::ModelResult>,
    pub compile: Option<CompileResult>,
    pub inplace: Vec<inplace_series::InPlacePoint>,
    /// PLAN.md's estimate beside real runs, when asked for.
    pub estimates: Vec<estimate_check::EstimateCase>,
    pub markdown: String,
    pub written_to: Option<PathBuf>,
    /// The chart beside the report (when it was written and a contender has a figure).
    pub chart_written_to: Option<PathBuf>,
}

impl Report {
    /// True when every contender that ran produced pgmig's V2 content.
    pub fn all_equal(&self) -> bool {
        self.scales.iter().all(|s| s.mismatches.is_empty())
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn pg_err(what: &str) -> impl FnOnce(postgres::Error) -> String + '_ {
    move |e| match e.as_db_error() {
        Some(db) => format!(
            "{what}: {}: {}{}",
            db.severity(),
            db.message(),
            db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        None => format!("{what}: {e}"),
    }
}

fn tail(s: &[u8], lines: usize) -> String {
    let s = String::from_utf8_lossy(s);
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Runs `cmd`, timing it; with /usr/bin/time, also its peak RSS in kB.
fn timed(mut cmd: Command, time_file: &Path) -> Result<(f64, Option<u64>), String> {
    let use_time = Path::new("/usr/bin/time").exists();
    let mut run = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"])
            .arg(time_file)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    } else {
        std::mem::replace(&mut cmd, Command::new("true"))
    };
    let started = Instant::now();
    let out = run.output().map_err(err("cannot start"))?;
    let secs = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "{:?} failed ({}):\n{}",
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            tail(&out.stderr, 25)
        ));
    }
    let peak = if use_time {
        std::fs::read_to_string(time_file)
            .ok()
            .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
    } else {
        None
    };
    Ok((secs, peak))
}

struct Bench<'a> {
    opts: &'a Options,
    cluster: Cluster,
    /// Compiled batched-mode scripts, when the compiler has a batched mode.
    batched_dir: Option<PathBuf>,
    batched_note: String,
}

pub fn run(opts: &Options) -> Result<Report, String> {
    let mut report = Report {
        machine: machine_info(),
        ..Report::default()
    };
    let compile = match opts.compile_model {
        Some((t, c)) => Some(compile_bench(opts, t, c)?),
        None => None,
    };
    if !opts.scales.is_empty() || !opts.inplace_scales.is_empty() || !opts.estimate.is_empty() {
        eprintln!(
            "bench: starting a PostgreSQL cluster under {}",
            opts.work_dir.display()
        );
        let cluster = cluster::start(opts)?;
        report.settings = cluster.settings().to_vec();
        let mut pg = cluster
            .connect("postgres")
            .map_err(pg_err("connect to postgres"))?;
        let version: String = pg
            .query_one("SELECT version()", &[])
            .map_err(pg_err("version"))?
            .get(0);
        report.machine.push(("PostgreSQL".into(), version));
        let (batched_dir, batched_note) = batched_scripts(opts, cluster.base_dir());
        let bench = Bench {
            opts,
            cluster,
            batched_dir,
            batched_note,
        };
        for &scale in &opts.scales {
            let r = bench.scale(scale, &mut pg)?;
            report.scales.push(r);
        }
        for model in &opts.models {
            for &scale in opts.scales.iter().filter(|&&s| s <= opts.models_max_scale) {
                report
                    .models
                    .push(bench.model_scale(model, scale, &mut pg)?);
            }
        }
        for (model, scale) in &opts.estimate {
            report
                .estimates
                .push(bench.estimate_case(model, *scale, &mut pg)?);
        }
        report.inplace = inplace_series::run(
            &bench.cluster,
            &opts.pgmig_exe,
            &opts.models_dir,
            &opts.inplace_scales,
        )?;
    }
    report.compile = compile;
    report.markdown = render(opts, &report);
    if let Some(dir) = &opts.out_dir {
        std::fs::create_dir_all(dir).map_err(err("create results dir"))?;
        let scales: Vec<String> = opts.scales.iter().map(|s| s.to_string()).collect();
        let stamp = Command::new("date")
            .args(["-u", "+%Y%m%d-%H%M"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let inplace: Vec<String> = opts.inplace_scales.iter().map(|s| s.to_string()).collect();
        let name = if scales.is_empty() && inplace.is_empty() && !opts.estimate.is_empty() {
            format!("{stamp}-estimate.md")
        } else if scales.is_empty() && !inplace.is_empty() {
            format!("{stamp}-inplace-{}.md", inplace.join("-"))
        } else if scales.is_empty() {
            format!("{stamp}-compile.md")
        } else {
            format!("{stamp}-scale-{}.md", scales.join("-"))
        };
        let path = dir.join(name);
        if let Some(svg) = chart::svg(&report)? {
            let chart_path = path.with_extension("svg");
            std::fs::write(&chart_path, svg).map_err(err("write chart"))?;
            let _ = writeln!(
                report.markdown,
                "\n![median seconds by scale factor, log scales]({})",
                chart_path.file_name().unwrap_or_default().to_string_lossy()
            );
            report.chart_written_to = Some(chart_path);
        }
        std::fs::write(&path, &report.markdown).map_err(err("write report"))?;
        report.written_to = Some(path);
    }
    Ok(report)
}

/// Compiles the workout model with `mode: {batched: {size: N}}`. Returns the directory when
/// the compiler accepts it and the migrate.sql differs from the transaction one.
fn batched_scripts(opts: &Options, base: &Path) -> (Option<PathBuf>, String) {
    let Ok(model) = std::fs::read_to_string(opts.model_dir.join("model.yaml")) else {
        return (None, "not available (model.yaml unreadable)".into());
    };
    let dir = base.join("batched");
    let _ = std::fs::create_dir_all(&dir);
    let mut text = String::new();
    let mut added = false;
    for line in model.lines() {
        text.push_str(line);
        text.push('\n');
        if !added && line.starts_with("target:") {
            text.push_str(&format!(
                "mode: {{ batched: {{ size: {} }} }}\n",
                opts.batch_size
            ));
            added = true;
        }
    }
    let model_path = dir.join("model.yaml");
    if std::fs::write(&model_path, text).is_err() {
        return (None, "not available".into());
    }
    let compiled = compile_model(&opts.pgmig_exe, &model_path, &opts.model_dir, &dir).is_ok();
    let batched = std::fs::read_to_string(dir.join("migrate.sql")).unwrap_or_default();
    let plain = std::fs::read_to_string(opts.scripts_dir.join("migrate.sql")).unwrap_or_default();
    if compiled && !batched.is_empty() && strip_header(&batched) != strip_header(&plain) {
        (Some(dir), format!("batch size {}", opts.batch_size))
    } else {
        (
            None,
            "not available (migrate.sql has no batched mode yet)".into(),
        )
    }
}

/// `pgmig compile MODEL --v1 DIR/v1.sql --v2 DIR/v2.sql --out OUT`.
fn compile_model(pgmig: &Path, model: &Path, ddl_dir: &Path, out: &Path) -> Result<(), String> {
    let o = Command::new(pgmig)
        .arg("compile")
        .arg(model)
        .arg("--v1")
        .arg(ddl_dir.join("v1.sql"))
        .arg("--v2")
        .arg(ddl_dir.join("v2.sql"))
        .arg("--out")
        .arg(out)
        .output()
        .map_err(err("pgmig compile"))?;
    if !o.status.success() {
        return Err(format!(
            "pgmig compile {}: {}",
            model.display(),
            tail(&o.stderr, 20)
        ));
    }
    Ok(())
}

fn strip_header(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Bench<'_> {
    fn psql_file(
        &self,
        db: &str,
        file: &Path,
        schema: Option<&str>,
        vars: &[(&str, String)],
    ) -> Result<f64, String> {
        let mut c = self.cluster.psql(db);
        c.arg("-q");
        if let Some(s) = schema {
            c.env("PGOPTIONS", format!("-c search_path={s}"));
        }
        for (k, v) in vars {
            c.arg("-v").arg(format!("{k}={v}"));
        }
        c.arg("-f").arg(file);
        let t = Instant::now();
        let out = c.output().map_err(err("psql"))?;
        if !out.status.success() {
            return Err(format!(
                "psql -f {}: {}",
                file.display(),
                tail(&out.stderr, 20)
            ));
        }
        Ok(t.elapsed().as_secs_f64())
    }

    fn pgmig_run(
        &self,
        db: &str,
        dir: &Path,
        phase: &str,
        vars: &[String],
    ) -> Result<(f64, Option<u64>), String> {
        self.pgmig_run_with(db, dir, phase, vars, &[])
    }

    /// `pgmig run PHASE` with `flags` of the command's own (`--jobs 2`).
    fn pgmig_run_with(
        &self,
        db: &str,
        dir: &Path,
        phase: &str,
        vars: &[String],
        flags: &[&str],
    ) -> Result<(f64, Option<u64>), String> {
        let mut c = Command::new(&self.opts.pgmig_exe);
        c.arg("run")
            .arg(phase)
            .args(flags)
            .arg("--dir")
            .arg(dir)
            .arg("--db")
            .arg(self.cluster.url(db));
        for v in vars {
            c.arg("-v").arg(v);
        }
        c.env_remove("PGOPTIONS");
        timed(c, &self.cluster.base_dir().join("time.out"))
            .map_err(|e| format!("pgmig run {phase}: {e}"))
    }

    fn scale(&self, scale: u32, pg: &mut postgres::Client) -> Result<ScaleResult, String> {
        let db = format!("bench_s{scale}");
        let mut r = ScaleResult {
            scale,
            ..Default::default()
        };
        pg.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
            .map_err(pg_err("drop db"))?;
        pg.batch_execute(&format!("CREATE DATABASE {db}"))
            .map_err(pg_err("create db"))?;
        let mut c = self.cluster.connect(&db).map_err(pg_err("connect"))?;
        c.batch_execute("CREATE SCHEMA v1")
            .map_err(pg_err("schema"))?;
        let md = &self.opts.model_dir;
        self.psql_file(&db, &md.join("v1.sql"), Some("v1"), &[])?;
        self.psql_file(&db, &md.join("v2.sql"), Some("public"), &[])?;
        eprintln!("bench: scale {scale}: generating V1 sample data");
        let t = Instant::now();
        self.psql_file(
            &db,
            &md.join("sample.sql"),
            Some("v1"),
            &[("scale", scale.to_string())],
        )?;
        // Hint bits, visibility map and statistics settled before anything is timed.
        c.batch_execute("VACUUM (FREEZE, ANALYZE) v1.workout_plans, v1.exercises, v1.workout_sessions, v1.exercise_logs")
            .map_err(pg_err("vacuum v1"))?;
        r.generate_secs = t.elapsed().as_secs_f64();
        for t in V1_TABLES {
            let n: i64 = c
                .query_one(&format!("SELECT count(*) FROM v1.{t}"), &[])
                .map_err(pg_err("count"))?
                .get(0);
            r.v1_rows.insert(t.to_string(), n);
        }
        r.v1_bytes = c
            .query_one("SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'v1' AND c.relkind = 'r'", &[])
            .map_err(pg_err("v1 size"))?
            .get(0);
        eprintln!(
            "bench: scale {scale}: V1 {:?} in {:.1}s",
            r.v1_rows, r.generate_secs
        );

        let mut series: BTreeMap<String, Series> = ORDER
            .iter()
            .map(|n| (n.to_string(), Series::default()))
            .collect();
        if self.batched_dir.is_none() {
            for name in [BATCHED, BATCHED_JOBS2] {
                series.get_mut(name).unwrap().note = Some(self.batched_note.clone());
            }
        }
        if scale > self.opts.plpgsql_max_scale {
            series.get_mut(PLPGSQL).unwrap().note = Some(format!(
                "not run above scale {}",
                self.opts.plpgsql_max_scale
            ));
        }
        if scale > self.opts.client_max_scale {
            series.get_mut(CLIENT).unwrap().note = Some(format!(
                "not run above scale {}",
                self.opts.client_max_scale
            ));
        }
        for run in 0..self.opts.runs {
            let first = run == 0;
            eprintln!("bench: scale {scale}: run {}/{}", run + 1, self.opts.runs);
            // ---- pgmig: precheck, migrate, verify, rollback
            self.reset(&mut c)?;
            let dir = &self.opts.scripts_dir;
            let (s, p) = self.pgmig_run(&db, dir, "precheck", &[])?;
            push(&mut series, PRECHECK, s, p, None);
            let before = db_size(&mut c)?;
            let (s, p) = self.pgmig_run(&db, dir, "migrate", &[])?;
            let growth = db_size(&mut c)? - before;
            push(&mut series, MIGRATE, s, p, Some(growth));
            if first {
                r.pgmig_steps = pgmig_steps(&mut c)?;
                let fp = fingerprint(&mut c)?;
                r.v2_rows = fp.iter().map(|(_, n, _)| n).sum();
                r.fingerprints.insert(MIGRATE.into(), fp);
            }
            let (s, p) = self.pgmig_run(&db, dir, "verify", &[])?;
            push(&mut series, VERIFY, s, p, None);
            let (s, p) = self.pgmig_run(&db, dir, "rollback", &[])?;
            push(&mut series, ROLLBACK, s, p, None);
            let left: i64 = c
                .query_one("SELECT (SELECT count(*) FROM public.workout_plans) + (SELECT count(*) FROM public.exercise_logs)", &[])
                .map_err(pg_err("count after rollback"))?
                .get(0);
            if left != 0 {
                return Err(format!(
                    "scale {scale}: {left} rows left in V2 after rollback"
                ));
            }

            // ---- transaction migrate with the empty targets' FKs and indexes deferred
            self.reset(&mut c)?;
            let before = db_size(&mut c)?;
            let (s, p) =
                self.pgmig_run(&db, dir, "migrate", &["defer_constraints=on".to_string()])?;
            push(&mut series, DEFERRED, s, p, Some(db_size(&mut c)? - before));
            if first {
                r.fingerprints.insert(DEFERRED.into(), fingerprint(&mut c)?);
            }

            // ---- batched migrate, when the compiler has it, in one session and in two
            // (--jobs 2: two sessions copy each step's batches)
            // (still being written: a failure is reported in its row, not fatal)
            for (name, flags) in [(BATCHED, &[][..]), (BATCHED_JOBS2, &["--jobs", "2"][..])] {
                let (Some(bdir), None) = (&self.batched_dir, &series[name].note) else {
                    continue;
                };
                self.reset(&mut c)?;
                let before = db_size(&mut c)?;
                match self.pgmig_run_with(&db, bdir, "migrate", &[], flags) {
                    Ok((s, p)) => {
                        let growth = db_size(&mut c)? - before;
                        push(&mut series, name, s, p, Some(growth));
                        if first {
                            r.fingerprints.insert(name.into(), fingerprint(&mut c)?);
                            if name == BATCHED {
                                r.batched_steps = pgmig_steps(&mut c)?;
                            }
                        }
                    }
                    Err(e) => {
                        let line = e
                            .lines()
                            .find(|l| l.contains("panicked") || l.starts_with("error"))
                            .unwrap_or("");
                        eprintln!("bench: {name} failed: {e}");
                        series.get_mut(name).unwrap().note =
                            Some(format!("failed: {}", line.trim()));
                    }
                }
            }

            // ---- floor
            self.reset(&mut c)?;
            let before = db_size(&mut c)?;
            let (s, steps) = floor(&mut c)?;
            let growth = db_size(&mut c)? - before;
            push(&mut series, FLOOR, s, None, Some(growth));
            if first {
                r.floor_steps = steps;
                r.fingerprints.insert(FLOOR.into(), fingerprint(&mut c)?);
            }

            // ---- row by row, server side
            if scale <= self.opts.plpgsql_max_scale {
                self.reset(&mut c)?;
                let before = db_size(&mut c)?;
                let t = Instant::now();
                c.batch_execute(&format!("BEGIN;\n{PLPGSQL_SQL}\nCOMMIT;"))
                    .map_err(pg_err("row-by-row PL/pgSQL"))?;
                let s = t.elapsed().as_secs_f64();
                let growth = db_size(&mut c)? - before;
                push(&mut series, PLPGSQL, s, None, Some(growth));
                if first {
                    r.fingerprints.insert(PLPGSQL.into(), fingerprint(&mut c)?);
                }
            }

            // ---- row by row, client side
            if scale <= self.opts.client_max_scale {
                self.reset(&mut c)?;
                let before = db_size(&mut c)?;
                let mut client = self.cluster.connect(&db).map_err(pg_err("connect"))?;
                let t = Instant::now();
                rowloop::run(&mut client).map_err(pg_err("row-by-row client"))?;
                let s = t.elapsed().as_secs_f64();
                let growth = db_size(&mut c)? - before;
                push(&mut series, CLIENT, s, None, Some(growth));
                if first {
                    r.fingerprints.insert(CLIENT.into(), fingerprint(&mut c)?);
                }
            }
        }
        if let Some(ms) = self.opts.explain_ms {
            self.explain(&db, &mut c, scale, ms)?;
        }
        self.reset(&mut c)?;
        r.series = series;
        let reference = r.fingerprints.get(MIGRATE).cloned().unwrap_or_default();
        for (who, fp) in &r.fingerprints {
            if who == MIGRATE {
                continue;
            }
            for (a, b) in reference.iter().zip(fp) {
                if a != b {
                    r.mismatches.push(format!(
                        "{who}: {} has {} rows, hash {} (pgmig: {} rows, hash {})",
                        b.0, b.1, b.2, a.1, a.2
                    ));
                }
            }
        }
        drop(c);
        if !self.opts.keep {
            pg.batch_execute(&format!("DROP DATABASE {db}"))
                .map_err(pg_err("drop db"))?;
        }
        Ok(r)
    }

    /// V2 emptied, bookkeeping dropped, dirty pages flushed: every contender starts alike.
    fn reset(&self, c: &mut postgres::Client) -> Result<(), String> {
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS _pgmig CASCADE; TRUNCATE {V2_TABLES}; CHECKPOINT"
        ))
        .map_err(pg_err("reset"))
    }

    /// One more migrate and floor run with auto_explain (EXPLAIN ANALYZE, BUFFERS of every
    /// nested statement slower than `ms`), the server log of it kept in the results dir.
    fn explain(
        &self,
        db: &str,
        c: &mut postgres::Client,
        scale: u32,
        ms: u32,
    ) -> Result<(), String> {
        let Some(out_dir) = &self.opts.out_dir else {
            return Ok(());
        };
        let options = format!(
            "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration={ms} \
             -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on -c auto_explain.log_nested_statements=on \
             -c auto_explain.log_timing=on"
        );
        let url = format!("{} options='{options}'", self.cluster.url(db));
        self.reset(c)?;
        let start = std::fs::metadata(self.cluster.log_path())
            .map(|m| m.len())
            .unwrap_or(0);
        let out = Command::new(&self.opts.pgmig_exe)
            .arg("run")
            .arg("migrate")
            .arg("--dir")
            .arg(&self.opts.scripts_dir)
            .arg("--db")
            .arg(&url)
            .output()
            .map_err(err("pgmig run"))?;
        if !out.status.success() {
            return Err(format!("explain migrate: {}", tail(&out.stderr, 20)));
        }
        let mid = std::fs::metadata(self.cluster.log_path())
            .map(|m| m.len())
            .unwrap_or(0);
        self.reset(c)?;
        let mut e =
            postgres::Client::connect(&url, postgres::NoTls).map_err(pg_err("connect explain"))?;
        floor(&mut e)?;
        let log = std::fs::read(self.cluster.log_path()).map_err(err("read server log"))?;
        let text = format!(
            "# auto_explain of pgmig migrate, scale {scale} (statements over {ms} ms)\n\n{}\n\n# auto_explain of the floor\n\n{}",
            String::from_utf8_lossy(&log[start as usize..mid as usize]),
            String::from_utf8_lossy(&log[mid as usize..])
        );
        std::fs::create_dir_all(out_dir).map_err(err("results dir"))?;
        let path = out_dir.join(format!("explain-scale-{scale}.log"));
        std::fs::write(&path, text).map_err(err("write explain log"))?;
        eprintln!(
            "bench: EXPLAIN ANALYZE of the slow statements in {}",
            path.display()
        );
        Ok(())
    }
}

fn push(
    series: &mut BTreeMap<String, Series>,
    who: &str,
    secs: f64,
    peak: Option<u64>,
    growth: Option<i64>,
) {
    let s = series.get_mut(who).unwrap();
    s.secs.push(secs);
    if let Some(p) = peak {
        s.peak_kb.push(p);
    }
    if let Some(g) = growth {
        s.growth_bytes.push(g);
    }
}

fn db_size(c: &mut postgres::Client) -> Result<i64, String> {
    Ok(
        c.query_one("SELECT pg_database_size(current_database())", &[])
            .map_err(pg_err("db size"))?
            .get(0),
    )
}

fn pgmig_steps(c: &mut postgres::Client) -> Result<Vec<(String, i64, f64)>, String> {
    let rows = c
        .query(
            "SELECT step, coalesce(rows_out, 0), extract(epoch FROM finished_at - started_at)::float8
               FROM _pgmig.log WHERE script = 'migrate' AND step <> '(all)' ORDER BY id",
            &[],
        )
        .map_err(pg_err("_pgmig.log"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

pub fn fingerprint(c: &mut postgres::Client) -> Result<Fingerprint, String> {
    let rows = c
        .query(FINGERPRINT_SQL, &[])
        .map_err(pg_err("fingerprint"))?;
    let mut fp: Fingerprint = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    fp.sort();
    Ok(fp)
}

/// The floor's statements, `-- step: NAME` chunks, run one by one in one transaction.
fn floor_steps() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in FLOOR_SQL.lines() {
        if let Some(name) = line.strip_prefix("-- step: ") {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out
}

fn floor(c: &mut postgres::Client) -> Result<(f64, Vec<(String, f64)>), String> {
    let t = Instant::now();
    let mut steps = Vec::new();
    c.batch_execute("BEGIN").map_err(pg_err("floor"))?;
    for (name, sql) in floor_steps() {
        let s = Instant::now();
        c.batch_execute(&sql).map_err(pg_err("floor"))?;
        steps.push((name, s.elapsed().as_secs_f64()));
    }
    c.batch_execute("COMMIT").map_err(pg_err("floor"))?;
    Ok((t.elapsed().as_secs_f64(), steps))
}

fn compile_bench(opts: &Options, tables: usize, columns: usize) -> Result<CompileResult, String> {
    let dir = opts
        .work_dir
        .join(format!("pgmig-bench-compile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(err("compile dir"))?;
    compile_gen::write(&dir, tables, columns).map_err(err("generate model"))?;
    let mut r = CompileResult {
        tables,
        columns,
        ..Default::default()
    };
    for _ in 0..3 {
        let mut c = Command::new(&opts.pgmig_exe);
        c.arg("compile")
            .arg(dir.join("model.yaml"))
            .arg("--v1")
            .arg(dir.join("v1.sql"))
            .arg("--v2")
            .arg(dir.join("v2.sql"))
            .arg("--out")
            .arg(dir.join("out"));
        let (s, p) = timed(c, &dir.join("time.out"))
            .map_err(|e| format!("compile of the generated model: {e}"))?;
        r.secs.push(s);
        if let Some(p) = p {
            r.peak_kb.push(p);
        }
    }
    eprintln!(
        "bench: compile of {tables} tables x {columns} columns: {:.3}s (median)",
        median(&r.secs).unwrap_or(0.0)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(r)
}

fn machine_info() -> Vec<(String, String)> {
    let mut m = Vec::new();
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_default();
    m.push(("nproc".into(), nproc));
    if let Ok(o) = Command::new("free").arg("-h").output() {
        let t = String::from_utf8_lossy(&o.stdout);
        if let Some(l) = t.lines().find(|l| l.starts_with("Mem:")) {
            m.push((
                "free -h (Mem: total used free shared buff/cache available)".into(),
                l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "),
            ));
        }
    }
    if let Ok(cpu) = std::fs::read_to_string("/proc/cpuinfo") {
        if let Some(l) = cpu.lines().find(|l| l.starts_with("model name")) {
            m.push((
                "CPU".into(),
                l.split(':').nth(1).unwrap_or("").trim().to_string(),
            ));
        }
    }
    m
}

// ---- report -----------------------------------------------------------------------------

fn secs(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0}")
    } else if s >= 10.0 {
        format!("{s:.1}")
    } else {
        format!("{s:.2}")
    }
}

fn bytes(b: f64) -> String {
    let mb = b / 1_048_576.0;
    if mb.abs() >= 1024.0 {
        format!("{:.2} GB", mb / 1024.0)
    } else {
        format!("{mb:.0} MB")
    }
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn med_i(v: &[i64]) -> Option<f64> {
    median(&v.iter().map(|&x| x as f64).collect::<Vec<_>>())
}

fn med_u(v: &[u64]) -> Option<f64> {
    median(&v.iter().map(|&x| x as f64).collect::<Vec<_>>())
}

fn met(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**missed**"
    }
}

/// Seconds of the row-by-row client at `r`'s scale: measured, or extrapolated linearly in
/// V2 rows from the largest scale it ran at.
fn client_secs(report: &Report, r: &ScaleResult) -> Option<(f64, Option<u32>)> {
    if let Some(m) = r.series.get(CLIENT).and_then(|s| s.median()) {
        return Some((m, None));
    }
    let from = report
        .scales
        .iter()
        .filter(|s| s.series.get(CLIENT).and_then(|x| x.median()).is_some())
        .max_by_key(|s| s.scale)?;
    let per_row = from.series[CLIENT].median()? / from.v2_rows.max(1) as f64;
    Some((per_row * r.v2_rows as f64, Some(from.scale)))
}

/// One other model at one scale: its phases against the copy floor, and the targets.
fn render_model(md: &mut String, r: &models::ModelResult) {
    let _ = writeln!(
        md,
        "## Model {}, scale {}: {} V1 rows, {} V2 rows\n",
        r.model,
        r.scale,
        thousands(r.v1_rows as f64),
        thousands(r.v2_rows as f64)
    );
    let _ = writeln!(md, "The floor copies the rows pgmig's first migrate wrote (held aside) into the emptied V2 tables, \
        parents first, constraints and indexes in place, then ANALYZE: no V1 read, no mapping.\n");
    let floor = r.series.get(models::COPY_FLOOR).and_then(|s| s.median());
    let migrate = r.series.get(MIGRATE).and_then(|s| s.median());
    let _ = writeln!(
        md,
        "| contender | median s | min–max s | V2 rows/s | × floor | peak RSS | DB growth |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for name in models::MODEL_ORDER {
        let s = &r.series[*name];
        let Some(m) = s.median() else { continue };
        let lo = s.secs.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = s.secs.iter().cloned().fold(0.0, f64::max);
        let rate = if [MIGRATE, models::COPY_FLOOR].contains(name) {
            thousands(r.v2_rows as f64 / m)
        } else {
            String::new()
        };
        let vs = floor.map(|f| format!("{:.2}", m / f)).unwrap_or_default();
        let peak = med_u(&s.peak_kb)
            .map(|k| format!("{:.0} MB", k / 1024.0))
            .unwrap_or("n/a".into());
        let growth = med_i(&s.growth_bytes).map(bytes).unwrap_or_default();
        let _ = writeln!(
            md,
            "| {name} | {} | {}–{} | {rate} | {vs} | {peak} | {growth} |",
            secs(m),
            secs(lo),
            secs(hi)
        );
    }
    let _ = writeln!(md, "\nTargets, {} at scale {}:\n", r.model, r.scale);
    if let (Some(m), Some(f)) = (migrate, floor) {
        let _ = writeln!(
            md,
            "- migrate ≤ 1.5 × floor: {:.2} × — {}",
            m / f,
            met(m / f <= 1.5)
        );
    }
    if let (Some(m), Some(v)) = (migrate, r.series.get(VERIFY).and_then(|s| s.median())) {
        let _ = writeln!(
            md,
            "- verify ≤ 1.5 × migrate: {:.2} × — {}",
            v / m,
            met(v / m <= 1.5)
        );
    }
    if let (Some(m), Some(v)) = (migrate, r.series.get(ROLLBACK).and_then(|s| s.median())) {
        let _ = writeln!(
            md,
            "- rollback ≤ migrate: {:.2} × — {}",
            v / m,
            met(v / m <= 1.0)
        );
    }
    let _ = writeln!(md);
}

pub fn render(opts: &Options, report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# pgmig-bench: workout model{}\n",
        if opts.models.is_empty() {
            String::new()
        } else {
            format!(" and {}", opts.models.join(", "))
        }
    );
    let models = if opts.models.is_empty() {
        "none".to_string()
    } else {
        opts.models.join(",")
    };
    let _ = writeln!(md, "Command: `pgmig-bench --scales {} --runs {} --client-max-scale {} --plpgsql-max-scale {} --models {models} --models-max-scale {}`\n",
        opts.scales.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","), opts.runs, opts.client_max_scale, opts.plpgsql_max_scale, opts.models_max_scale);
    let _ = writeln!(md, "## Machine\n");
    for (k, v) in &report.machine {
        let _ = writeln!(md, "- {k}: {v}");
    }
    if !report.settings.is_empty() {
        let s: Vec<String> = report
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(md, "- server settings: {}", s.join(", "));
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "Times are wall clock, median of {} runs (min–max in brackets). pgmig phases run as \
        `pgmig run PHASE` child processes; peak RSS is theirs (`/usr/bin/time`). Rows/s: V2 rows written \
        by pgmig's migrate divided by the time. DB growth: `pg_database_size` after minus before (V2 rows, \
        indexes, `_pgmig` maps and rejects, WAL not included). Every contender's V2 tables are \
        fingerprinted on the first run and compared with pgmig's.\n", opts.runs);

    for r in &report.scales {
        let v1_total: i64 = r.v1_rows.values().sum();
        let _ = writeln!(
            md,
            "## Scale {}: {} V1 rows ({}), {} V2 rows\n",
            r.scale,
            thousands(v1_total as f64),
            r.v1_rows
                .iter()
                .map(|(k, v)| format!("{k} {}", thousands(*v as f64)))
                .collect::<Vec<_>>()
                .join(", "),
            thousands(r.v2_rows as f64)
        );
        let _ = writeln!(
            md,
            "V1 data generated and vacuumed in {} s; V1 size {}.\n",
            secs(r.generate_secs),
            bytes(r.v1_bytes as f64)
        );
        let floor = r.series.get(FLOOR).and_then(|s| s.median());
        let migrate = r.series.get(MIGRATE).and_then(|s| s.median());
        let _ = writeln!(
            md,
            "| contender | median s | min–max s | V2 rows/s | × floor | peak RSS | DB growth |"
        );
        let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for name in ORDER {
            let s = &r.series[*name];
            match s.median().filter(|_| s.note.is_none()) {
                Some(m) => {
                    let lo = s.secs.iter().cloned().fold(f64::INFINITY, f64::min);
                    let hi = s.secs.iter().cloned().fold(0.0, f64::max);
                    let rate = if [
                        MIGRATE,
                        DEFERRED,
                        BATCHED,
                        BATCHED_JOBS2,
                        FLOOR,
                        PLPGSQL,
                        CLIENT,
                    ]
                    .contains(name)
                    {
                        thousands(r.v2_rows as f64 / m)
                    } else {
                        "".into()
                    };
                    let vs = floor.map(|f| format!("{:.2}", m / f)).unwrap_or_default();
                    let peak = med_u(&s.peak_kb)
                        .map(|k| format!("{:.0} MB", k / 1024.0))
                        .unwrap_or("n/a".into());
                    let growth = med_i(&s.growth_bytes).map(bytes).unwrap_or_default();
                    let _ = writeln!(
                        md,
                        "| {name} | {} | {}–{} | {rate} | {vs} | {peak} | {growth} |",
                        secs(m),
                        secs(lo),
                        secs(hi)
                    );
                }
                None => {
                    let mut note = s.note.clone().unwrap_or_else(|| "not run".into());
                    if *name == CLIENT {
                        if let Some((e, Some(from))) = client_secs(report, r) {
                            note = format!(
                                "{note}; ≈ {} s extrapolated from scale {from} (linear in V2 rows)",
                                secs(e)
                            );
                        }
                    }
                    let _ = writeln!(md, "| {name} | {note} | | | | | |");
                }
            }
        }
        let _ = writeln!(md);
        if r.mismatches.is_empty() {
            let who: Vec<&str> = r
                .fingerprints
                .keys()
                .filter(|k| k.as_str() != MIGRATE)
                .map(|s| s.as_str())
                .collect();
            let _ = writeln!(
                md,
                "Equal V2 content (fingerprint of the six tables): pgmig = {}.\n",
                who.join(" = ")
            );
        } else {
            let _ = writeln!(md, "**V2 content differs from pgmig's:**\n");
            for m in &r.mismatches {
                let _ = writeln!(md, "- {m}");
            }
            let _ = writeln!(md);
        }
        if !r.pgmig_steps.is_empty() {
            let _ = writeln!(md, "Per step, first run (pgmig, transaction and batched in one session: `_pgmig.log` finished − started; floor: its statement and ANALYZE):\n");
            let _ = writeln!(
                md,
                "| step | rows | pgmig s | floor s | × floor | batched s | × floor |"
            );
            let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            for (step, rows, s) in &r.pgmig_steps {
                let f = r.floor_steps.iter().find(|(n, _)| n == step).map(|x| x.1);
                let b = r
                    .batched_steps
                    .iter()
                    .find(|(n, _, _)| n == step)
                    .map(|x| x.2);
                let ratio = |x: f64| f.map(|f| format!("{:.2}", x / f)).unwrap_or_default();
                let _ = writeln!(
                    md,
                    "| {step} | {} | {} | {} | {} | {} | {} |",
                    thousands(*rows as f64),
                    secs(*s),
                    f.map(secs).unwrap_or_default(),
                    ratio(*s),
                    b.map(secs).unwrap_or_default(),
                    b.map(ratio).unwrap_or_default()
                );
            }
            let _ = writeln!(md);
        }
        // targets
        let _ = writeln!(md, "Targets at scale {}:\n", r.scale);
        if let (Some(m), Some(f)) = (migrate, floor) {
            let _ = writeln!(
                md,
                "- migrate ≤ 1.5 × floor: {:.2} × — {}",
                m / f,
                met(m / f <= 1.5)
            );
        }
        if let (Some(b), Some(f)) = (r.series.get(BATCHED).and_then(|s| s.median()), floor) {
            let _ = writeln!(
                md,
                "- batched migrate ≤ 2 × floor: {:.2} × — {}",
                b / f,
                met(b / f <= 2.0)
            );
        }
        let batched = |name| r.series.get(name).and_then(|s: &Series| s.median());
        if let (Some(one), Some(two)) = (batched(BATCHED), batched(BATCHED_JOBS2)) {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let _ = writeln!(
                md,
                "- (for reference) batched --jobs 2 / one session: {:.2} × the speed, {:.2} × per session ({cores} cores here)",
                one / two,
                one / two / 2.0
            );
        }
        if let (Some(m), Some((c, from))) = (migrate, client_secs(report, r)) {
            let how = from
                .map(|s| format!(" (client extrapolated from scale {s})"))
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "- ≥ 50 × faster than the row-by-row client: {:.0} ×{how} — {}",
                c / m,
                met(c / m >= 50.0)
            );
        }
        if let (Some(m), Some(p)) = (migrate, r.series.get(PLPGSQL).and_then(|s| s.median())) {
            let _ = writeln!(
                md,
                "- (for reference) row-by-row PL/pgSQL / migrate: {:.1} ×",
                p / m
            );
        }
        if let (Some(m), Some(v)) = (migrate, r.series.get(VERIFY).and_then(|s| s.median())) {
            let _ = writeln!(
                md,
                "- verify ≤ 1.5 × migrate: {:.2} × — {}",
                v / m,
                met(v / m <= 1.5)
            );
        }
        if let (Some(m), Some(v)) = (migrate, r.series.get(ROLLBACK).and_then(|s| s.median())) {
            let _ = writeln!(
                md,
                "- rollback ≤ migrate: {:.2} × — {}",
                v / m,
                met(v / m <= 1.0)
            );
        }
        let _ = writeln!(md);
    }
    for r in &report.models {
        render_model(&mut md, r);
    }
    if !report.estimates.is_empty() {
        md.push_str(&estimate_check::render(&report.estimates));
    }
    if !report.inplace.is_empty() {
        md.push_str(&inplace_series::render(&report.inplace));
    }
    if let Some(c) = &report.compile {
        if let Some(m) = median(&c.secs) {
            let _ = writeln!(md, "## Compile\n");
            let _ = writeln!(md, "`pgmig compile` of a generated model of {} tables × {} columns ({} columns per schema, \
                one step per table, FK tree): median {:.3} s of {} runs, peak RSS {} — < 1 s: {}\n",
                c.tables, c.columns, thousands((c.tables * c.columns) as f64), m, c.secs.len(),
                med_u(&c.peak_kb).map(|k| format!("{:.0} MB", k / 1024.0)).unwrap_or("n/a".into()), met(m < 1.0));
        }
    }
    md
}

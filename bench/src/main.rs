//! `pgmig-bench`: the command line of the benchmark ([`pgmig_bench::run`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Benchmark the workout migration against baselines on a throwaway PostgreSQL cluster.
#[derive(Parser)]
#[command(
    name = "pgmig-bench",
    version,
    after_help = "Writes a Markdown report and an SVG chart into --repo's bench/results/.\n\n\
Exit codes: 0 every contender produced pgmig's V2 content; 1 a contender differs, or the\n\
benchmark failed; 2 bad options."
)]
struct BenchArgs {
    /// Scale factors of models/workout/sample.sql (1 = 200 plans, 5,000 logs), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    scales: Vec<u32>,
    /// Runs per scale (medians are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Largest scale the row-by-row client runs at; extrapolated above.
    #[arg(long, default_value_t = 10)]
    client_max_scale: u32,
    /// Largest scale the row-by-row PL/pgSQL loop runs at.
    #[arg(long, default_value_t = 100)]
    plpgsql_max_scale: u32,
    /// Generated model for the compile target, TABLESxCOLUMNS; 0 skips it.
    #[arg(long, default_value = "1000x20")]
    compile_model: String,
    /// Log EXPLAIN ANALYZE (auto_explain) of statements slower than MS of one more run per scale.
    #[arg(long, value_name = "MS")]
    explain: Option<u32>,
    /// Scales of the in-place series (models/uuid, 6,000 rows per unit): the swap's lock
    /// window and the longest wait of a probe query during migrate, comma-separated; none by default.
    #[arg(long, value_delimiter = ',', value_name = "SCALES")]
    inplace_series: Vec<u32>,
    /// PLAN.md's window estimate against real runs: each MODEL:SCALE (default workout:10,
    /// workout:100, school:10) compiled against the live database, its four scripts run and timed.
    #[arg(long, value_name = "MODEL:SCALE", value_delimiter = ',', num_args = 0.., default_missing_value = "workout:10,workout:100,school:10")]
    estimate: Option<Vec<String>>,
    /// Server setting over the defaults, e.g. --set work_mem=256MB (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    settings: Vec<String>,
    /// Other models to run at the same scales against a copy floor, comma-separated
    /// (`school`); `none` for the workout model only.
    #[arg(long, value_delimiter = ',', default_value = "school")]
    models: Vec<String>,
    /// Largest scale the other models run at.
    #[arg(long, default_value_t = 10)]
    models_max_scale: u32,
    /// The pgmig binary to measure; default: the `pgmig` beside this program (built with it).
    #[arg(long, value_name = "PATH")]
    pgmig: Option<PathBuf>,
    /// Repository root (models/workout, out/workout, bench/results).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Where the cluster directory goes.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the cluster and databases (prints where).
    #[arg(long)]
    keep: bool,
}

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    match options(args) {
        Ok(opts) => ExitCode::from(bench(&opts)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The bench's options from the command line; an error names the bad option.
fn options(a: BenchArgs) -> Result<pgmig_bench::Options, String> {
    let mut opts = pgmig_bench::Options::new(PathBuf::from("pgmig"), &a.repo);
    opts.scales = a.scales.into_iter().filter(|&s| s > 0).collect();
    opts.runs = a.runs.max(1);
    opts.client_max_scale = a.client_max_scale;
    opts.plpgsql_max_scale = a.plpgsql_max_scale;
    opts.explain_ms = a.explain;
    opts.inplace_scales = a.inplace_series;
    for case in a.estimate.unwrap_or_default() {
        match case.split_once(':').map(|(m, s)| (m, s.parse::<u32>())) {
            Some((m, Ok(scale))) if pgmig_bench::estimate_check::MODELS.contains(&m) && scale > 0 => {
                opts.estimate.push((m.to_string(), scale))
            }
            _ => {
                return Err(format!(
                    "--estimate wants MODEL:SCALE with a model among {} and a scale above 0, not `{case}`",
                    pgmig_bench::estimate_check::MODELS.join(", ")
                ))
            }
        }
    }
    opts.keep = a.keep;
    opts.models_max_scale = a.models_max_scale;
    opts.models = a
        .models
        .into_iter()
        .filter(|m| m != "none" && !m.is_empty())
        .collect();
    if let Some(m) = opts
        .models
        .iter()
        .find(|m| !pgmig_bench::models::SCALABLE.contains(&m.as_str()))
    {
        return Err(format!(
            "--models: `{m}` is not a model the bench scales (it knows: {})",
            pgmig_bench::models::SCALABLE.join(", ")
        ));
    }
    if let Some(w) = a.work_dir {
        opts.work_dir = w;
    }
    opts.compile_model = match a
        .compile_model
        .split_once('x')
        .map(|(t, c)| (t.parse(), c.parse()))
    {
        Some((Ok(t), Ok(c))) => Some((t, c)),
        None if a.compile_model == "0" => None,
        _ => {
            return Err(format!(
                "--compile-model wants TABLESxCOLUMNS, e.g. 1000x20, or 0 to skip it; not `{}`",
                a.compile_model
            ))
        }
    };
    for s in &a.settings {
        match s.split_once('=') {
            Some((k, v)) => opts.settings.push((k.to_string(), v.to_string())),
            None => return Err("--set wants NAME=VALUE".into()),
        }
    }
    opts.pgmig_exe = match a.pgmig {
        Some(p) => p,
        None => pgmig_beside_this_program()?,
    };
    Ok(opts)
}

/// `pgmig` in this program's directory: cargo builds both into the same target directory.
fn pgmig_beside_this_program() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let pgmig = me.with_file_name("pgmig");
    if pgmig.is_file() {
        Ok(pgmig)
    } else {
        Err(format!(
            "no pgmig binary at {} (build both with `cargo build --release`, or pass --pgmig PATH)",
            pgmig.display()
        ))
    }
}

/// Runs the benchmark, prints the report; the exit code.
fn bench(opts: &pgmig_bench::Options) -> u8 {
    match pgmig_bench::run(opts) {
        Ok(report) => {
            println!("{}", report.markdown);
            if let Some(p) = &report.written_to {
                eprintln!("bench: report written to {}", p.display());
            }
            if let Some(p) = &report.chart_written_to {
                eprintln!("bench: chart written to {}", p.display());
            }
            if report.all_equal() {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

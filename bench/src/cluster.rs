//! The benchmark's cluster: pgmig-testkit's throwaway cluster with durable settings
//! (fsync, synchronous_commit, full_page_writes on) plus what a DBA sets for a bulk load;
//! see [`DEFAULT_SETTINGS`]. Stopped and removed when the bench ends, unless kept.

use pgmig_testkit::{Cluster, Config};

use crate::Options;

/// Directory-name prefix of the benchmark's cluster.
const DIR_PREFIX: &str = "pgmig-bench-";

/// Server settings for the benchmark (overridable with `--set name=value`).
pub const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("shared_buffers", "4GB"),
    ("maintenance_work_mem", "1GB"),
    ("work_mem", "64MB"),
    ("effective_cache_size", "16GB"),
    ("max_wal_size", "16GB"),
    ("checkpoint_timeout", "30min"),
    ("checkpoint_completion_target", "0.9"),
    ("wal_buffers", "64MB"),
    ("random_page_cost", "1.1"),
    ("autovacuum", "off"),
    // durable, as in production: these are the defaults, stated so the report shows them
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("full_page_writes", "on"),
];

/// initdb + start under `opts.work_dir`, with [`DEFAULT_SETTINGS`] and `opts.settings` over them.
pub fn start(opts: &Options) -> Result<Cluster, String> {
    let mut config = Config::new(DIR_PREFIX);
    config.bin_dir = opts.pg_bin.clone();
    config.parent = opts.work_dir.clone();
    config.start_timeout_secs = 120;
    config.keep = opts.keep;
    for (name, value) in DEFAULT_SETTINGS {
        config.set(name, value);
    }
    for (name, value) in &opts.settings {
        config.set(name, value);
    }
    Cluster::start(config)
}

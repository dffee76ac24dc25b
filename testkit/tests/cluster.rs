//! The harness on a real PostgreSQL (no `cargo test --lib`: that tier needs no database).

use pgmig_testkit::{Cluster, Config};

#[test]
fn a_cluster_serves_with_its_settings_and_is_removed_when_dropped() {
    let mut config = Config::new("pgmig-testkit-");
    config.initdb_no_sync = true;
    config.set("work_mem", "8MB").set("work_mem", "16MB");
    let cluster = Cluster::start(config).unwrap_or_else(|e| panic!("{e}"));
    let base = cluster.base_dir().to_path_buf();
    let work_mem: String = cluster
        .connect("postgres")
        .unwrap()
        .query_one("SHOW work_mem", &[])
        .unwrap()
        .get(0);
    assert_eq!(work_mem, "16MB", "the later value of a setting wins");
    let out = cluster
        .psql("postgres")
        .args(["-c", "SELECT 'psql' || 'ok'"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("psqlok"));
    drop(cluster);
    assert!(!base.exists(), "{} is removed", base.display());
}

//! Scripts run as another role than the superuser.

use std::path::Path;
use std::process::{Command, Output};

use super::{cluster, TestDb};

/// `psql -X -v ON_ERROR_STOP=1 -f file` logged in as `role` (not `SET ROLE`: the session
/// is the role's), in `cwd` (where export.sql writes).
pub(crate) fn psql_as(
    db: &TestDb,
    role: &str,
    file: &Path,
    vars: &[(&str, &str)],
    cwd: &Path,
) -> Output {
    let mut cmd = Command::new(cluster().bin_dir().join("psql"));
    // A later keyword of a conninfo overrides an earlier one: the url's user=postgres.
    cmd.args([
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        &format!("{} user={role}", db.url()),
    ]);
    for (k, v) in vars {
        cmd.arg("-v").arg(format!("{k}={v}"));
    }
    cmd.arg("-f").arg(file).current_dir(cwd);
    cmd.env_remove("PGOPTIONS")
        .env_remove("PGSERVICE")
        .env_remove("PGPASSWORD");
    cmd.output().unwrap()
}

//! The one golden copy of the generated scripts: the committed `out/<model>/`, which README
//! links and a DBA reads. A fresh compile must give it byte for byte, file for file. Run the
//! tests with `SNAPSHOTS=overwrite` to rewrite it, then read `git diff out/` as a DBA would.

use std::collections::BTreeSet;
use std::path::Path;

use snapbox::{Assert, Data};

fn file_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that `out/<model>/` holds exactly the files in `fresh`, with the same bytes; a
/// difference is shown as a diff. With `SNAPSHOTS=overwrite`, rewrites `out/<model>/` instead.
pub fn assert_out_is(model: &str, fresh: &Path) {
    let committed = super::repo_root().join("out").join(model);
    // Compared as they are: no path normalisation (it turns `\\` into `/`), no redactions.
    let assert = Assert::new()
        .action_env("SNAPSHOTS")
        .normalize_paths(false)
        .redact_with(snapbox::Redactions::new());
    if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
        std::fs::create_dir_all(&committed).unwrap();
        for stale in file_names(&committed).difference(&file_names(fresh)) {
            std::fs::remove_file(committed.join(stale)).unwrap();
        }
        for name in file_names(fresh) {
            std::fs::copy(fresh.join(&name), committed.join(&name)).unwrap();
        }
    }
    assert_eq!(
        file_names(&committed),
        file_names(fresh),
        "out/{model} must hold exactly the files compile writes (SNAPSHOTS=overwrite rewrites it)"
    );
    for name in file_names(fresh) {
        let text = std::fs::read_to_string(fresh.join(&name)).unwrap();
        let old = std::fs::read(committed.join(&name)).unwrap();
        if text.as_bytes() != old.as_slice() {
            // snapbox renders the diff (and names the variable that rewrites the file).
            assert.eq(text, Data::read_from(&committed.join(&name), None));
            panic!(
                "out/{model}/{name} differs from a fresh compile (SNAPSHOTS=overwrite rewrites it)"
            );
        }
    }
}

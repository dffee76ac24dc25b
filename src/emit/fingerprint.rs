//! The compile's fingerprint: one sha256 over the scripts of the whole model.
//!
//! A script can't contain its own hash, so the fingerprint is taken over the scripts
//! rendered with an empty fingerprint; every script then carries it as a literal. It is the
//! whole model's (before `--entities` or `--only` choose a part), so the scripts of a
//! subset and those of the full model agree; and it is taken before V1's statistics are
//! added, so two compiles of the same inputs against a live V1 agree too. migrate.sql
//! records it in `_pgmig.log`; verify.sql and rollback.sql refuse a migration that another
//! compile made.

use sha2::{Digest, Sha256};

use super::Scripts;

/// Lowercase hex sha256 over every file's name, length and text, in order.
pub fn of_scripts(scripts: &Scripts) -> String {
    let mut hasher = Sha256::new();
    for (name, text) in &scripts.files {
        // Name and length first: moving text from one file to the next changes the hash.
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((text.len() as u64).to_be_bytes());
        hasher.update(text.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Lowercase hex sha256 of `bytes` (a script file, as `pgmig run` records it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

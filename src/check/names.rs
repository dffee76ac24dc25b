//! Names pgmig derives from the model's names (`_pgmig.map_<step>`, `_pgmig.stage_<step>`,
//! …) within PostgreSQL's identifier limit: it truncates a longer name to 63 bytes, so two
//! steps sharing their first 59 bytes would share one id map. A name that doesn't fit is
//! cut and ended with a hash of the whole name: distinct for distinct names, and the same
//! at every compile. Names that fit are left as they are.

/// PostgreSQL's NAMEDATALEN - 1: the bytes of an identifier it keeps.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// `prefix` followed by `name`, fitted to [`MAX_IDENTIFIER_BYTES`].
pub fn derived(prefix: &str, name: &str) -> String {
    let whole = format!("{prefix}{name}");
    if whole.len() <= MAX_IDENTIFIER_BYTES {
        return whole;
    }
    let suffix = format!("_{:08x}", fnv1a(whole.as_bytes()) as u32);
    let mut cut = MAX_IDENTIFIER_BYTES - suffix.len();
    while !whole.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &whole[..cut])
}

/// FNV-1a, 64 bits: a small, stable hash (std's hasher may change between Rust versions).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_and_long_ones_stay_distinct() {
        assert_eq!(derived("map_", "users"), "map_users");
        let common = "a_table_name_long_enough_to_reach_the_identifier_limit_of_pg";
        let (one, two) = (
            derived("map_", &format!("{common}_one")),
            derived("map_", &format!("{common}_two")),
        );
        assert_ne!(one, two);
        assert_eq!(one.len(), MAX_IDENTIFIER_BYTES);
        assert_eq!(
            one,
            derived("map_", &format!("{common}_one")),
            "deterministic"
        );
        // Never cut inside a character.
        assert!(derived("map_", &"é".repeat(40)).len() <= MAX_IDENTIFIER_BYTES);
    }
}

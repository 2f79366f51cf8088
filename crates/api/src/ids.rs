//! Identifiers: a type prefix and 128 random bits in lower-case hex (`trun_…`), as in the
//! spec's examples. Random, not sequential, so ids leak nothing about volume or order.

use rand::RngCore;

/// Prefix of task run ids.
pub const RUN_PREFIX: &str = "trun_";

/// Returns `prefix` followed by 128 random bits in hex.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut id = String::with_capacity(prefix.len() + 32);
    id.push_str(prefix);
    id.push_str(&hex::encode(bytes));
    id
}

/// A new task run id.
pub fn new_run_id() -> String {
    new_id(RUN_PREFIX)
}

/// Whether `id` has the shape of an id with `prefix`. Used to answer 404 early for ids that
/// cannot exist, without a store lookup.
pub fn looks_like(id: &str, prefix: &str) -> bool {
    id.len() == prefix.len() + 32
        && id.starts_with(prefix)
        && id[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_have_prefix_and_128_bits() {
        let a = new_run_id();
        let b = new_run_id();
        assert!(looks_like(&a, RUN_PREFIX), "{a}");
        assert_ne!(a, b);
        assert!(!looks_like("trun_xyz", RUN_PREFIX));
        assert!(!looks_like(&a.to_uppercase(), RUN_PREFIX));
    }
}

//! Design names: `[a-z0-9-]{1,32}`, the one form a design takes in URLs, object keys and files.

/// The longest design name accepted, in bytes.
pub const MAX_DESIGN_NAME_LEN: usize = 32;

/// `true` when `name` matches `[a-z0-9-]{1,32}`: design names appear in object keys, URLs and
/// file names, so nothing that could leave a path segment is accepted.
pub fn is_design_name(name: &str) -> bool {
    (1..=MAX_DESIGN_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_names_are_short_lowercase_words() {
        assert!(is_design_name("classic"));
        assert!(is_design_name("deal-v2"));
        assert!(is_design_name(&"a".repeat(32)));
        assert!(!is_design_name(&"a".repeat(33)));
        for bad in ["", "Classic", "a_b", "a/b", "../x", "a.wasm", "é", "a b"] {
            assert!(!is_design_name(bad), "{bad:?}");
        }
    }
}

//! Listing ids: `[A-Za-z0-9_-]{1,64}`, the only form that reaches a listing source or an object key.

/// The longest listing id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// `true` when `id` matches `[A-Za-z0-9_-]{1,64}`: nothing that could leave a path segment or a
/// key prefix (`/`, `.`, `%`, control or non-ASCII characters).
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_ascii_words() {
        assert!(is_valid_id("dl-0001"));
        assert!(is_valid_id("A_z-9"));
        assert!(is_valid_id(&"a".repeat(64)));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id(""));
        for hostile in [
            "../etc",
            "..%2F",
            "a/b",
            "a b",
            "é",
            "a\0",
            "a.png",
            "\u{202e}x",
        ] {
            assert!(!is_valid_id(hostile), "{hostile:?}");
        }
    }
}

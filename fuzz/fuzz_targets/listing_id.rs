//! Listing ids: whatever bytes arrive, `is_valid_id` accepts exactly `[A-Za-z0-9_-]{1,64}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(id) = std::str::from_utf8(data) else {
        return;
    };
    let expected = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    assert_eq!(card_request::is_valid_id(id), expected, "{id:?}");
    if expected {
        // Nothing that could leave a path segment or an object key prefix.
        assert!(!id.contains(['/', '.', '%', '\\']));
    }
});

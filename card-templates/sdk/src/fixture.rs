//! Support for the test fixtures in `fixtures/`: designs that pass the host's load-time check and
//! then misbehave on real listings, the shape of a design bug that only real data triggers.

use alloc::string::String;

use crate::CardInput;

/// The listing id of the reference card the host renders before a design goes live
/// (`smoke_input()` in `service/src/render/designs.rs`).
pub const SMOKE_LISTING_ID: &str = "smoke-test";

/// A minimal valid card for the load-time check, or `None` for a real listing.
pub fn pass_load_check(input: &CardInput) -> Option<String> {
    (input.listing.id == SMOKE_LISTING_ID).then(|| String::from("<!doctype html><p>load check</p>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;

    #[test]
    fn only_the_smoke_listing_passes() {
        let mut input = samples::all(None).swap_remove(0).1;
        assert_eq!(pass_load_check(&input), None);
        input.listing.id = SMOKE_LISTING_ID.into();
        let html = pass_load_check(&input).unwrap();
        assert!(html.starts_with("<!doctype html>"));
    }
}

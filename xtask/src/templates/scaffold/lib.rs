//! The `{{name}}` card design (scaffolded by `cargo xtask templates new`): title, price and CPU Mark per dollar beside the photo.
//!
//! Make it yours: change `STYLE` and `markup`, run the tests and the preview
//! (`cargo run --manifest-path card-templates/Cargo.toml -p card-design-{{name}} --example preview -- --screenshot`),
//! look at every PNG, then `cargo xtask templates build`. docs/templates.md has the rules.
#![no_std]

extern crate alloc;

use alloc::borrow::Cow;

use card_sdk::{
    CardInput, DEFAULT_BRAND, Design, Html, RenderError, UNTITLED_LISTING, format_one_decimal,
    format_price, safe_image_data_uri, visible_text,
};

/// The `{{name}}` design.
pub struct {{Type}};

impl Design for {{Type}} {
    /// Used in URLs (`?variant={{name}}`), object keys and `X-Card-Template`.
    const NAME: &'static str = "{{name}}";
    /// Bump it when the pixels change.
    const VERSION: &'static str = "0.1.0";
    const STYLE: &'static str = STYLE;

    /// Never fails: every missing field has a fallback.
    fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
        let listing = &input.listing;
        html.raw("<div class=\"card\"><main class=\"text\">");
        let brand = visible_text(&input.brand, 32).unwrap_or(Cow::Borrowed(DEFAULT_BRAND));
        html.raw("<p class=\"brand\" dir=\"auto\">")
            .text(&brand)
            .raw("</p>");
        // Cut in Rust before CSS clamps it: a 100k-character title costs nothing.
        let title = visible_text(&listing.title, 160).unwrap_or(Cow::Borrowed(UNTITLED_LISTING));
        html.raw("<h1 class=\"title\" dir=\"auto\">")
            .text(&title)
            .raw("</h1>");
        html.raw("<p class=\"price\" dir=\"ltr\">")
            .text(&format_price(listing.price_cents, listing.currency.trim()))
            .raw("</p>");
        if let Some(figure) = listing.cpu_mark_per_dollar.and_then(format_one_decimal) {
            html.raw("<p class=\"score\"><b>")
                .text(&figure)
                .raw("</b> CPU Mark per dollar</p>");
        }
        html.raw("</main>");
        match input
            .image_data_uri
            .as_deref()
            .and_then(safe_image_data_uri)
        {
            Some(uri) => {
                html.raw("<div class=\"photo\"><img alt=\"\" src=\"")
                    .text(uri)
                    .raw("\"></div>");
            }
            None => {
                html.raw("<div class=\"photo\">No photo</div>");
            }
        }
        html.raw("</div>");
        Ok(())
    }
}

card_sdk::export_design!({{Type}});

/// The page's own CSS, after the SDK's reset and font stack. Listing data never goes here.
const STYLE: &str = r"
html,body{background:#F8FAFC}
body{color:#0F172A}
.card{display:flex;gap:48px;width:100%;height:100%;padding:64px}
.text{flex:1;min-width:0;display:flex;flex-direction:column}
.brand{font-size:20px;font-weight:700;letter-spacing:2px;text-transform:uppercase;color:#64748B;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.title{margin-top:24px;font-size:44px;line-height:1.2;font-weight:700;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere}
.price{margin-top:auto;font-size:64px;font-weight:800;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.score{margin-top:8px;font-size:24px;color:#475569}
.photo{flex:none;width:420px;height:502px;border-radius:24px;overflow:hidden;background:#E2E8F0;display:flex;align-items:center;justify-content:center;color:#94A3B8;font-size:20px;font-weight:700;text-transform:uppercase;letter-spacing:2px}
.photo img{width:100%;height:100%;object-fit:contain}
";

#[cfg(test)]
mod tests {
    use super::*;
    use card_sdk::testing::{self, Expect, sample};

    /// The host's rules, checked over every sample input; add your design's own tests below.
    #[test]
    fn meets_the_host_contract() {
        testing::check::<{{Type}}>(&Expect {
            marker: "class=\"card\"",
            placeholder: Some("No photo"),
        });
    }

    #[test]
    fn shows_the_price_and_the_score() {
        let html = testing::render::<{{Type}}>(sample("mini-pc-bargain"));
        assert!(html.contains("$289<"), "price");
        assert!(html.contains("<b>73.2</b> CPU Mark per dollar"), "score");
    }
}

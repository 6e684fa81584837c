//! The `minimal` card design: photo-led and light, the listing image large beside a quiet text column.
//!
//! Layout (CSS pixels, 1200×630):
//! - **Pixel-check region:** the bottom band, `x ∈ [0, 1200)`, `y ∈ [620, 630)`, is solid
//!   [`BAND_COLOR`] (`#2563EB`). It is absolutely positioned above everything else and the
//!   photo and text end at `y = 620`, so nothing overlaps it whatever the listing says. Keep
//!   it stable across versions: service tests tell designs apart by it.
//! - Left (`x ∈ [0, 620)`, `y ∈ [0, 620)`): the listing photo, whole (`object-fit: contain`)
//!   on a pale grey that matches typical product shots; without a usable image, a quiet
//!   "No photo" panel keeps the composition.
//! - Right (`x ∈ [620, 1200)`): brand, title (at most four lines), CPU, then at the bottom the
//!   price, the specs on one line, a hairline, and the CPU Mark per dollar beside the
//!   condition and seller.
//!
//! Every piece of listing text is escaped through [`Html::text`] and marked `dir="auto"` (or
//! isolated in `<bdi>`); only literal markup from this file is emitted raw, and listing data
//! never reaches the CSS.
#![no_std]

extern crate alloc;

use alloc::borrow::Cow;

use card_sdk::{
    CardInput, Condition, DEFAULT_BRAND, Design, Html, Listing, RenderError, UNTITLED_LISTING,
    fit_size, format_count, format_one_decimal, format_price, ram_label, safe_image_data_uri,
    storage_label, visible_text,
};

/// Colour of the pixel-check band at `y ∈ [620, 630)`, over the full width.
pub const BAND_COLOR: &str = "#2563EB";

const TITLE_MAX: usize = 160;
const CPU_MAX: usize = 60;
const SELLER_MAX: usize = 40;
const SPEC_MAX: usize = 28;
const BRAND_MAX: usize = 32;

/// The `minimal` design.
pub struct Minimal;

impl Design for Minimal {
    const NAME: &'static str = "minimal";
    const VERSION: &'static str = "1.0.0";
    const STYLE: &'static str = STYLE;

    /// Never fails: every missing field has a fallback.
    fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
        let listing = &input.listing;
        let image = input
            .image_data_uri
            .as_deref()
            .and_then(safe_image_data_uri);
        html.raw("<div class=\"card\">");
        photo(html, image);
        html.raw("<main class=\"text\">");
        let brand = visible_text(&input.brand, BRAND_MAX).unwrap_or(Cow::Borrowed(DEFAULT_BRAND));
        html.raw("<header class=\"brand\"><i></i><span dir=\"auto\">")
            .text(&brand)
            .raw("</span></header>");
        let title =
            visible_text(&listing.title, TITLE_MAX).unwrap_or(Cow::Borrowed(UNTITLED_LISTING));
        html.raw("<h1 class=\"title\" dir=\"auto\">")
            .text(&title)
            .raw("</h1>");
        if let Some(cpu) = listing
            .cpu_name
            .as_deref()
            .and_then(|c| visible_text(c, CPU_MAX))
        {
            html.raw("<p class=\"cpu\" dir=\"auto\">")
                .text(&cpu)
                .raw("</p>");
        }
        html.raw("<div class=\"bottom\">");
        price(html, listing);
        specs(html, listing);
        foot(html, listing);
        html.raw("</div></main><div class=\"band\"></div></div>");
        Ok(())
    }
}

card_sdk::export_design!(Minimal);

/// The page's own CSS, after the SDK's reset and font stack (`Html::document`). Listing data
/// never goes here.
const STYLE: &str = r"
html,body{background:#FAFAF7}
body{color:#111827}
.card{position:relative;width:100%;height:100%;background:#FAFAF7}
.band{position:absolute;left:0;bottom:0;width:100%;height:10px;background:#2563EB;z-index:10}
.photo{position:absolute;left:0;top:0;width:620px;height:620px;background:#EEF0F3;display:flex;align-items:center;justify-content:center;overflow:hidden}
.photo img{width:100%;height:100%;object-fit:contain;display:block}
.ph{background:linear-gradient(160deg,#F3F4F6 0%,#E5E7EB 100%);flex-direction:column;gap:20px;color:#9CA3AF;font-size:18px;font-weight:700;letter-spacing:3px;text-transform:uppercase}
.text{position:absolute;left:620px;top:0;width:580px;height:620px;padding:54px 60px 40px 60px;display:flex;flex-direction:column}
.brand{display:flex;align-items:center;gap:12px;height:22px;font-size:16px;font-weight:700;letter-spacing:3px;text-transform:uppercase;color:#6B7280;white-space:nowrap;overflow:hidden}
.brand i{flex:none;width:12px;height:12px;border-radius:3px;background:#2563EB}
.brand span{overflow:hidden;text-overflow:ellipsis}
.title{margin-top:26px;font-size:38px;line-height:1.22;font-weight:700;letter-spacing:-.4px;color:#111827;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:4;overflow:hidden;overflow-wrap:anywhere;max-height:186px}
.cpu{margin-top:16px;font-size:20px;color:#4B5563;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.bottom{margin-top:auto;min-width:0}
.price{font-weight:800;line-height:1.05;letter-spacing:-.022em;color:#111827;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.p0{font-size:72px}.p1{font-size:62px}.p2{font-size:54px}.p3{font-size:46px}.p4{font-size:38px}.p5{font-size:30px}.p6{font-size:24px}
.p-na{font-size:40px;font-weight:700;color:#9CA3AF;letter-spacing:0}
.specs{margin-top:12px;font-size:20px;color:#6B7280;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.specs .dot{margin:0 10px;color:#D1D5DB}
.rule{margin-top:24px;height:1px;background:#E5E7EB}
.foot{margin-top:18px;display:flex;align-items:center;gap:16px;min-width:0;height:34px}
.score{flex:none;display:flex;align-items:baseline;gap:8px;white-space:nowrap}
.score b{font-size:26px;font-weight:800;color:#2563EB;letter-spacing:-.3px}
.score small{font-size:14px;font-weight:700;letter-spacing:1.6px;text-transform:uppercase;color:#6B7280}
.meta{margin-left:auto;min-width:0;display:flex;align-items:center;gap:12px;justify-content:flex-end}
.cond{flex:none;max-width:170px;height:30px;line-height:30px;padding:0 12px;border-radius:6px;font-size:15px;font-weight:700;letter-spacing:.4px;text-transform:capitalize;color:#374151;background:#F3F4F6;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.c-new{color:#166534;background:#DCFCE7}
.c-refurb{color:#075985;background:#E0F2FE}
.c-used{color:#92400E;background:#FEF3C7}
.seller{min-width:0;font-size:18px;color:#6B7280;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
";

/// Placeholder art for listings without a photo: a desktop-and-monitor outline.
const PLACEHOLDER_ICON: &str = r##"<svg width="168" height="168" viewBox="0 0 64 64" fill="none" stroke="#B6BCC6" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="6" y="12" width="36" height="26" rx="3"/><path d="M18 48h12M24 38v10"/><rect x="46" y="12" width="12" height="36" rx="2"/><path d="M50 18h4M50 23h4"/><circle cx="52" cy="41" r="1.6"/></svg>"##;

fn photo(html: &mut Html, image: Option<&str>) {
    if let Some(uri) = image {
        // `alt=""`: decorative, and an undecodable image then shows the grey panel only.
        html.raw("<div class=\"photo\"><img alt=\"\" src=\"")
            .text(uri)
            .raw("\"></div>");
    } else {
        html.raw("<div class=\"photo ph\">")
            .raw(PLACEHOLDER_ICON)
            .raw("<span>No photo</span></div>");
    }
}

/// Price font sizes, largest first: the text column is 460 px wide.
const PRICE_SIZES: [(f32, &str); 7] = [
    (72.0, "price p0"),
    (62.0, "price p1"),
    (54.0, "price p2"),
    (46.0, "price p3"),
    (38.0, "price p4"),
    (30.0, "price p5"),
    (24.0, "price p6"),
];
const TEXT_WIDTH: f32 = 460.0;

fn price(html: &mut Html, listing: &Listing) {
    if listing.price_cents.is_some() {
        let price = format_price(listing.price_cents, listing.currency.trim());
        let (class, _) = fit_size(&price, &PRICE_SIZES, TEXT_WIDTH);
        html.raw("<div class=\"")
            .raw(class)
            .raw("\" dir=\"ltr\">")
            .text(&price)
            .raw("</div>");
    } else {
        html.raw("<div class=\"price p-na\">")
            .text(card_sdk::PRICE_UNAVAILABLE)
            .raw("</div>");
    }
}

/// RAM and storage on one line, each isolated for bidi.
fn specs(html: &mut Html, listing: &Listing) {
    let kind = listing
        .storage_type
        .as_deref()
        .and_then(|k| visible_text(k, SPEC_MAX));
    let parts = [
        ram_label(listing.ram_gb),
        storage_label(listing.storage_gb, kind.as_deref()),
    ];
    if parts.iter().all(Option::is_none) {
        return;
    }
    html.raw("<p class=\"specs\">");
    for (i, part) in parts.iter().flatten().enumerate() {
        if i > 0 {
            html.raw("<span class=\"dot\">·</span>");
        }
        html.raw("<bdi>").text(part).raw("</bdi>");
    }
    html.raw("</p>");
}

/// Below a hairline: CPU Mark per dollar (or the CPU Mark) on the left; condition and seller
/// on the right. Left out, hairline and all, when the listing has none of them.
fn foot(html: &mut Html, listing: &Listing) {
    let mark = listing.cpu_mark.filter(|&m| m > 0);
    let per_dollar = listing
        .cpu_mark_per_dollar
        .and_then(|v| format_one_decimal(v).map(|text| (v, text)));
    let condition = listing
        .condition
        .as_deref()
        .and_then(|c| visible_text(c, SPEC_MAX));
    let seller = listing
        .seller
        .as_deref()
        .and_then(|s| visible_text(s, SELLER_MAX));
    if per_dollar.is_none() && mark.is_none() && condition.is_none() && seller.is_none() {
        return;
    }
    html.raw("<div class=\"rule\"></div><div class=\"foot\">");
    if let Some((value, text)) = per_dollar {
        // No real listing gets near it; a 300-digit `f64::MAX` would only be an ellipsis.
        let figure = if value >= 100_000.0 {
            Cow::Borrowed("99,999+")
        } else {
            Cow::Owned(text)
        };
        html.raw("<p class=\"score\"><b dir=\"ltr\">")
            .text(&figure)
            .raw("</b><small>CPU Mark / $</small></p>");
    } else if let Some(mark) = mark {
        html.raw("<p class=\"score\"><b dir=\"ltr\">")
            .text(&format_count(u64::from(mark)))
            .raw("</b><small>CPU Mark</small></p>");
    }
    html.raw("<div class=\"meta\">");
    if let Some(condition) = condition {
        let class = match Condition::of(&condition) {
            Condition::New => "cond c-new",
            Condition::Refurbished => "cond c-refurb",
            Condition::Used => "cond c-used",
            Condition::Other => "cond",
        };
        html.raw("<span class=\"")
            .raw(class)
            .raw("\" dir=\"auto\">")
            .text(&condition)
            .raw("</span>");
    }
    if let Some(seller) = seller {
        html.raw("<span class=\"seller\" dir=\"auto\">")
            .text(&seller)
            .raw("</span>");
    }
    html.raw("</div></div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use card_sdk::testing::{self, Expect, TINY_PNG as IMAGE, sample};

    fn render(input: CardInput) -> String {
        testing::render::<Minimal>(input)
    }

    #[test]
    fn meets_the_host_contract() {
        testing::check::<Minimal>(&Expect {
            marker: BAND_COLOR,
            placeholder: Some("photo ph"),
        });
    }

    #[test]
    fn full_listing_shows_every_field() {
        let html = render(sample("mini-pc-bargain"));
        for expected in [
            "Beelink SER5 Mini PC",
            "$289<",
            ">73.2</b><small>CPU Mark / $",
            "AMD Ryzen 5 5560U",
            "<bdi>16 GB RAM</bdi>",
            "<bdi>512 GB NVMe SSD</bdi>",
            "cond c-new\" dir=\"auto\">new<",
            ">Amazon<",
            ">Deal Brain<",
            IMAGE,
        ] {
            assert!(html.contains(expected), "missing {expected:?}");
        }
    }

    #[test]
    fn missing_fields_have_fallbacks() {
        let html = render(sample("bare"));
        assert!(html.contains("Price n/a"));
        assert!(html.contains("photo ph"));
        assert!(!html.contains("class=\"score\""));
        assert!(!html.contains("class=\"specs\""));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("class=\"seller\""));
        assert!(
            !html.contains("class=\"rule\""),
            "no hairline above nothing"
        );
        let html = render(sample("no-price"));
        assert!(html.contains(">24,870</b><small>CPU Mark<"));
        let html = render(sample("empty-strings"));
        assert!(!html.contains("class=\"seller\""));
    }

    #[test]
    fn nan_and_huge_figures_stay_short() {
        let html = render(sample("nan"));
        assert!(!html.contains("class=\"score\""), "NaN is no score");
        assert!(html.contains("$0<"));
        let html = render(sample("extreme-numbers"));
        assert!(html.contains(">99,999+</b>"));
        assert!(html.len() < 10 * 1024 + IMAGE.len(), "{} bytes", html.len());
    }
}

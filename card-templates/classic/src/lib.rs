//! The `classic` card design: a dark 1200×630 Open Graph card with CPU Mark per dollar as the hero.
//!
//! Layout (CSS pixels):
//! - **Pixel-check region:** the left 16 px column, `x ∈ [0, 16)`, `y ∈ [0, 630)`, is solid
//!   [`BRAND_BAR_COLOR`] (`#FF6A13`). It is an absolutely positioned bar above everything
//!   else, and all content starts at `x = 72`, so nothing ever overlaps it. Host tests use it
//!   to tell a rendered card from a blank or error page; keep it stable across versions.
//! - Left column (`x ∈ [72, 648)`): brand mark and name, title (at most two lines), CPU name,
//!   the hero figure (CPU Mark / $) beside the price and CPU Mark, spec chips.
//! - Right (`x ∈ [688, 1144)`): the listing image in a rounded square, or a placeholder
//!   panel, with the seller as a caption.
//!
//! Every piece of listing text is escaped through [`Html::text`] and marked `dir="auto"` so
//! right-to-left titles lay out correctly; only literal markup from this file is emitted raw.
//! The page needs no JavaScript, no web font and no URL other than the image `data:` URI.
#![no_std]

extern crate alloc;

use alloc::borrow::Cow;
use alloc::string::String;

use card_sdk::{
    CardInput, Condition, DEFAULT_BRAND, Design, Html, Listing, RenderError, UNTITLED_LISTING,
    first_grapheme, fit_size, format_count, format_one_decimal, format_price, ram_label,
    safe_image_data_uri, storage_label, visible_text,
};

/// Colour of the pixel-check bar at `x ∈ [0, 16)`, over the full height.
pub const BRAND_BAR_COLOR: &str = "#FF6A13";

/// Titles are cut in Rust before CSS clamps them to two lines, so a 100k-character title
/// costs neither HTML size nor layout time.
const TITLE_MAX: usize = 200;
const CPU_MAX: usize = 60;
const SELLER_MAX: usize = 40;
const CHIP_MAX: usize = 28;
const BRAND_MAX: usize = 32;

/// The `classic` design.
pub struct Classic;

impl Design for Classic {
    const NAME: &'static str = "classic";
    const VERSION: &'static str = "1.1.0";
    const STYLE: &'static str = STYLE;
    /// Markup, plus the background image as base64.
    const CAPACITY: usize = 8 * 1024 + BACKGROUND_PNG.len() * 4 / 3 + 4;

    /// Never fails: every missing field has a fallback.
    fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
        let listing = &input.listing;
        // The background goes in the card's own `style`: the stylesheet is fixed text.
        html.raw("<div class=\"card\" style=\"background-image:url(")
            .data_uri("image/png", BACKGROUND_PNG)
            .raw(")\"><div class=\"bar\"></div><main class=\"info\">");
        brand(html, &input.brand);
        title(html, &listing.title);
        cpu(html, listing);
        stats(html, listing);
        chips(html, listing);
        html.raw("</main>");
        media(
            html,
            input.image_data_uri.as_deref(),
            listing.seller.as_deref(),
        );
        html.raw("</div>");
        Ok(())
    }
}

card_sdk::export_design!(Classic);

/// The card's background: three gradients (an orange glow top right, a blue one bottom left, over
/// a dark diagonal), painted by Chromium at a quarter of the card's size and stretched over it:
///
/// ```sh
/// cargo run --manifest-path card-templates/Cargo.toml -p card-preview -- paint \
///   'radial-gradient(900px 500px at 100% 0%,rgba(255,106,19,.16),transparent 60%),radial-gradient(700px 420px at 0% 100%,rgba(56,189,248,.08),transparent 60%),linear-gradient(160deg,#111A2E 0%,#0B1020 55%,#090D1A 100%)' \
///   1200x630 0.25 card-templates/classic/assets/background.png
/// ```
///
/// Why an image: as CSS, Chromium rastered those gradients again on every card, and their
/// dithering noise doubled the PNG; the stretched image is cheaper to paint and compress and
/// looks the same. The figures: docs/performance.md ("The classic's background").
const BACKGROUND_PNG: &[u8] = include_bytes!("../assets/background.png");

/// The page's own CSS, after the SDK's reset and font stack (`Html::document`). Listing data
/// never goes here: variants are classes chosen in Rust.
const STYLE: &str = r"
html,body{background:#0B1020}
body{color:#F8FAFC;text-rendering:optimizeLegibility}
.card{position:relative;width:100%;height:100%;display:flex;gap:40px;padding:52px 56px 52px 72px;background:#0B1020 0 0/100% 100%}
.bar{position:absolute;left:0;top:0;width:16px;height:100%;background:#FF6A13;z-index:10}
.info{flex:1;min-width:0;display:flex;flex-direction:column}
.brand{display:flex;align-items:center;gap:14px;height:44px}
.mark{flex:none;width:44px;height:44px;border-radius:12px;background:#FF6A13;color:#0B1020;font-size:19px;font-weight:800;letter-spacing:-.5px;display:flex;align-items:center;justify-content:center;text-transform:uppercase}
.bname{font-size:25px;font-weight:700;letter-spacing:-.2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.title{margin-top:30px;font-size:42px;line-height:1.18;font-weight:700;letter-spacing:-.4px;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden;overflow-wrap:anywhere;max-height:100px}
.cpu{margin-top:14px;display:flex;align-items:center;gap:10px;font-size:23px;color:#CBD5E1;min-width:0}
.cpu svg{flex:none}
.cpu span{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.stats{margin-top:auto;display:flex;align-items:flex-end;gap:32px;min-width:0}
.hero{flex:none;display:flex;flex-direction:column;max-width:340px}
.num{font-weight:800;line-height:1;letter-spacing:-.025em;color:#FF8A3D;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.h0{font-size:124px}.h1{font-size:108px}.h2{font-size:92px}.h3{font-size:76px}.h4{font-size:64px}.h5{font-size:52px}.h6{font-size:44px}
.plain{color:#F8FAFC}
.lbl{margin-top:12px;font-size:17px;font-weight:700;letter-spacing:2.2px;text-transform:uppercase;color:#94A3B8;white-space:nowrap}
.side{min-width:0;padding:0 0 4px 32px;border-left:2px solid rgba(148,163,184,.25);display:flex;flex-direction:column;gap:10px}
.price{font-weight:700;line-height:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;letter-spacing:-.02em}
.p0{font-size:54px}.p1{font-size:46px}.p2{font-size:40px}.p3{font-size:34px}.p4{font-size:28px}.p5{font-size:24px}
.p-na{font-size:36px;color:#94A3B8;letter-spacing:0}
.solo{padding-left:0;border-left:0}
.mark-v{font-size:21px;color:#CBD5E1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.mark-v b{color:#F8FAFC;font-weight:700}
.chips{margin-top:34px;display:flex;gap:10px;min-width:0;list-style:none}
.chip{flex:0 1 auto;min-width:0;height:44px;line-height:42px;padding:0 18px;border-radius:22px;font-size:20px;font-weight:600;color:#E2E8F0;background:rgba(148,163,184,.13);border:1px solid rgba(148,163,184,.3);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ram{flex:none}
.cond{flex:none;max-width:200px;text-transform:capitalize}
.c-new{color:#86EFAC;background:rgba(34,197,94,.14);border-color:rgba(34,197,94,.45)}
.c-refurb{color:#7DD3FC;background:rgba(56,189,248,.14);border-color:rgba(56,189,248,.45)}
.c-used{color:#FCD34D;background:rgba(245,158,11,.14);border-color:rgba(245,158,11,.45)}
.media{flex:none;width:456px;display:flex;flex-direction:column;justify-content:space-between}
.frame{width:456px;height:456px;border-radius:28px;overflow:hidden;background:#FFFFFF;box-shadow:0 24px 60px rgba(0,0,0,.45),0 0 0 1px rgba(255,255,255,.08);display:flex;align-items:center;justify-content:center}
.frame img{width:100%;height:100%;object-fit:contain;display:block}
.ph{background:linear-gradient(145deg,#1E293B 0%,#0F172A 100%);box-shadow:inset 0 0 0 1px rgba(148,163,184,.18);flex-direction:column;gap:18px;color:#64748B;font-size:20px;font-weight:600;letter-spacing:1.5px;text-transform:uppercase}
.seller{height:44px;line-height:44px;font-size:20px;color:#94A3B8;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:0 6px}
.seller b{color:#E2E8F0;font-weight:600}
";

/// A small CPU icon for the CPU line (inline SVG: no request, scales crisply).
const CPU_ICON: &str = r##"<svg width="26" height="26" viewBox="0 0 24 24" fill="none" stroke="#FF8A3D" stroke-width="1.8" stroke-linecap="round" aria-hidden="true"><rect x="6" y="6" width="12" height="12" rx="2"/><rect x="9.5" y="9.5" width="5" height="5" rx=".8"/><path d="M9 3v3M15 3v3M9 18v3M15 18v3M3 9h3M3 15h3M18 9h3M18 15h3"/></svg>"##;

/// Placeholder art for listings without an image: a muted desktop-and-monitor outline.
const PLACEHOLDER_ICON: &str = r##"<svg width="150" height="150" viewBox="0 0 64 64" fill="none" stroke="#475569" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="6" y="12" width="36" height="26" rx="3"/><path d="M18 48h12M24 38v10"/><rect x="46" y="12" width="12" height="36" rx="2"/><path d="M50 18h4M50 23h4"/><circle cx="52" cy="41" r="1.6"/></svg>"##;

fn brand(html: &mut Html, brand: &str) {
    let name = visible_text(brand, BRAND_MAX).unwrap_or(Cow::Borrowed(DEFAULT_BRAND));
    html.raw("<header class=\"brand\"><span class=\"mark\" aria-hidden=\"true\">");
    // Initials of the first two words ("Deal Brain" → "DB"), whole characters only.
    for word in name.split_whitespace().take(2) {
        html.text(first_grapheme(word));
    }
    html.raw("</span><span class=\"bname\" dir=\"auto\">")
        .text(&name)
        .raw("</span></header>");
}

fn title(html: &mut Html, title: &str) {
    let title = visible_text(title, TITLE_MAX).unwrap_or(Cow::Borrowed(UNTITLED_LISTING));
    html.raw("<h1 class=\"title\" dir=\"auto\">")
        .text(&title)
        .raw("</h1>");
}

fn cpu(html: &mut Html, listing: &Listing) {
    let Some(name) = listing
        .cpu_name
        .as_deref()
        .and_then(|n| visible_text(n, CPU_MAX))
    else {
        return;
    };
    html.raw("<p class=\"cpu\">")
        .raw(CPU_ICON)
        .raw("<span dir=\"auto\">")
        .text(&name)
        .raw("</span></p>");
}

/// Width available to the hero figure, the divider and the price column, in CSS pixels:
/// the left column (576 px) minus the gap, border and padding between the two (66 px).
const STATS_WIDTH: f32 = 510.0;
/// The hero never takes more than this, so the price always keeps a readable width.
const HERO_MAX_WIDTH: f32 = 340.0;
/// Hero font sizes, largest first, with their CSS classes.
const HERO_SIZES: [(f32, &str); 7] = [
    (124.0, "num h0"),
    (108.0, "num h1"),
    (92.0, "num h2"),
    (76.0, "num h3"),
    (64.0, "num h4"),
    (52.0, "num h5"),
    (44.0, "num h6"),
];
/// Price font sizes, largest first, with their CSS classes.
const PRICE_SIZES: [(f32, &str); 6] = [
    (54.0, "price p0"),
    (46.0, "price p1"),
    (40.0, "price p2"),
    (34.0, "price p3"),
    (28.0, "price p4"),
    (24.0, "price p5"),
];

/// What the big figure on the left shows.
enum Hero {
    /// CPU Mark per dollar, the design's headline (orange).
    PerDollar(String),
    /// No per-dollar figure (no price), but a CPU Mark: show that instead (white), so a
    /// priceless listing still leads with a number rather than a gap.
    CpuMark(String),
    /// Neither: no hero; the price (or "Price n/a") stands alone.
    Missing,
}

impl Hero {
    fn of(listing: &Listing) -> Self {
        let mark = listing.cpu_mark.filter(|&m| m > 0);
        match (
            listing.cpu_mark_per_dollar.and_then(format_one_decimal),
            mark,
        ) {
            (Some(figure), _) => Self::PerDollar(figure),
            (None, Some(mark)) => Self::CpuMark(format_count(u64::from(mark))),
            (None, None) => Self::Missing,
        }
    }
}

fn stats(html: &mut Html, listing: &Listing) {
    let hero = Hero::of(listing);
    html.raw("<div class=\"stats\">");
    let hero_width = match &hero {
        Hero::PerDollar(figure) | Hero::CpuMark(figure) => {
            let (class, width) = fit_size(figure, &HERO_SIZES, HERO_MAX_WIDTH);
            html.raw("<div class=\"hero\"><div class=\"").raw(class);
            if matches!(hero, Hero::CpuMark(_)) {
                html.raw(" plain\">")
                    .text(figure)
                    .raw("</div><div class=\"lbl\">CPU Mark");
            } else {
                html.raw("\">")
                    .text(figure)
                    .raw("</div><div class=\"lbl\">CPU Mark / $");
            }
            html.raw("</div></div><div class=\"side\">");
            width
        }
        // No figure at all: the price stands alone rather than beside an empty slot.
        Hero::Missing => {
            html.raw("<div class=\"side solo\">");
            0.0
        }
    };
    if listing.price_cents.is_some() {
        let price = format_price(listing.price_cents, listing.currency.trim());
        let (class, _) = fit_size(&price, &PRICE_SIZES, STATS_WIDTH - hero_width);
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
    // The CPU Mark goes under the price unless it already is the hero.
    if let (Hero::PerDollar(_), Some(mark)) = (&hero, listing.cpu_mark.filter(|&m| m > 0)) {
        html.raw("<div class=\"mark-v\">CPU Mark <b>")
            .text(&format_count(u64::from(mark)))
            .raw("</b></div>");
    }
    html.raw("</div></div>");
}

/// Colour class for the condition chip, from a fixed list (data never reaches the CSS).
fn condition_class(condition: &str) -> &'static str {
    match Condition::of(condition) {
        Condition::New => "chip cond c-new",
        Condition::Refurbished => "chip cond c-refurb",
        Condition::Used => "chip cond c-used",
        Condition::Other => "chip cond",
    }
}

fn chips(html: &mut Html, listing: &Listing) {
    let ram = ram_label(listing.ram_gb);
    let storage_kind = listing
        .storage_type
        .as_deref()
        .and_then(|k| visible_text(k, CHIP_MAX));
    let storage = storage_label(listing.storage_gb, storage_kind.as_deref());
    let condition = listing
        .condition
        .as_deref()
        .and_then(|c| visible_text(c, CHIP_MAX));
    if ram.is_none() && storage.is_none() && condition.is_none() {
        return;
    }
    html.raw("<ul class=\"chips\">");
    // RAM labels are short and never shrink; a long storage kind gives way with an ellipsis.
    for (class, label) in [("chip ram", ram), ("chip", storage)] {
        if let Some(label) = label {
            html.raw("<li class=\"")
                .raw(class)
                .raw("\" dir=\"auto\">")
                .text(&label)
                .raw("</li>");
        }
    }
    if let Some(condition) = condition {
        html.raw("<li class=\"")
            .raw(condition_class(&condition))
            .raw("\" dir=\"auto\">")
            .text(&condition)
            .raw("</li>");
    }
    html.raw("</ul>");
}

fn media(html: &mut Html, image: Option<&str>, seller: Option<&str>) {
    html.raw("<aside class=\"media\">");
    match image.and_then(safe_image_data_uri) {
        Some(uri) => {
            // `alt=""`: the image is decorative here, and an undecodable one then shows
            // nothing rather than a broken-image icon.
            html.raw("<div class=\"frame\"><img alt=\"\" src=\"")
                .text(uri)
                .raw("\"></div>");
        }
        None => {
            html.raw("<div class=\"frame ph\">")
                .raw(PLACEHOLDER_ICON)
                .raw("<span>No photo</span></div>");
        }
    }
    if let Some(seller) = seller.and_then(|s| visible_text(s, SELLER_MAX)) {
        html.raw("<p class=\"seller\">Sold by <b><bdi>")
            .text(&seller)
            .raw("</bdi></b></p>");
    }
    html.raw("</aside>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_sdk::testing::{self, Expect, TINY_PNG as IMAGE, sample};

    fn render(input: CardInput) -> String {
        testing::render::<Classic>(input)
    }

    #[test]
    fn meets_the_host_contract() {
        testing::check::<Classic>(&Expect {
            marker: BRAND_BAR_COLOR,
            placeholder: Some("frame ph"),
        });
    }

    #[test]
    fn full_listing_shows_every_field() {
        let html = render(sample("mini-pc-bargain"));
        for expected in [
            "Beelink SER5 Mini PC",
            "$289<",
            "73.2",
            "CPU Mark / $",
            "CPU Mark <b>21,160</b>",
            "AMD Ryzen 5 5560U",
            "16 GB RAM",
            "512 GB NVMe SSD",
            "c-new\" dir=\"auto\">new<",
            "Sold by <b><bdi>Amazon</bdi>",
            ">DB<",
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
        assert!(!html.contains("class=\"hero\""));
        assert!(html.contains("side solo"));
        assert!(!html.contains("CPU Mark <b>"));
        assert!(!html.contains("class=\"chips\""));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("Sold by"));
        assert!(html.contains("frame ph"));
    }

    #[test]
    fn without_price_the_cpu_mark_leads() {
        let html = render(sample("no-price"));
        assert!(html.contains("plain\">24,870<"));
        assert!(html.contains(">CPU Mark</div>"));
        assert!(!html.contains("CPU Mark / $"));
        assert!(!html.contains("CPU Mark <b>"), "the CPU Mark is shown once");
        assert!(html.contains("Price n/a"));
    }

    #[test]
    fn empty_strings_drop_their_elements() {
        let html = render(sample("empty-strings"));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("Sold by"));
    }

    #[test]
    fn long_title_is_cut_before_the_browser_sees_it() {
        let html = render(sample("long-title"));
        let background = card_sdk::data_uri("image/png", BACKGROUND_PNG);
        assert!(html.contains(&background));
        let markup = html.len() - background.len() - IMAGE.len();
        assert!(markup < 12 * 1024, "{markup} bytes");
        assert!(html.contains("…</h1>"));
        assert!(html.contains("1,234.6"));
    }

    #[test]
    fn non_figures_show_a_dash() {
        let html = render(sample("nan"));
        assert!(
            !html.contains("class=\"hero\""),
            "NaN must not reach the card"
        );
        assert!(html.contains("$0<"));
        assert!(!html.contains("GB RAM"));
    }
}

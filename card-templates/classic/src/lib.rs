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
    CardInput, Guest, Html, Listing, OG_CARD_SIZE, RenderError, TemplateInfo, first_grapheme,
    format_count, format_one_decimal, format_price, ram_label, safe_image_data_uri, storage_label,
    truncate_graphemes,
};

/// Design name reported by `describe` (used in object keys and `X-Card-Template`).
pub const NAME: &str = "classic";
/// Design version reported by `describe`; bump it when the pixels change.
pub const VERSION: &str = "1.0.0";
/// Colour of the pixel-check bar at `x ∈ [0, 16)`, over the full height.
pub const BRAND_BAR_COLOR: &str = "#FF6A13";

/// Titles are cut in Rust before CSS clamps them to two lines, so a 100k-character title
/// costs neither HTML size nor layout time.
const TITLE_MAX: usize = 200;
const CPU_MAX: usize = 60;
const SELLER_MAX: usize = 40;
const CHIP_MAX: usize = 28;
const BRAND_MAX: usize = 32;
/// Used when the host passes an empty brand, so the card never shows an empty mark.
const DEFAULT_BRAND: &str = "Deal Brain";

/// The `classic` design.
pub struct Classic;

impl Guest for Classic {
    fn describe() -> TemplateInfo {
        card_sdk::og_template_info(NAME, VERSION)
    }

    fn render(input: CardInput) -> Result<String, RenderError> {
        card_sdk::require_size(&input, OG_CARD_SIZE)?;
        Ok(render_card(&input))
    }
}

card_sdk::export_design!(Classic);

/// The page's fixed CSS. Listing data never goes here: variants are classes chosen in Rust.
///
/// Fonts are the locally installed families (Noto first, DejaVu/Liberation as fallbacks);
/// Chromium falls back per character for Arabic, Hebrew, CJK and emoji.
const STYLE: &str = r#"
*{box-sizing:border-box;margin:0;padding:0}
html,body{width:1200px;height:630px;overflow:hidden;background:#0B1020}
body{font-family:"Noto Sans","DejaVu Sans","Liberation Sans","Noto Sans CJK SC","Noto Sans Arabic","Noto Sans Hebrew","Noto Color Emoji",sans-serif;color:#F8FAFC;-webkit-font-smoothing:antialiased;text-rendering:optimizeLegibility}
.card{position:relative;width:1200px;height:630px;display:flex;gap:40px;padding:52px 56px 52px 72px;
 background:radial-gradient(900px 500px at 100% 0%,rgba(255,106,19,.16),transparent 60%),radial-gradient(700px 420px at 0% 100%,rgba(56,189,248,.08),transparent 60%),linear-gradient(160deg,#111A2E 0%,#0B1020 55%,#090D1A 100%)}
.bar{position:absolute;left:0;top:0;width:16px;height:630px;background:#FF6A13;z-index:10}
.info{flex:1;min-width:0;display:flex;flex-direction:column}
.brand{display:flex;align-items:center;gap:14px;height:44px}
.mark{flex:none;width:44px;height:44px;border-radius:12px;background:#FF6A13;color:#0B1020;font-size:19px;font-weight:800;letter-spacing:-.5px;display:flex;align-items:center;justify-content:center;text-transform:uppercase}
.bname{font-size:25px;font-weight:700;letter-spacing:-.2px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.title{margin-top:30px;font-size:42px;line-height:1.18;font-weight:700;letter-spacing:-.4px;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden;overflow-wrap:anywhere;max-height:100px}
.cpu{margin-top:14px;display:flex;align-items:center;gap:10px;font-size:23px;color:#CBD5E1;min-width:0}
.cpu svg{flex:none}
.cpu span{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.stats{margin-top:auto;display:flex;align-items:flex-end;gap:32px;min-width:0}
.hero{flex:none;display:flex;flex-direction:column}
.num{font-weight:800;line-height:.9;letter-spacing:-3px;color:#FF8A3D;white-space:nowrap}
.h-xl{font-size:124px}.h-l{font-size:108px}.h-m{font-size:86px;letter-spacing:-2px}.h-s{font-size:56px;letter-spacing:-1px}
.h-none{font-size:108px;color:#475569}
.lbl{margin-top:12px;font-size:17px;font-weight:700;letter-spacing:2.2px;text-transform:uppercase;color:#94A3B8;white-space:nowrap}
.side{min-width:0;padding:0 0 4px 32px;border-left:2px solid rgba(148,163,184,.25);display:flex;flex-direction:column;gap:10px}
.price{font-weight:700;line-height:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;letter-spacing:-1px}
.p-l{font-size:54px}.p-m{font-size:40px}.p-s{font-size:30px}
.p-na{font-size:36px;color:#94A3B8;letter-spacing:0}
.mark-v{font-size:21px;color:#CBD5E1;white-space:nowrap}
.mark-v b{color:#F8FAFC;font-weight:700}
.chips{margin-top:34px;display:flex;flex-wrap:wrap;gap:10px;max-height:44px;overflow:hidden;list-style:none}
.chip{height:44px;display:flex;align-items:center;padding:0 18px;border-radius:22px;font-size:20px;font-weight:600;color:#E2E8F0;background:rgba(148,163,184,.13);border:1px solid rgba(148,163,184,.3);white-space:nowrap;max-width:100%;overflow:hidden;text-overflow:ellipsis}
.cond{text-transform:capitalize}
.c-new{color:#86EFAC;background:rgba(34,197,94,.14);border-color:rgba(34,197,94,.45)}
.c-refurb{color:#7DD3FC;background:rgba(56,189,248,.14);border-color:rgba(56,189,248,.45)}
.c-used{color:#FCD34D;background:rgba(245,158,11,.14);border-color:rgba(245,158,11,.45)}
.media{flex:none;width:456px;display:flex;flex-direction:column;justify-content:center;gap:16px}
.frame{width:456px;height:456px;border-radius:28px;overflow:hidden;background:#FFFFFF;box-shadow:0 24px 60px rgba(0,0,0,.45),0 0 0 1px rgba(255,255,255,.08);display:flex;align-items:center;justify-content:center}
.frame img{width:100%;height:100%;object-fit:contain;display:block}
.ph{background:linear-gradient(145deg,#1E293B 0%,#0F172A 100%);box-shadow:inset 0 0 0 1px rgba(148,163,184,.18);flex-direction:column;gap:18px;color:#64748B;font-size:20px;font-weight:600;letter-spacing:1.5px;text-transform:uppercase}
.seller{font-size:20px;color:#94A3B8;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:0 4px}
.seller b{color:#E2E8F0;font-weight:600}
"#;

/// A small CPU icon for the CPU line (inline SVG: no request, scales crisply).
const CPU_ICON: &str = r##"<svg width="26" height="26" viewBox="0 0 24 24" fill="none" stroke="#FF8A3D" stroke-width="1.8" stroke-linecap="round" aria-hidden="true"><rect x="6" y="6" width="12" height="12" rx="2"/><rect x="9.5" y="9.5" width="5" height="5" rx=".8"/><path d="M9 3v3M15 3v3M9 18v3M15 18v3M3 9h3M3 15h3M18 9h3M18 15h3"/></svg>"##;

/// Placeholder art for listings without an image: a muted desktop-and-monitor outline.
const PLACEHOLDER_ICON: &str = r##"<svg width="150" height="150" viewBox="0 0 64 64" fill="none" stroke="#475569" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="6" y="12" width="36" height="26" rx="3"/><path d="M18 48h12M24 38v10"/><rect x="46" y="12" width="12" height="36" rx="2"/><path d="M50 18h4M50 23h4"/><circle cx="52" cy="41" r="1.6"/></svg>"##;

/// Renders the card for `input`; never fails: every missing field has a fallback.
pub fn render_card(input: &CardInput) -> String {
    let listing = &input.listing;
    let mut html =
        Html::with_capacity(8 * 1024 + input.image_data_uri.as_ref().map_or(0, String::len));
    html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=1200,height=630\"><style>")
        .raw(STYLE)
        .raw("</style></head><body><div class=\"card\"><div class=\"bar\"></div>")
        .raw("<main class=\"info\">");
    brand(&mut html, &input.brand);
    title(&mut html, &listing.title);
    cpu(&mut html, listing);
    stats(&mut html, listing);
    chips(&mut html, listing);
    html.raw("</main>");
    media(
        &mut html,
        input.image_data_uri.as_deref(),
        listing.seller.as_deref(),
    );
    html.raw("</div></body></html>");
    html.finish()
}

/// Trims `text` and cuts it to `max` characters; `None` when nothing visible is left.
fn clean(text: &str, max: usize) -> Option<Cow<'_, str>> {
    let text = text.trim();
    (!text.is_empty()).then(|| truncate_graphemes(text, max))
}

fn brand(html: &mut Html, brand: &str) {
    let name = clean(brand, BRAND_MAX).unwrap_or(Cow::Borrowed(DEFAULT_BRAND));
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
    let title = clean(title, TITLE_MAX).unwrap_or(Cow::Borrowed("Untitled listing"));
    html.raw("<h1 class=\"title\" dir=\"auto\">")
        .text(&title)
        .raw("</h1>");
}

fn cpu(html: &mut Html, listing: &Listing) {
    let Some(name) = listing.cpu_name.as_deref().and_then(|n| clean(n, CPU_MAX)) else {
        return;
    };
    html.raw("<p class=\"cpu\">")
        .raw(CPU_ICON)
        .raw("<span dir=\"auto\">")
        .text(&name)
        .raw("</span></p>");
}

/// Font-size class for the hero figure: shorter figures can be bigger without overflowing.
fn hero_class(figure: &str) -> &'static str {
    match figure.chars().count() {
        0..=4 => "num h-xl",
        5 => "num h-l",
        6..=7 => "num h-m",
        _ => "num h-s",
    }
}

fn price_class(price: &str) -> &'static str {
    match price.chars().count() {
        0..=9 => "price p-l",
        10..=13 => "price p-m",
        _ => "price p-s",
    }
}

fn stats(html: &mut Html, listing: &Listing) {
    html.raw("<div class=\"stats\"><div class=\"hero\">");
    match listing.cpu_mark_per_dollar.and_then(format_one_decimal) {
        Some(figure) => {
            html.raw("<div class=\"")
                .raw(hero_class(&figure))
                .raw("\">")
                .text(&figure)
                .raw("</div>");
        }
        // No price or no CPU Mark: keep the slot, so the layout and the label stay put.
        None => {
            html.raw("<div class=\"num h-none\">—</div>");
        }
    }
    html.raw("<div class=\"lbl\">CPU Mark / $</div></div><div class=\"side\">");
    if listing.price_cents.is_some() {
        let price = format_price(listing.price_cents, listing.currency.trim());
        html.raw("<div class=\"")
            .raw(price_class(&price))
            .raw("\" dir=\"ltr\">")
            .text(&price)
            .raw("</div>");
    } else {
        html.raw("<div class=\"price p-na\">")
            .text(card_sdk::PRICE_UNAVAILABLE)
            .raw("</div>");
    }
    if let Some(mark) = listing.cpu_mark.filter(|&m| m > 0) {
        html.raw("<div class=\"mark-v\">CPU Mark <b>")
            .text(&format_count(u64::from(mark)))
            .raw("</b></div>");
    }
    html.raw("</div></div>");
}

/// Colour class for the condition chip, from a fixed list (data never reaches the CSS).
fn condition_class(condition: &str) -> &'static str {
    let is = |names: &[&str]| names.iter().any(|n| condition.eq_ignore_ascii_case(n));
    if is(&["new", "open box", "open-box", "sealed"]) {
        "chip cond c-new"
    } else if is(&["refurbished", "renewed", "refurb", "certified refurbished"]) {
        "chip cond c-refurb"
    } else if is(&["used", "pre-owned", "preowned", "second hand", "secondhand"]) {
        "chip cond c-used"
    } else {
        "chip cond"
    }
}

fn chips(html: &mut Html, listing: &Listing) {
    let ram = ram_label(listing.ram_gb);
    let storage_kind = listing
        .storage_type
        .as_deref()
        .and_then(|k| clean(k, CHIP_MAX));
    let storage = storage_label(listing.storage_gb, storage_kind.as_deref());
    let condition = listing
        .condition
        .as_deref()
        .and_then(|c| clean(c, CHIP_MAX));
    if ram.is_none() && storage.is_none() && condition.is_none() {
        return;
    }
    html.raw("<ul class=\"chips\">");
    for label in [ram, storage].into_iter().flatten() {
        html.raw("<li class=\"chip\" dir=\"auto\">")
            .text(&label)
            .raw("</li>");
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
    if let Some(seller) = seller.and_then(|s| clean(s, SELLER_MAX)) {
        html.raw("<p class=\"seller\">Sold by <b><bdi>")
            .text(&seller)
            .raw("</bdi></b></p>");
    }
    html.raw("</aside>");
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::string::ToString;
    use card_sdk::{CardSize, samples};

    const IMAGE: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    fn render(input: CardInput) -> String {
        Classic::render(input).expect("classic renders every sample")
    }

    #[test]
    fn describes_itself() {
        let info = Classic::describe();
        assert_eq!(info.name, "classic");
        assert_eq!(info.version, "1.0.0");
        assert_eq!((info.size.width, info.size.height), (1200, 630));
    }

    #[test]
    fn renders_every_sample_as_a_small_document() {
        for (name, input) in samples::all(Some(IMAGE)) {
            let image_len = input.image_data_uri.as_ref().map_or(0, String::len);
            let html = render(input);
            assert!(html.starts_with("<!doctype html>"), "{name}");
            assert!(html.ends_with("</html>"), "{name}");
            assert!(html.contains(BRAND_BAR_COLOR), "{name}");
            assert!(
                html.len() < 30 * 1024 + image_len,
                "{name}: {} bytes",
                html.len()
            );
        }
    }

    #[test]
    fn full_listing_shows_every_field() {
        let html = render(samples::all(Some(IMAGE)).swap_remove(1).1);
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
    fn hostile_text_is_escaped() {
        let (_, input) = samples::all(None)
            .into_iter()
            .find(|(name, _)| *name == "hostile")
            .unwrap();
        let html = render(input);
        assert!(!html.contains("<script"), "raw script tag");
        assert!(!html.contains("<img src=x"), "raw img tag");
        assert!(!html.contains("<iframe"), "raw iframe tag");
        assert!(!html.contains("<b>bold"), "raw b tag");
        assert!(!html.contains("onmouseover=\""), "attribute breakout");
        assert!(!html.contains("<US>"), "raw currency");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The only `</style>` is the one closing the design's own stylesheet.
        assert_eq!(html.matches("</style>").count(), 1);
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn unsafe_image_uris_are_dropped() {
        for uri in [
            "javascript:alert(1)",
            "http://example.com/x.png",
            "https://example.com/x.png",
            "data:image/svg+xml;base64,PHN2Zz4=",
            "data:image/png;base64,AAAA\"><script>",
        ] {
            let mut input = samples::all(None).swap_remove(0).1;
            input.image_data_uri = Some(uri.to_string());
            let html = render(input);
            assert!(!html.contains("<img"), "{uri} was embedded");
            assert!(html.contains("frame ph"), "{uri}: no placeholder");
            assert!(!html.contains("http:") && !html.contains("https:"), "{uri}");
        }
    }

    #[test]
    fn missing_fields_have_fallbacks() {
        let (_, input) = samples::all(None)
            .into_iter()
            .find(|(name, _)| *name == "bare")
            .unwrap();
        let html = render(input);
        assert!(html.contains("Price n/a"));
        assert!(html.contains("h-none\">—<"));
        assert!(!html.contains("CPU Mark <b>"));
        assert!(!html.contains("class=\"chips\""));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("Sold by"));
        assert!(html.contains("frame ph"));
    }

    #[test]
    fn empty_strings_fall_back() {
        let (_, input) = samples::all(None)
            .into_iter()
            .find(|(name, _)| *name == "empty-strings")
            .unwrap();
        let html = render(input);
        assert!(html.contains(">Deal Brain<"));
        assert!(html.contains("Untitled listing"));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("Sold by"));
    }

    #[test]
    fn long_title_is_cut_before_the_browser_sees_it() {
        let (_, input) = samples::all(None)
            .into_iter()
            .find(|(name, _)| *name == "long-title")
            .unwrap();
        let html = render(input);
        assert!(html.len() < 12 * 1024, "{} bytes", html.len());
        assert!(html.contains("…</h1>"));
        assert!(html.contains("1,234.6"));
    }

    #[test]
    fn non_figures_show_a_dash() {
        let (_, input) = samples::all(None)
            .into_iter()
            .find(|(name, _)| *name == "nan")
            .unwrap();
        let html = render(input);
        assert!(html.contains("h-none\">—<"));
        assert!(html.contains("$0<"));
        assert!(!html.contains("GB RAM"));
    }

    #[test]
    fn other_sizes_are_refused() {
        let mut input = samples::all(None).swap_remove(0).1;
        input.size = CardSize {
            width: 800,
            height: 418,
        };
        assert!(matches!(
            Classic::render(input),
            Err(RenderError::UnsupportedSize(CardSize {
                width: 800,
                height: 418
            }))
        ));
    }

    #[test]
    fn text_is_marked_for_bidi() {
        let (_, input) = samples::all(None)
            .into_iter()
            .find(|(name, _)| *name == "rtl-arabic")
            .unwrap();
        let html = render(input);
        assert!(html.contains("<h1 class=\"title\" dir=\"auto\">حاسوب"));
        assert!(html.contains("<bdi>متجر الحاسوب</bdi>"));
    }
}

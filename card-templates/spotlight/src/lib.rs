//! The `spotlight` card design: the CPU Mark per dollar as a big score with a deal-quality badge.
//!
//! Layout (CSS pixels, 1200×630, dark violet theme):
//! - **Pixel-check region:** the top band, `x ∈ [0, 1200)`, `y ∈ [0, 12)`, is solid
//!   [`BAND_COLOR`] (`#8B5CF6`). It is absolutely positioned above everything else and all
//!   content starts at `y = 60`, so nothing overlaps it whatever the listing says. Keep it
//!   stable across versions: service tests tell designs apart by it.
//! - Left column (`x ∈ [64, 648)`): brand, title (at most three lines), CPU name, spec chips,
//!   and at the bottom the listing photo as a thumbnail beside the price and the seller.
//! - Right (`x ∈ [696, 1144)`, `y ∈ [60, 578)`): the score panel. A deal-quality badge, the
//!   CPU Mark per dollar in large figures, and a meter from 0 to 100 with ticks at the badge
//!   thresholds ([`Verdict`]). Without a per-dollar figure the panel shows the CPU Mark
//!   ("No price yet"); with neither, a "No deal score" placeholder.
//!
//! Every piece of listing text is escaped through [`Html::text`] and marked `dir="auto"`; only
//! literal markup from this file is emitted raw, and listing data never reaches the CSS (sizes,
//! colours and meter widths are classes chosen in Rust from fixed lists).
#![no_std]

extern crate alloc;

use alloc::borrow::Cow;

use card_sdk::{
    CardInput, Condition, DEFAULT_BRAND, Design, Html, Listing, RenderError, UNTITLED_LISTING,
    first_grapheme, fit_size, format_count, format_one_decimal, format_price, ram_label,
    safe_image_data_uri, storage_label, visible_text,
};

/// Colour of the pixel-check band at `y ∈ [0, 12)`, over the full width.
pub const BAND_COLOR: &str = "#8B5CF6";

const TITLE_MAX: usize = 160;
const CPU_MAX: usize = 60;
const SELLER_MAX: usize = 40;
const CHIP_MAX: usize = 28;
const BRAND_MAX: usize = 32;
/// Scores at or above this are shown as `99,999+`: no real listing gets near it, and a
/// 300-digit figure (`f64::MAX`) would only be an ellipsis.
const SCORE_CAP: f64 = 100_000.0;

/// The deal-quality badge, from CPU Mark points per dollar.
///
/// Thresholds follow the sample data set (305 listings): the median is ≈ 42 points per
/// dollar, the top quarter ≈ 63 and up, the bottom tenth ≈ 25 and below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// ≥ 60 points per dollar (about the top 30 % of the data set): green.
    Great,
    /// ≥ 35 (above about the 35th percentile): sky blue.
    Good,
    /// ≥ 20: amber.
    Fair,
    /// Below 20: slate; the machine costs a lot for its speed.
    Pricey,
}

impl Verdict {
    /// Lower bounds of the badges, in CPU Mark points per dollar.
    pub const GREAT: f64 = 60.0;
    /// See [`Verdict::Good`].
    pub const GOOD: f64 = 35.0;
    /// See [`Verdict::Fair`].
    pub const FAIR: f64 = 20.0;

    /// The verdict for `per_dollar` (a finite, non-negative figure).
    pub fn of(per_dollar: f64) -> Self {
        if per_dollar >= Self::GREAT {
            Self::Great
        } else if per_dollar >= Self::GOOD {
            Self::Good
        } else if per_dollar >= Self::FAIR {
            Self::Fair
        } else {
            Self::Pricey
        }
    }

    /// The badge text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Great => "Great deal",
            Self::Good => "Good deal",
            Self::Fair => "Fair",
            Self::Pricey => "Pricey",
        }
    }

    /// The CSS class that colours the badge and the meter.
    fn class(self) -> &'static str {
        match self {
            Self::Great => "t-great",
            Self::Good => "t-good",
            Self::Fair => "t-fair",
            Self::Pricey => "t-pricey",
        }
    }
}

/// The `spotlight` design.
pub struct Spotlight;

impl Design for Spotlight {
    const NAME: &'static str = "spotlight";
    const VERSION: &'static str = "1.0.0";
    const STYLE: &'static str = STYLE;
    const CAPACITY: usize = 10 * 1024;

    /// Never fails: every missing field has a fallback.
    fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
        let listing = &input.listing;
        let image = input
            .image_data_uri
            .as_deref()
            .and_then(safe_image_data_uri);
        html.raw("<div class=\"card\"><div class=\"band\"></div><main class=\"info\">");
        brand(html, &input.brand);
        let title =
            visible_text(&listing.title, TITLE_MAX).unwrap_or(Cow::Borrowed(UNTITLED_LISTING));
        html.raw("<h1 class=\"title\" dir=\"auto\">")
            .text(&title)
            .raw("</h1>");
        cpu(html, listing);
        chips(html, listing);
        buy(html, listing, image);
        html.raw("</main>");
        score(html, listing);
        html.raw("</div>");
        Ok(())
    }
}

card_sdk::export_design!(Spotlight);

/// The page's own CSS, after the SDK's reset and font stack (`Html::document`). Listing data
/// never goes here.
const STYLE: &str = r"
html,body{background:#0C0A1D}
body{color:#FFFFFF}
.card{position:relative;width:100%;height:100%;display:flex;gap:48px;padding:60px 56px 52px 64px;
 background:radial-gradient(760px 520px at 84% 46%,rgba(139,92,246,.30),transparent 65%),radial-gradient(620px 420px at 0% 100%,rgba(56,189,248,.10),transparent 60%),linear-gradient(155deg,#17123A 0%,#0E0B24 55%,#0A0818 100%)}
.band{position:absolute;left:0;top:0;width:100%;height:12px;background:#8B5CF6;z-index:10}
.info{flex:1;min-width:0;display:flex;flex-direction:column}
.brand{display:flex;align-items:center;gap:14px;height:40px}
.mark{flex:none;width:40px;height:40px;border-radius:11px;background:#8B5CF6;color:#FFFFFF;font-size:17px;font-weight:800;display:flex;align-items:center;justify-content:center;text-transform:uppercase}
.bname{font-size:23px;font-weight:700;color:#EDE9FE;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.title{margin-top:30px;font-size:40px;line-height:1.2;font-weight:700;letter-spacing:-.3px;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere;max-height:144px}
.cpu{margin-top:16px;display:flex;align-items:center;gap:10px;font-size:22px;color:#C4B5FD;min-width:0}
.cpu svg{flex:none}
.cpu span{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.chips{margin-top:22px;display:flex;gap:10px;min-width:0;list-style:none}
.chip{flex:0 1 auto;min-width:0;height:42px;line-height:40px;padding:0 17px;border-radius:21px;font-size:19px;font-weight:600;color:#E0E7FF;background:rgba(165,180,252,.10);border:1px solid rgba(165,180,252,.28);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ram{flex:none}
.cond{flex:none;max-width:190px;text-transform:capitalize}
.c-new{color:#86EFAC;background:rgba(34,197,94,.13);border-color:rgba(34,197,94,.45)}
.c-refurb{color:#7DD3FC;background:rgba(56,189,248,.13);border-color:rgba(56,189,248,.45)}
.c-used{color:#FCD34D;background:rgba(245,158,11,.13);border-color:rgba(245,158,11,.45)}
.buy{margin-top:auto;display:flex;align-items:center;gap:22px;min-width:0}
.thumb{flex:none;width:104px;height:104px;border-radius:20px;overflow:hidden;background:#FFFFFF;box-shadow:0 12px 30px rgba(0,0,0,.4),0 0 0 1px rgba(255,255,255,.1)}
.thumb img{width:100%;height:100%;object-fit:contain;display:block}
.deal{min-width:0;display:flex;flex-direction:column;gap:8px}
.price{font-weight:800;line-height:1.05;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;letter-spacing:-.022em}
.p0{font-size:60px}.p1{font-size:52px}.p2{font-size:44px}.p3{font-size:36px}.p4{font-size:30px}.p5{font-size:24px}
.p-na{font-size:36px;font-weight:700;color:#A5B4FC;letter-spacing:0}
.seller{font-size:20px;color:#A5B4FC;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.seller b{color:#E0E7FF;font-weight:600}
.score{position:relative;flex:none;width:448px;height:518px;border-radius:32px;padding:38px 40px 34px;display:flex;flex-direction:column;
 background:linear-gradient(165deg,rgba(139,92,246,.26) 0%,rgba(30,27,75,.62) 46%,rgba(15,12,35,.92) 100%);border:1px solid rgba(167,139,250,.38);box-shadow:0 30px 80px rgba(0,0,0,.55),inset 0 1px 0 rgba(255,255,255,.08)}
.badge{align-self:flex-start;display:flex;align-items:center;gap:12px;height:46px;padding:0 22px 0 18px;border-radius:23px;font-size:19px;font-weight:800;letter-spacing:1.6px;text-transform:uppercase;white-space:nowrap;border:1.5px solid}
.badge i{width:12px;height:12px;border-radius:6px;background:currentColor;box-shadow:0 0 12px currentColor}
.t-great{--c:#4ADE80;color:#4ADE80;background:rgba(34,197,94,.16);border-color:rgba(74,222,128,.55)}
.t-good{--c:#38BDF8;color:#38BDF8;background:rgba(14,165,233,.16);border-color:rgba(56,189,248,.55)}
.t-fair{--c:#FBBF24;color:#FBBF24;background:rgba(245,158,11,.16);border-color:rgba(251,191,36,.55)}
.t-pricey,.t-none{--c:#CBD5E1;color:#CBD5E1;background:rgba(148,163,184,.14);border-color:rgba(203,213,225,.45)}
.mid{margin:auto 0;display:flex;flex-direction:column}
.glow{filter:drop-shadow(0 0 26px rgba(167,139,250,.5))}
.fig{font-weight:800;line-height:1;letter-spacing:-.022em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:#FFFFFF}
.s0{font-size:176px}.s1{font-size:152px}.s2{font-size:132px}.s3{font-size:112px}.s4{font-size:96px}.s5{font-size:80px}.s6{font-size:64px}
.unit{margin-top:10px;font-size:18px;font-weight:700;letter-spacing:2.4px;text-transform:uppercase;color:#A5B4FC;white-space:nowrap}
.meter{position:relative;margin-top:30px;height:14px;border-radius:7px;background:rgba(255,255,255,.10)}
.fill{position:absolute;left:0;top:0;bottom:0;border-radius:7px;background:var(--c);box-shadow:0 0 18px var(--c)}
.f0{width:0}.f1{width:5%}.f2{width:10%}.f3{width:15%}.f4{width:20%}.f5{width:25%}.f6{width:30%}.f7{width:35%}.f8{width:40%}.f9{width:45%}.f10{width:50%}
.f11{width:55%}.f12{width:60%}.f13{width:65%}.f14{width:70%}.f15{width:75%}.f16{width:80%}.f17{width:85%}.f18{width:90%}.f19{width:95%}.f20{width:100%}
.tick{position:absolute;top:-5px;width:2px;height:24px;margin-left:-1px;background:rgba(237,233,254,.55)}
.scale{position:relative;height:22px;margin-top:10px;font-size:14px;font-weight:700;letter-spacing:1px;text-transform:uppercase;color:#8B87B8}
.scale span{position:absolute;top:0;white-space:nowrap}
.k20{left:20%}.k35{left:35%}.k60{left:60%}
.foot{margin-top:24px;padding-top:20px;border-top:1px solid rgba(167,139,250,.22);font-size:20px;color:#C7D2FE;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.foot b{color:#FFFFFF;font-weight:700}
.empty{margin:auto 0;display:flex;flex-direction:column;align-items:center;gap:18px;text-align:center;color:#8B87B8;font-size:22px;font-weight:700;letter-spacing:1.5px;text-transform:uppercase}
";

/// A CPU icon for the CPU line.
const CPU_ICON: &str = r##"<svg width="24" height="24" viewBox="0 0 24 24" fill="none" stroke="#A78BFA" stroke-width="1.8" stroke-linecap="round" aria-hidden="true"><rect x="6" y="6" width="12" height="12" rx="2"/><rect x="9.5" y="9.5" width="5" height="5" rx=".8"/><path d="M9 3v3M15 3v3M9 18v3M15 18v3M3 9h3M3 15h3M18 9h3M18 15h3"/></svg>"##;

/// A gauge outline for the "No deal score" panel.
const GAUGE_ICON: &str = r##"<svg width="150" height="110" viewBox="0 0 64 46" fill="none" stroke="#6D5DB3" stroke-width="3" stroke-linecap="round" aria-hidden="true"><path d="M6 40a26 26 0 0 1 52 0"/><path d="M32 40l12-16"/><circle cx="32" cy="40" r="3.5"/><path d="M12 24l3 2M32 14v4M52 24l-3 2"/></svg>"##;

fn brand(html: &mut Html, brand: &str) {
    let name = visible_text(brand, BRAND_MAX).unwrap_or(Cow::Borrowed(DEFAULT_BRAND));
    html.raw("<header class=\"brand\"><span class=\"mark\" aria-hidden=\"true\">");
    for word in name.split_whitespace().take(2) {
        html.text(first_grapheme(word));
    }
    html.raw("</span><span class=\"bname\" dir=\"auto\">")
        .text(&name)
        .raw("</span></header>");
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

fn chips(html: &mut Html, listing: &Listing) {
    let ram = ram_label(listing.ram_gb);
    let kind = listing
        .storage_type
        .as_deref()
        .and_then(|k| visible_text(k, CHIP_MAX));
    let storage = storage_label(listing.storage_gb, kind.as_deref());
    let condition = listing
        .condition
        .as_deref()
        .and_then(|c| visible_text(c, CHIP_MAX));
    if ram.is_none() && storage.is_none() && condition.is_none() {
        return;
    }
    html.raw("<ul class=\"chips\">");
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
        let class = match Condition::of(&condition) {
            Condition::New => "chip cond c-new",
            Condition::Refurbished => "chip cond c-refurb",
            Condition::Used => "chip cond c-used",
            Condition::Other => "chip cond",
        };
        html.raw("<li class=\"")
            .raw(class)
            .raw("\" dir=\"auto\">")
            .text(&condition)
            .raw("</li>");
    }
    html.raw("</ul>");
}

/// Price font sizes, largest first, with their CSS classes.
const PRICE_SIZES: [(f32, &str); 6] = [
    (60.0, "price p0"),
    (52.0, "price p1"),
    (44.0, "price p2"),
    (36.0, "price p3"),
    (30.0, "price p4"),
    (24.0, "price p5"),
];
/// Width of the left column; the thumbnail and its gap take 126 px of it.
const INFO_WIDTH: f32 = 584.0;
const THUMB_WIDTH: f32 = 126.0;

/// The bottom of the left column: photo thumbnail, price, seller.
fn buy(html: &mut Html, listing: &Listing, image: Option<&str>) {
    html.raw("<div class=\"buy\">");
    let mut width = INFO_WIDTH;
    if let Some(uri) = image {
        // `alt=""`: decorative, and an undecodable image then shows nothing, not an icon.
        html.raw("<div class=\"thumb\"><img alt=\"\" src=\"")
            .text(uri)
            .raw("\"></div>");
        width -= THUMB_WIDTH;
    }
    html.raw("<div class=\"deal\">");
    if listing.price_cents.is_some() {
        let price = format_price(listing.price_cents, listing.currency.trim());
        let (class, _) = fit_size(&price, &PRICE_SIZES, width);
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
    if let Some(seller) = listing
        .seller
        .as_deref()
        .and_then(|s| visible_text(s, SELLER_MAX))
    {
        html.raw("<p class=\"seller\">Sold by <b><bdi>")
            .text(&seller)
            .raw("</bdi></b></p>");
    }
    html.raw("</div></div>");
}

/// Score font sizes, largest first.
const SCORE_SIZES: [(f32, &str); 7] = [
    (176.0, "fig s0"),
    (152.0, "fig s1"),
    (132.0, "fig s2"),
    (112.0, "fig s3"),
    (96.0, "fig s4"),
    (80.0, "fig s5"),
    (64.0, "fig s6"),
];
/// The panel's inner width is 366 px; the estimate keeps a margin for glyphs wider than it thinks.
const SCORE_WIDTH: f32 = 346.0;
/// Meter fill classes: `FILLS[n]` is `n × 5 %` of the 0–100 scale.
const FILLS: [&str; 21] = [
    "fill f0", "fill f1", "fill f2", "fill f3", "fill f4", "fill f5", "fill f6", "fill f7",
    "fill f8", "fill f9", "fill f10", "fill f11", "fill f12", "fill f13", "fill f14", "fill f15",
    "fill f16", "fill f17", "fill f18", "fill f19", "fill f20",
];

/// The meter's fill class for `per_dollar`: to the nearest 5 % of 0–100, at least one step
/// so a positive score never shows an empty bar.
fn fill_class(per_dollar: f64) -> &'static str {
    let steps = (1..FILLS.len())
        .take_while(|&i| {
            // `i < 21`, exact in f64.
            let step = f64::from(u8::try_from(i).unwrap_or(u8::MAX));
            per_dollar >= step * 5.0 - 2.5
        })
        .count();
    FILLS[steps.max(1)]
}

/// The right-hand panel: badge, figure, meter, footer.
fn score(html: &mut Html, listing: &Listing) {
    let mark = listing.cpu_mark.filter(|&m| m > 0);
    let per_dollar = listing
        .cpu_mark_per_dollar
        .and_then(|v| format_one_decimal(v).map(|text| (v, text)));
    html.raw("<aside class=\"score\">");
    match (per_dollar, mark) {
        (Some((value, text)), _) => {
            let verdict = Verdict::of(value);
            let figure = if value >= SCORE_CAP {
                Cow::Borrowed("99,999+")
            } else {
                Cow::Owned(text)
            };
            html.raw("<div class=\"badge ")
                .raw(verdict.class())
                .raw("\"><i></i>")
                .raw(verdict.label())
                .raw("</div>");
            html.raw("<div class=\"mid\">");
            figure_block(html, &figure, "CPU Mark per dollar");
            html.raw("<div class=\"meter ")
                .raw(verdict.class())
                .raw("\"><div class=\"")
                .raw(fill_class(value))
                .raw("\"></div><i class=\"tick k20\"></i><i class=\"tick k35\"></i><i class=\"tick k60\"></i></div>")
                .raw("<div class=\"scale\"><span class=\"k20\">Fair</span><span class=\"k35\">Good</span><span class=\"k60\">Great</span></div></div>");
            html.raw("<p class=\"foot\">");
            if let Some(mark) = mark {
                html.raw("CPU Mark <b>")
                    .text(&format_count(u64::from(mark)))
                    .raw("</b>");
            } else {
                html.raw("Points per dollar of price");
            }
            html.raw("</p>");
        }
        (None, Some(mark)) => {
            html.raw("<div class=\"badge t-none\"><i></i>No price yet</div>");
            html.raw("<div class=\"mid\">");
            figure_block(html, &format_count(u64::from(mark)), "CPU Mark");
            html.raw("</div>");
            html.raw("<p class=\"foot\">A deal score needs a price</p>");
        }
        (None, None) => {
            html.raw("<div class=\"badge t-none\"><i></i>Not scored</div><div class=\"empty\">")
                .raw(GAUGE_ICON)
                .raw("No deal score</div><p class=\"foot\">Needs a price and a CPU Mark</p>");
        }
    }
    html.raw("</aside>");
}

fn figure_block(html: &mut Html, figure: &str, unit: &'static str) {
    let (class, _) = fit_size(figure, &SCORE_SIZES, SCORE_WIDTH);
    // The glow is a filter on a wrapper: a text-shadow would be cut square by the figure's
    // `overflow: hidden` (needed for the ellipsis).
    html.raw("<div class=\"glow\"><div class=\"")
        .raw(class)
        .raw("\" dir=\"ltr\">")
        .text(figure)
        .raw("</div></div><div class=\"unit\">")
        .raw(unit)
        .raw("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use card_sdk::testing::{self, Expect, TINY_PNG as IMAGE, sample};

    fn render(input: CardInput) -> String {
        testing::render::<Spotlight>(input)
    }

    #[test]
    fn meets_the_host_contract() {
        testing::check::<Spotlight>(&Expect {
            marker: BAND_COLOR,
            placeholder: None,
        });
    }

    #[test]
    fn badges_follow_the_documented_thresholds() {
        assert_eq!(Verdict::of(292.3), Verdict::Great);
        assert_eq!(Verdict::of(60.0), Verdict::Great);
        assert_eq!(Verdict::of(59.9), Verdict::Good);
        assert_eq!(Verdict::of(35.0), Verdict::Good);
        assert_eq!(Verdict::of(34.9), Verdict::Fair);
        assert_eq!(Verdict::of(20.0), Verdict::Fair);
        assert_eq!(Verdict::of(19.9), Verdict::Pricey);
        assert_eq!(Verdict::of(0.0), Verdict::Pricey);
        let html = render(sample("mini-pc-bargain"));
        assert!(html.contains("badge t-great\"><i></i>Great deal<"));
        assert!(html.contains(">73.2<"));
        let html = render(sample("full"));
        assert!(
            html.contains("badge t-pricey\"><i></i>Pricey<"),
            "19.28 is below 20"
        );
    }

    #[test]
    fn meter_fill_rounds_to_five_percent_and_stays_visible() {
        assert_eq!(fill_class(0.0), "fill f1");
        assert_eq!(fill_class(19.28), "fill f4");
        assert_eq!(fill_class(73.2), "fill f15");
        assert_eq!(fill_class(100.0), "fill f20");
        assert_eq!(fill_class(1e300), "fill f20");
    }

    #[test]
    fn full_listing_shows_every_field() {
        let html = render(sample("mini-pc-bargain"));
        for expected in [
            "Beelink SER5 Mini PC",
            "$289<",
            "CPU Mark per dollar",
            "CPU Mark <b>21,160</b>",
            "AMD Ryzen 5 5560U",
            "16 GB RAM",
            "512 GB NVMe SSD",
            "c-new\" dir=\"auto\">new<",
            "Sold by <b><bdi>Amazon</bdi>",
            ">DB<",
            ">Deal Brain<",
            "fill f15",
            IMAGE,
        ] {
            assert!(html.contains(expected), "missing {expected:?}");
        }
    }

    #[test]
    fn without_price_the_cpu_mark_takes_the_panel() {
        let html = render(sample("no-price"));
        assert!(html.contains("No price yet"));
        assert!(html.contains(">24,870<"));
        assert!(html.contains(">CPU Mark</div>"));
        assert!(!html.contains("class=\"meter"), "no meter without a score");
        assert!(html.contains("Price n/a"));
    }

    #[test]
    fn missing_fields_have_fallbacks() {
        let html = render(sample("bare"));
        assert!(html.contains("No deal score"));
        assert!(html.contains("Price n/a"));
        assert!(!html.contains("class=\"chips\""));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("Sold by"));
        assert!(!html.contains("class=\"thumb\""));
        let html = render(sample("empty-strings"));
        assert!(!html.contains("class=\"cpu\""));
        assert!(!html.contains("Sold by"));
    }

    #[test]
    fn nan_and_huge_figures_never_reach_the_card_raw() {
        let html = render(sample("nan"));
        assert!(html.contains("No deal score"), "NaN is no score");
        assert!(html.contains("$0<"));
        let html = render(sample("extreme-numbers"));
        assert!(html.contains(">99,999+<"));
        assert!(html.contains("badge t-great"));
        let html = render(sample("long-title"));
        assert!(html.contains(">1,234.6<"));
        assert!(html.len() < 14 * 1024 + IMAGE.len(), "{} bytes", html.len());
    }
}

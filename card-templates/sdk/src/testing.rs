//! The host tests every Rust design runs, written once (feature `testing`, for dev-dependencies).
//!
//! The host refuses a component whose output breaks these rules (or renders it wrong), so a
//! design's own tests call [`check`] and then test only what is particular to it:
//!
//! ```
//! # use card_sdk::{CardInput, Design, Html, RenderError};
//! # struct Classic;
//! # impl Design for Classic {
//! #     const NAME: &'static str = "classic";
//! #     const VERSION: &'static str = "1.0.0";
//! #     const STYLE: &'static str = ".bar{background:#FF6A13}";
//! #     fn markup(input: &CardInput, html: &mut Html) -> Result<(), RenderError> {
//! #         html.raw("<div class=\"bar\"></div><h1 dir=\"auto\">")
//! #             .text(card_sdk::visible_text(&input.listing.title, 100).as_deref().unwrap_or(card_sdk::UNTITLED_LISTING))
//! #             .raw("</h1><p>").text(card_sdk::DEFAULT_BRAND).raw("</p>");
//! #         Ok(())
//! #     }
//! # }
//! // In the design's `#[cfg(test)] mod tests`, as a `#[test]`:
//! card_sdk::testing::check::<Classic>(&card_sdk::testing::Expect {
//!     marker: "#FF6A13",
//!     placeholder: None,
//! });
//! ```
//!
//! What it checks, over every input in [`crate::samples`]:
//! - `describe` answers the design's [`Design::NAME`] (a valid design name), [`Design::VERSION`]
//!   and [`Design::SIZE`];
//! - each card is one small document (`<!doctype html>` … `</html>`, under 64 KB plus the
//!   image: markup and the design's own assets) carrying the design's marker (the colour host
//!   tests look for in the pixels);
//! - hostile listing text arrives escaped: no raw tag, attribute break-out or second `</style>`;
//! - no `<meta http-equiv>` (the host refuses it: a refresh navigates the page mid-capture) and
//!   no external URL, no `url(…)` but a `data:` image, no `@font-face` (the page has no network);
//! - an image URI that is not a safe raster `data:` URI is dropped (for the placeholder, if
//!   the design has one);
//! - right-to-left titles (and sellers, where shown) are marked for bidi (`dir="auto"` or `<bdi>`);
//! - text with nothing visible falls back ([`DEFAULT_BRAND`], [`UNTITLED_LISTING`]), and a
//!   NaN or infinite figure never reaches the card;
//! - sizes other than [`Design::SIZE`] are refused with `unsupported-size`.

use alloc::string::String;

use crate::{
    CardInput, CardSize, DEFAULT_BRAND, Design, Guest, RenderError, UNTITLED_LISTING, samples,
};

/// A 1×1 PNG, the listing image of the samples that have one.
pub const TINY_PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// What only the design knows about its cards, for [`check`].
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Text every card contains: the design's pixel-check colour.
    pub marker: &'a str,
    /// Text present when the card shows its image placeholder instead of the listing image
    /// (`None` for a design that simply leaves the image out).
    pub placeholder: Option<&'a str>,
}

/// The named sample input (see [`samples::all`]) with [`TINY_PNG`] as its image.
///
/// # Panics
/// If no sample has that name.
pub fn sample(name: &str) -> CardInput {
    samples::all(Some(TINY_PNG))
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no sample named {name:?}"))
        .1
}

/// Renders `input` with design `D` as the host would, panicking with the design's error if it
/// refuses.
///
/// # Panics
/// If the design returns an error.
pub fn render<D: Design>(input: CardInput) -> String {
    D::render(input).unwrap_or_else(|e| panic!("the design refused a sample: {e:?}"))
}

/// Runs every check on design `D`; see the module documentation for the list.
///
/// # Panics
/// On the first broken rule, naming the sample and the rule.
pub fn check<D: Design>(expect: &Expect<'_>) {
    describes_itself::<D>();
    renders_small_documents::<D>(expect);
    escapes_hostile_text::<D>();
    stays_offline::<D>();
    drops_unsafe_images::<D>(expect);
    marks_text_for_bidi::<D>();
    falls_back_on_blank_text::<D>();
    keeps_non_figures_out::<D>();
    refuses_other_sizes::<D>();
}

fn describes_itself<D: Design>() {
    let info = D::describe();
    assert_eq!(info.name, D::NAME, "describe: name");
    assert!(
        !info.name.is_empty()
            && info.name.len() <= 32
            && info
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "describe: {:?} is not a design name ([a-z0-9-]{{1,32}})",
        info.name
    );
    assert_eq!(info.version, D::VERSION, "describe: version");
    assert_eq!(
        info.version.split('.').count(),
        3,
        "describe: version {:?} is not MAJOR.MINOR.PATCH",
        info.version
    );
    assert_eq!(
        (info.size.width, info.size.height),
        (D::SIZE.width, D::SIZE.height),
        "describe: size"
    );
}

fn renders_small_documents<D: Design>(expect: &Expect<'_>) {
    for (name, input) in samples::all(Some(TINY_PNG)) {
        let image_len = input.image_data_uri.as_ref().map_or(0, String::len);
        let html = render::<D>(input);
        assert!(html.starts_with("<!doctype html>"), "{name}: no doctype");
        assert!(html.ends_with("</html>"), "{name}: not one document");
        assert!(
            html.contains(expect.marker),
            "{name}: no {:?}",
            expect.marker
        );
        // Markup plus the design's own assets (the classic's pre-rendered background is 28 KB).
        assert!(
            html.len() < 64 * 1024 + image_len,
            "{name}: {} bytes",
            html.len()
        );
    }
}

fn escapes_hostile_text<D: Design>() {
    let html = render::<D>(sample("hostile"));
    for raw in [
        "<script",
        "<img src=x",
        "<iframe",
        "<b>bold",
        "onmouseover=\"",
        "<US>",
        "javascript:",
    ] {
        assert!(!html.contains(raw), "hostile: {raw:?} arrived unescaped");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile: the title's markup is not shown as text"
    );
    // The only `</style>` is the one closing the document's stylesheet.
    assert_eq!(
        html.matches("</style>").count(),
        1,
        "hostile: style break-out"
    );
}

fn stays_offline<D: Design>() {
    for (name, input) in samples::all(Some(TINY_PNG)) {
        let html = render::<D>(input).to_ascii_lowercase();
        // Same test as the host: any `<meta …>` tag mentioning `http-equiv`. The hostile
        // sample's title carries one, which arrives escaped and so does not count.
        for tag in html.split("<meta").skip(1) {
            let tag = tag.split('>').next().unwrap_or(tag);
            assert!(!tag.contains("http-equiv"), "{name}: <meta{tag}>");
        }
        for needle in ["http:", "https:", "@font-face", "@import"] {
            assert!(!html.contains(needle), "{name}: contains {needle:?}");
        }
        // A CSS `url()` may only embed the design's own asset as a `data:` URI.
        for reference in html.split("url(").skip(1) {
            let reference = reference.trim_start_matches(['"', '\'']);
            assert!(
                reference.starts_with("data:image/"),
                "{name}: url({})",
                reference.chars().take(40).collect::<String>()
            );
        }
    }
}

fn drops_unsafe_images<D: Design>(expect: &Expect<'_>) {
    for uri in [
        "javascript:alert(1)",
        "http://example.com/x.png",
        "https://example.com/x.png",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "data:image/png;base64,AAAA\"><script>",
    ] {
        let mut input = sample("full");
        input.image_data_uri = Some(uri.into());
        let html = render::<D>(input);
        assert!(!html.contains("<img"), "{uri} was embedded");
        if let Some(placeholder) = expect.placeholder {
            assert!(html.contains(placeholder), "{uri}: no placeholder");
        }
        assert!(!html.contains("http:") && !html.contains("https:"), "{uri}");
    }
}

/// Right-to-left text must sit in an element that takes its direction from its content.
fn marks_text_for_bidi<D: Design>() {
    for name in ["rtl-arabic", "rtl-hebrew"] {
        let input = sample(name);
        let title = input.listing.title.clone();
        let seller = input.listing.seller.clone().unwrap_or_default();
        let html = render::<D>(input);
        assert!(
            html.contains(&alloc::format!("dir=\"auto\">{title}")),
            "{name}: the title is not in a dir=\"auto\" element"
        );
        if html.contains(&seller) {
            assert!(
                html.contains(&alloc::format!("<bdi>{seller}"))
                    || html.contains(&alloc::format!("dir=\"auto\">{seller}")),
                "{name}: the seller is not isolated (<bdi> or dir=\"auto\")"
            );
        }
    }
}

fn falls_back_on_blank_text<D: Design>() {
    let html = render::<D>(sample("empty-strings"));
    assert!(
        html.contains(UNTITLED_LISTING),
        "empty-strings: no {UNTITLED_LISTING:?} for a blank title"
    );
    assert!(
        html.contains(DEFAULT_BRAND),
        "empty-strings: no {DEFAULT_BRAND:?} for a blank brand"
    );
}

fn keeps_non_figures_out<D: Design>() {
    for name in ["nan", "extreme-numbers"] {
        let html = render::<D>(sample(name));
        for text in [">nan", ">inf", "nan<", "inf<"] {
            assert!(
                !html.to_ascii_lowercase().contains(text),
                "{name}: {text:?} reached the card"
            );
        }
    }
}

fn refuses_other_sizes<D: Design>() {
    let mut input = sample("full");
    let other = CardSize {
        width: D::SIZE.width / 3 * 2,
        height: D::SIZE.height / 3 * 2,
    };
    input.size = other;
    assert!(
        matches!(
            D::render(input),
            Err(RenderError::UnsupportedSize(size)) if size.width == other.width && size.height == other.height
        ),
        "{}×{} must be refused with unsupported-size",
        other.width,
        other.height
    );
}

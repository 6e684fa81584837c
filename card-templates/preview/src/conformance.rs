//! The checks every Rust design must pass, written once.
//!
//! The host refuses a component whose output breaks these rules (or renders it wrong), so a
//! design's own tests call [`check`] and then test only what is particular to it:
//!
//! ```no_run
//! # struct Classic;
//! # impl card_sdk::Guest for Classic {
//! #     fn describe() -> card_sdk::TemplateInfo { card_sdk::og_template_info("classic", "1.0.0") }
//! #     fn render(_: card_sdk::CardInput) -> Result<String, card_sdk::RenderError> { Ok(String::new()) }
//! # }
//! #[test]
//! fn meets_the_host_contract() {
//!     card_preview::conformance::check::<Classic>(&card_preview::conformance::Expect {
//!         name: "classic",
//!         version: "1.0.0",
//!         marker: "#FF6A13",
//!         placeholder: Some("frame ph"),
//!     });
//! }
//! ```
//!
//! What it checks, over every input in [`card_sdk::samples`]:
//! - `describe` answers the expected name and version at 1200×630;
//! - each card is one small document (`<!doctype html>` … `</html>`, under 64 KB plus the image: markup and the design's own assets)
//!   carrying the design's marker (the colour host tests look for in the pixels);
//! - hostile listing text arrives escaped: no raw tag, attribute break-out or second `</style>`;
//! - no `<meta http-equiv>` (the host refuses it: a refresh navigates the page mid-capture) and
//!   no external URL, no `url(…)` but a `data:` image, no `@font-face` (the page has no network);
//! - an image URI that is not a safe raster `data:` URI is dropped for the placeholder;
//! - sizes other than 1200×630 are refused with `unsupported-size`.

use card_sdk::{CardInput, CardSize, Guest, RenderError, samples};

/// A 1×1 PNG, the listing image of the samples that have one.
pub const TINY_PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// What a design says about itself, for [`check`].
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The name `describe` reports.
    pub name: &'a str,
    /// The version `describe` reports.
    pub version: &'a str,
    /// Text every card contains: the design's pixel-check colour.
    pub marker: &'a str,
    /// Text present when the card shows its image placeholder instead of the listing image
    /// (`None` for a design that simply leaves the image out).
    pub placeholder: Option<&'a str>,
}

/// The named sample input (see [`card_sdk::samples::all`]) with [`TINY_PNG`] as its image.
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

/// Renders `input` with design `D`, panicking with the design's error if it refuses.
///
/// # Panics
/// If the design returns an error.
pub fn render<D: Guest>(input: CardInput) -> String {
    D::render(input).unwrap_or_else(|e| panic!("the design refused a sample: {e:?}"))
}

/// Runs every contract check on design `D`; see the module documentation for the list.
///
/// # Panics
/// On the first broken rule, naming the sample and the rule.
pub fn check<D: Guest>(expect: &Expect<'_>) {
    describes_itself::<D>(expect);
    renders_small_documents::<D>(expect);
    escapes_hostile_text::<D>();
    stays_offline::<D>();
    drops_unsafe_images::<D>(expect);
    refuses_other_sizes::<D>();
}

fn describes_itself<D: Guest>(expect: &Expect<'_>) {
    let info = D::describe();
    assert_eq!(info.name, expect.name, "describe: name");
    assert_eq!(info.version, expect.version, "describe: version");
    assert_eq!(
        (info.size.width, info.size.height),
        (1200, 630),
        "describe: size"
    );
}

fn renders_small_documents<D: Guest>(expect: &Expect<'_>) {
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

fn escapes_hostile_text<D: Guest>() {
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
    // The only `</style>` is the one closing the design's own stylesheet.
    assert_eq!(
        html.matches("</style>").count(),
        1,
        "hostile: style break-out"
    );
}

fn stays_offline<D: Guest>() {
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

fn drops_unsafe_images<D: Guest>(expect: &Expect<'_>) {
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

fn refuses_other_sizes<D: Guest>() {
    let mut input = sample("full");
    input.size = CardSize {
        width: 800,
        height: 418,
    };
    assert!(
        matches!(
            D::render(input),
            Err(RenderError::UnsupportedSize(CardSize {
                width: 800,
                height: 418
            }))
        ),
        "800×418 must be refused with unsupported-size"
    );
}

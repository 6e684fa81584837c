//! Rendering: listing → design (WebAssembly) → HTML → Chromium → image bytes.
//!
//! `pipeline.rs` lists the steps; `designs.rs` owns wasmtime; `browser/` owns Chromium;
//! `encode.rs` recompresses PNG captures; `images.rs` inlines listing images; `checks.rs` looks
//! at a candidate design's cards in Chromium before it goes live.

pub(crate) mod browser;
pub(crate) mod checks;
pub(crate) mod designs;
pub(crate) mod encode;
pub(crate) mod images;
pub(crate) mod pipeline;
pub mod procfs;
pub(crate) mod settings;

/// The size of every card, Open Graph's 1200×630: the size a design must declare in `describe`
/// (it is refused otherwise), the size it gets in `card-input`, and the page's viewport and clip.
pub(crate) const CARD_SIZE: CardSize = CardSize {
    width: 1200,
    height: 630,
};

pub(crate) use designs::CardSize;

/// Output formats, chosen by `?format=` (parsed with the rest of the request in `card-request`).
pub use card_request::ImageFormat;
pub use checks::DesignCheckSettings;
pub use pipeline::StageTimings;
pub(crate) use pipeline::{CardRenderer, RenderError};
pub use settings::{DesignSettings, PlaywrightSettings};
pub(crate) use settings::{ImageSettings, RenderSettings};

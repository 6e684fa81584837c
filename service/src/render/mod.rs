//! Rendering: listing → design (WebAssembly) → HTML → Chromium → image bytes.
//!
//! `pipeline.rs` lists the steps; `designs.rs` owns wasmtime; `browser/` owns Chromium;
//! `encode.rs` recompresses PNG captures; `images.rs` inlines listing images.

pub mod browser;
pub mod designs;
pub mod encode;
pub mod images;
pub mod pipeline;
pub mod procfs;
pub mod settings;

/// The size of every card, Open Graph's 1200×630: the size a design must declare in `describe`
/// (it is refused otherwise), the size it gets in `card-input`, and the page's viewport and clip.
pub const CARD_SIZE: CardSize = CardSize {
    width: 1200,
    height: 630,
};

pub use designs::CardSize;

/// Output formats, chosen by `?format=` (parsed with the rest of the request in `card-request`).
pub use card_request::ImageFormat;
pub use pipeline::{CardRenderer, RenderError, RenderedCard, StageTimings};
pub use settings::{DesignSettings, ImageSettings, PlaywrightSettings, RenderSettings};

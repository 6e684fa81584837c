//! Rendering: listing → design (WebAssembly) → HTML → Chromium → image bytes.
//!
//! `pipeline.rs` lists the steps; `templates.rs` owns wasmtime; `browser/` owns Chromium;
//! `encode.rs` recompresses PNG captures; `images.rs` inlines listing images.

pub mod browser;
pub mod encode;
pub mod images;
pub mod pipeline;
pub mod procfs;
pub mod templates;

/// Output formats, chosen by `?format=` (parsed with the rest of the request in `card-request`).
pub use card_request::ImageFormat;
pub use pipeline::{CardRenderer, RenderError, RenderedCard, StageTimings};

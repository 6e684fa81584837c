//! The render pipeline as a list of named steps, each timed, with the deadline checked between them:
//!
//! 1. `admit`   — take a queue slot or answer 503 at once (bounded queue, no pile-up)
//! 2. `image`   — fetch the listing image and inline it as a `data:` URI (optional, never fatal)
//! 3. `html`    — run the design's `render` in a fresh wasm `Store` (blocking pool, epoch deadline)
//! 4. `page`, `capture` — load the HTML in a pooled Chromium page and capture it through CDP:
//!    JPEG as served, PNG (Chromium's fast encoding) for PNG and WebP
//! 5. `encode`  — PNG and WebP: encode the fast PNG capture in Rust (`encode.rs`), after the page
//!    went back to the pool, so it overlaps the next capture; within the same deadline (a capture
//!    still queued for an encoder slot at the deadline is not encoded: `encode.rs`)

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::browser::{BrowserError, BrowserPool};
use super::designs::{CardInput, CardListing, DesignError, DesignRegistry, LoadedDesign};
use super::encode::{EncodeError, Encoder};
use super::images::ImageFetcher;
use super::{CARD_SIZE, ImageFormat};
use crate::listings::Listing;
use crate::render::settings::RenderSettings;

/// Time spent in each step, for `Server-Timing`, logs and the per-stage metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimings {
    pub(crate) image: Duration,
    pub(crate) html: Duration,
    /// Waiting for a page and loading the document into it (`set_content` until `load`).
    pub(crate) page: Duration,
    /// Chromium's screenshot (`Page.captureScreenshot`), its bytes back through the driver.
    pub(crate) capture: Duration,
    /// Encoding the capture in Rust (PNG and WebP; zero for JPEG, which Chromium encodes).
    pub(crate) encode: Duration,
}

impl StageTimings {
    /// Every stage with its name, in pipeline order: the one list `Server-Timing` and metrics share.
    pub fn stages(&self) -> [(&'static str, Duration); 5] {
        [
            ("image", self.image),
            ("wasm", self.html),
            ("page", self.page),
            ("capture", self.capture),
            ("encode", self.encode),
        ]
    }

    /// The `Server-Timing` entries for these steps.
    pub(crate) fn server_timing(&self) -> String {
        self.stages()
            .iter()
            .map(|(name, d)| format!("{name};dur={:.1}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A freshly rendered card.
#[derive(Debug, Clone)]
pub(crate) struct RenderedCard {
    pub(crate) bytes: Bytes,
    pub(crate) timings: StageTimings,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RenderError {
    #[error("rendering is disabled (PLAYWRIGHT__ENABLED=false)")]
    Disabled,
    #[error("render queue is full")]
    Overloaded,
    #[error("design `{design}`: {source}")]
    Design { design: String, source: DesignError },
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// The capture could not be encoded (a PNG or WebP encoder error): a bug or a corrupt
    /// capture, not the browser's fault.
    #[error("{format} encode: {detail}")]
    Encode {
        format: &'static str,
        detail: String,
    },
}

impl RenderError {
    /// The render ran past its deadline (in the browser, or waiting for an encoder).
    pub(crate) fn is_deadline(&self) -> bool {
        matches!(self, Self::Browser(BrowserError::Deadline(_)))
    }
}

/// Turns a listing and a design into image bytes.
pub(crate) struct CardRenderer {
    designs: Arc<DesignRegistry>,
    browser: Option<Arc<BrowserPool>>,
    images: ImageFetcher,
    settings: RenderSettings,
    browser_timeout: Duration,
    encoder: Encoder,
    /// Renders admitted at once: the pages that can capture plus `RENDER__QUEUE_DEPTH` waiting.
    admitted: Arc<Semaphore>,
}

impl CardRenderer {
    pub(crate) fn new(
        designs: Arc<DesignRegistry>,
        browser: Option<Arc<BrowserPool>>,
        images: ImageFetcher,
        settings: RenderSettings,
        browser_timeout: Duration,
    ) -> Self {
        let capacity = browser.as_ref().map_or(0, |b| b.capacity());
        let admitted = Arc::new(Semaphore::new(capacity + settings.queue_depth));
        Self {
            designs,
            browser,
            images,
            settings,
            browser_timeout,
            encoder: Encoder::default(),
            admitted,
        }
    }

    pub(crate) fn designs(&self) -> &Arc<DesignRegistry> {
        &self.designs
    }

    pub(crate) fn browser(&self) -> Option<&Arc<BrowserPool>> {
        self.browser.as_ref()
    }

    pub(crate) fn quality(&self) -> u8 {
        self.settings.quality
    }

    pub(crate) fn brand(&self) -> &str {
        &self.settings.brand
    }

    /// Renders waiting or running now.
    pub(crate) fn in_flight(&self) -> usize {
        let capacity =
            self.browser.as_ref().map_or(0, |b| b.capacity()) + self.settings.queue_depth;
        capacity.saturating_sub(self.admitted.available_permits())
    }

    pub(crate) async fn render(
        &self,
        listing: &Listing,
        design: &Arc<LoadedDesign>,
        format: ImageFormat,
    ) -> Result<RenderedCard, RenderError> {
        let mut timings = StageTimings::default();

        // 1. admit
        let browser = self.browser.as_ref().ok_or(RenderError::Disabled)?;
        let _admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| RenderError::Overloaded)?;
        let deadline = Instant::now() + self.browser_timeout;

        // 2. image
        let started = Instant::now();
        let image_data_uri = match listing.image_url.as_deref() {
            Some(url) => match self.images.data_uri(url).await {
                Ok(uri) => Some(uri),
                Err(e) => {
                    tracing::warn!(listing = %listing.id, error = %e, "listing image skipped");
                    None
                }
            },
            None => None,
        };
        timings.image = started.elapsed();

        // 3. html
        let started = Instant::now();
        let input = card_input(listing, image_data_uri, &self.settings.brand);
        let registry = self.designs.clone();
        let owned = design.clone();
        let html = tokio::task::spawn_blocking(move || registry.render(&owned, &input))
            .await
            .map_err(|e| DesignError::Host(e.to_string()))
            .and_then(|r| r)
            .map_err(|source| RenderError::Design {
                design: design.name.clone(),
                source,
            })?;
        timings.html = started.elapsed();

        // 4. page and capture
        let started = Instant::now();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let capture_format = match format {
            ImageFormat::Jpeg => ImageFormat::Jpeg,
            ImageFormat::Png | ImageFormat::Webp => ImageFormat::Png,
        };
        let captured = browser
            .capture(&html, capture_format, self.settings.quality, remaining)
            .await?;
        timings.capture = captured.screenshot;
        timings.page = started.elapsed().saturating_sub(captured.screenshot);
        let bytes = captured.bytes;

        // 5. encode
        let started = Instant::now();
        let encoded = match format {
            ImageFormat::Png => self.encoder.png(bytes, deadline).await,
            ImageFormat::Webp => {
                self.encoder
                    .webp(bytes, self.settings.quality, deadline)
                    .await
            }
            ImageFormat::Jpeg => Ok(bytes),
        };
        let mut bytes = encoded.map_err(|e| match e {
            EncodeError::Deadline => {
                RenderError::Browser(BrowserError::Deadline(self.browser_timeout))
            }
            e => RenderError::Encode {
                format: format.name(),
                detail: e.to_string(),
            },
        })?;
        timings.encode = started.elapsed();
        // Cached cards are counted by their length: no spare capacity held behind them.
        bytes.shrink_to_fit();

        Ok(RenderedCard {
            bytes: Bytes::from(bytes),
            timings,
        })
    }
}

/// The WIT input for a listing: every field the card may show, and nothing else.
pub fn card_input(listing: &Listing, image_data_uri: Option<String>, brand: &str) -> CardInput {
    CardInput {
        listing: CardListing {
            id: listing.id.clone(),
            title: listing.title.clone(),
            price_cents: listing.price_cents(),
            currency: listing.currency.clone(),
            cpu_name: listing.cpu_name.clone(),
            cpu_mark: listing.cpu_mark,
            cpu_mark_per_dollar: listing.cpu_mark_per_dollar(),
            ram_gb: listing.ram_gb,
            storage_gb: listing.storage_gb,
            storage_type: listing.storage_type.clone(),
            condition: listing.condition.clone(),
            seller: listing.seller.clone(),
        },
        image_data_uri,
        brand: brand.to_string(),
        size: CARD_SIZE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_lists_every_stage_in_order() {
        let timings = StageTimings {
            image: Duration::from_micros(1_250),
            html: Duration::from_micros(400),
            page: Duration::from_millis(9),
            capture: Duration::from_millis(41),
            encode: Duration::from_millis(12),
        };
        let names: Vec<&str> = timings.stages().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["image", "wasm", "page", "capture", "encode"]);
        assert_eq!(
            timings.server_timing(),
            "image;dur=1.2, wasm;dur=0.4, page;dur=9.0, capture;dur=41.0, encode;dur=12.0"
        );
    }
}

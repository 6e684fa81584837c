//! The fallback card, served instead of 503 `render-timeout` when `RENDER__FALLBACK_ON_TIMEOUT=true`.
//!
//! It is the default design rendered once (per format) with a neutral listing and kept in
//! memory: the same look as every other card, no extra file to deploy or keep in step with the
//! designs, and no render on the path of a request that has already run out of time. It is sent
//! with `Cache-Control: no-store` and `X-Cache: fallback`, never with the real card's ETag, and is
//! never written to S3, so no cache or crawler keeps it as the listing's image.
//!
//! Overload (a full queue) keeps answering 503 with `Retry-After`: that asks crawlers to come
//! back for the real card, where a fallback would be taken as the listing's image.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use crate::listings::Listing;
use crate::render::{CardRenderer, ImageFormat, RenderError};

const FORMATS: [ImageFormat; 3] = [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp];

/// The fallback image per format, once rendered, and how often it was served.
pub(crate) struct FallbackCards {
    /// `RENDER__FALLBACK_ON_TIMEOUT`.
    enabled: bool,
    renderer: Arc<CardRenderer>,
    /// `TEMPLATES__DEFAULT`, looked up when rendering so a hot-swapped default is used.
    design: String,
    images: [OnceLock<Bytes>; 3],
    served: AtomicU64,
    /// A background render of the missing images is running (see [`FallbackCards::ensure`]).
    preparing: AtomicBool,
}

fn index(format: ImageFormat) -> usize {
    match format {
        ImageFormat::Png => 0,
        ImageFormat::Jpeg => 1,
        ImageFormat::Webp => 2,
    }
}

/// A listing that names no product: the brand's card with nothing that could be mistaken for a deal.
pub(crate) fn neutral_listing(brand: &str) -> Listing {
    Listing {
        id: "fallback".into(),
        title: format!("PC deals on {brand}"),
        price_usd: None,
        currency: "USD".into(),
        cpu_name: None,
        cpu_mark: None,
        ram_gb: None,
        storage_gb: None,
        storage_type: None,
        condition: None,
        seller: None,
        image_url: None,
        updated_at: None,
    }
}

impl FallbackCards {
    pub(crate) fn new(enabled: bool, renderer: Arc<CardRenderer>, design: String) -> Arc<Self> {
        Arc::new(Self {
            enabled,
            renderer,
            design,
            images: Default::default(),
            served: AtomicU64::new(0),
            preparing: AtomicBool::new(false),
        })
    }

    pub(crate) fn get(&self, format: ImageFormat) -> Option<Bytes> {
        self.images[index(format)].get().cloned()
    }

    /// Fallback responses sent since start.
    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Renders the formats not held yet through the normal pipeline, when the fallback is on; a
    /// failure is logged and retried by the next call.
    pub(crate) async fn prepare(&self) {
        if !self.enabled {
            return;
        }
        let Some(design) = self.renderer.designs().get(&self.design) else {
            tracing::warn!(design = %self.design, "fallback card not rendered: the default design is not live");
            return;
        };
        let renderer = &self.renderer;
        let listing = neutral_listing(renderer.brand());
        for format in FORMATS {
            if self.get(format).is_some() {
                continue;
            }
            match renderer.render(&listing, &design, format).await {
                Ok(card) => {
                    let _ = self.images[index(format)].set(card.bytes);
                }
                Err(e) => {
                    tracing::warn!(error = %e, format = format.name(), "fallback card not rendered")
                }
            }
        }
    }

    /// The answer to a render that failed with `error`: the fallback card for a missed deadline
    /// when `RENDER__FALLBACK_ON_TIMEOUT` is on; `None` means answer with the error. If the
    /// start-up render of the fallback failed, it is retried in the background and this request
    /// gets the error.
    pub(crate) fn response_for(
        self: &Arc<Self>,
        error: &RenderError,
        format: ImageFormat,
    ) -> Option<Response> {
        if !self.enabled || !error.is_deadline() {
            return None;
        }
        let response = self.response(format);
        if response.is_none() && !self.preparing.swap(true, Ordering::AcqRel) {
            let this = self.clone();
            tokio::spawn(async move {
                this.prepare().await;
                this.preparing.store(false, Ordering::Release);
            });
        }
        response
    }

    /// The fallback response for `format`, or `None` when it has not been rendered.
    fn response(&self, format: ImageFormat) -> Option<Response> {
        let bytes = self.get(format)?;
        let response = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, format.content_type())
            .header(header::CONTENT_LENGTH, bytes.len())
            // Not the listing's card: nobody may keep it as one.
            .header(header::CACHE_CONTROL, "no-store")
            .header("x-cache", "fallback")
            .body(Body::from(bytes))
            .ok()?;
        self.served.fetch_add(1, Ordering::Relaxed);
        Some(response)
    }
}

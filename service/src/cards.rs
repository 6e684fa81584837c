//! The request path's core, shared by HTTP handlers and jobs: memory tier → S3 → render → store.

use std::sync::Arc;
use std::time::SystemTime;

use crate::cache::breaker::GuardedError;
use crate::cache::{CacheOutcome, CachedImage, CardKey, MemoryTier, S3Store};
use crate::listings::Listing;
use crate::render::pipeline::StageTimings;
use crate::render::templates::LoadedTemplate;
use crate::render::{CardRenderer, ImageFormat, RenderError};

/// A card image and how it was obtained.
pub struct CardImage {
    pub key: CardKey,
    pub image: CachedImage,
    pub outcome: CacheOutcome,
    /// Step timings when this call rendered the image.
    pub timings: Option<StageTimings>,
}

/// Finds or makes card images.
pub struct CardService {
    pub renderer: CardRenderer,
    pub memory: MemoryTier,
    pub s3: Option<S3Store>,
}

impl CardService {
    pub fn key(
        &self,
        template: &LoadedTemplate,
        listing: &Listing,
        format: ImageFormat,
    ) -> CardKey {
        CardKey::new(
            template,
            listing,
            format,
            self.renderer.brand(),
            self.renderer.quality(),
        )
    }

    /// The image for `listing` in `template` and `format`. Concurrent calls for one key render once.
    /// S3 failures are logged and skipped: the image is still rendered and served.
    pub async fn card(
        &self,
        listing: &Listing,
        template: &Arc<LoadedTemplate>,
        format: ImageFormat,
    ) -> Result<CardImage, Arc<RenderError>> {
        let key = self.key(template, listing, format);
        let load = self.load(&key, listing, template, format);
        let (image, outcome) = self.memory.get_or_load(&key, load).await?;
        let timings = (outcome == CacheOutcome::Miss)
            .then_some(image.timings)
            .flatten();
        Ok(CardImage {
            key,
            image,
            outcome,
            timings,
        })
    }

    async fn load(
        &self,
        key: &CardKey,
        listing: &Listing,
        template: &Arc<LoadedTemplate>,
        format: ImageFormat,
    ) -> Result<(CachedImage, CacheOutcome), RenderError> {
        let object_key = key.object_key();
        if let Some(s3) = &self.s3 {
            // Through the breaker and under S3__TIMEOUT_MS: a slow or dead S3 costs a bounded
            // delay, and while the breaker is open, none.
            let started = std::time::Instant::now();
            let got = s3.health().call("get", s3.get(&object_key)).await;
            if !matches!(got, Err(GuardedError::Open)) {
                crate::telemetry::metrics().observe_s3("get", started.elapsed());
            }
            match got {
                Ok(Some(image)) => return Ok((image, CacheOutcome::HitS3)),
                Ok(None) | Err(GuardedError::Open) => {}
                Err(e) => tracing::warn!(error = %e, "s3 read failed; rendering instead"),
            }
        }
        let rendered = self.renderer.render(listing, template, format).await?;
        crate::telemetry::metrics().observe_render(&rendered.timings);
        let image = CachedImage {
            bytes: rendered.bytes,
            content_type: format.content_type(),
            last_modified: SystemTime::now(),
            timings: Some(rendered.timings),
        };
        if let Some(s3) = &self.s3 {
            let metadata = [
                ("listing-id", listing.id.as_str()),
                ("template", template.name.as_str()),
                ("template-version", template.version.as_str()),
                ("fingerprint", key.fingerprint.as_str()),
            ];
            let put = s3.put_if_absent(
                &object_key,
                image.bytes.clone(),
                image.content_type,
                &metadata,
            );
            let started = std::time::Instant::now();
            let stored = s3.health().call("put", put).await;
            if !matches!(stored, Err(GuardedError::Open)) {
                crate::telemetry::metrics().observe_s3("put", started.elapsed());
            }
            match stored {
                Ok(outcome) => tracing::debug!(key = %object_key, ?outcome, "stored"),
                Err(GuardedError::Open) => {
                    tracing::debug!(key = %object_key, "s3 breaker open; not stored")
                }
                Err(e) => tracing::warn!(error = %e, "s3 write failed; serving the image uncached"),
            }
        }
        Ok((image, CacheOutcome::Miss))
    }
}

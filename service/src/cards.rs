//! The request path's core, shared by HTTP handlers and jobs: memory tier → S3 → render → store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

    /// The public URL of `key`'s object when it is known to exist in S3 now, and which tier knows:
    /// the memory tier when it holds the image as stored, or an earlier HEAD found the object (in
    /// both cases young enough that neither the lifecycle rule nor the cleanup job can have
    /// deleted it), else S3 itself (a HEAD: no bytes move). `None` without S3, while its breaker
    /// is open, or when the object is not there.
    pub async fn stored_url(&self, key: &CardKey) -> Option<(String, CacheOutcome)> {
        let s3 = self.s3.as_ref()?;
        let object_key = key.object_key();
        if let Some(image) = self.memory.peek(key).await
            && let Some(url) = self.public_url(key, &image)
        {
            return Some((url, CacheOutcome::HitMemory));
        }
        if let Some(at) = self.memory.seen_in_s3(key).await
            && within_trust(at, s3.ttl(), SystemTime::now())
        {
            return Some((s3.public_url(&object_key), CacheOutcome::HitMemory));
        }
        match s3
            .health()
            .call("head", s3.last_modified(&object_key))
            .await
        {
            Ok(Some(at)) => {
                self.memory.record_seen_in_s3(key, at).await;
                Some((s3.public_url(&object_key), CacheOutcome::HitS3))
            }
            Ok(None) | Err(GuardedError::Open) => None,
            Err(e) => {
                tracing::warn!(error = %e, "s3 head failed; serving the bytes instead");
                None
            }
        }
    }

    /// The public URL of an image [`CardService::card`] just returned, when it is stored in S3 and
    /// young enough to be there still (an old memory-tier entry whose object expired is not).
    pub fn public_url(&self, key: &CardKey, image: &CachedImage) -> Option<String> {
        let s3 = self.s3.as_ref()?;
        (image.stored && within_trust(image.last_modified, s3.ttl(), SystemTime::now()))
            .then(|| s3.public_url(&key.object_key()))
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
        let load = || self.load(&key, listing, template, format);
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
        let mut image = CachedImage {
            bytes: rendered.bytes,
            content_type: format.content_type(),
            last_modified: SystemTime::now(),
            timings: Some(rendered.timings),
            stored: false,
        };
        image.stored = self.store(key, listing, template, &image).await;
        Ok((image, CacheOutcome::Miss))
    }

    /// Puts `image` in S3 under `key` (conditionally: an object already there wins), through the
    /// breaker. Whether the object is there now; `false` without S3, with its breaker open, or
    /// when the PUT failed (logged).
    pub async fn store(
        &self,
        key: &CardKey,
        listing: &Listing,
        template: &LoadedTemplate,
        image: &CachedImage,
    ) -> bool {
        let Some(s3) = &self.s3 else { return false };
        let object_key = key.object_key();
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
            Ok(outcome) => {
                tracing::debug!(key = %object_key, ?outcome, "stored");
                true
            }
            Err(GuardedError::Open) => {
                tracing::debug!(key = %object_key, "s3 breaker open; not stored");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "s3 write failed; serving the image uncached");
                false
            }
        }
    }
}

/// Whether an object stored at `stored_at` is surely still in the bucket: objects live for the TTL
/// (`S3__CACHE_TTL_SECONDS`); the last tenth of it is a margin for clocks and for the cleanup job
/// and lifecycle rule running meanwhile. Past it the bucket is asked again.
fn within_trust(stored_at: SystemTime, ttl: Duration, now: SystemTime) -> bool {
    now.duration_since(stored_at)
        .map_or(true, |age| age < ttl - ttl / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_object_is_trusted_for_nine_tenths_of_the_ttl() {
        let ttl = Duration::from_secs(1_000);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(within_trust(t0, ttl, t0));
        assert!(within_trust(t0, ttl, t0 + Duration::from_secs(899)));
        assert!(!within_trust(t0, ttl, t0 + Duration::from_secs(900)));
        // A clock that stepped back: the object was stored "in the future", so it is young.
        assert!(within_trust(t0 + Duration::from_secs(5), ttl, t0));
    }
}

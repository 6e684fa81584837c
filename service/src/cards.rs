//! The request path's core, shared by HTTP handlers and jobs: memory tier → S3 → render → store.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::cache::breaker::GuardedError;
use crate::cache::{CacheOutcome, CachedImage, CardKey, MemoryTier, S3Store};
use crate::listings::Listing;
use crate::render::browser::BrowserPool;
use crate::render::designs::{CardInput, DesignRegistry, LoadedDesign};
use crate::render::pipeline::{StageTimings, card_input};
use crate::render::{CardRenderer, ImageFormat, RenderError};

/// Bumped when the way we render changes in a way the fingerprint inputs do not show.
const RENDERER_EPOCH: &str = "card-service/2";

/// A card image and how it was obtained.
pub(crate) struct CardImage {
    pub(crate) image: CachedImage,
    pub(crate) outcome: CacheOutcome,
    /// Step timings when this call rendered the image.
    pub(crate) timings: Option<StageTimings>,
}

/// Finds or makes card images.
pub struct CardService {
    pub(crate) renderer: Arc<CardRenderer>,
    pub memory: MemoryTier,
    pub s3: Option<S3Store>,
}

impl CardService {
    /// The live designs.
    pub(crate) fn designs(&self) -> &Arc<DesignRegistry> {
        self.renderer.designs()
    }

    /// The browser pool, unless rendering is disabled.
    pub(crate) fn browser(&self) -> Option<&Arc<BrowserPool>> {
        self.renderer.browser()
    }

    /// Renders admitted and not finished yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.renderer.in_flight()
    }

    /// The brand name the cards show (`RENDER__BRAND`).
    pub(crate) fn brand(&self) -> &str {
        self.renderer.brand()
    }

    pub fn key(&self, design: &LoadedDesign, listing: &Listing, format: ImageFormat) -> CardKey {
        let input = card_input(listing, None, self.renderer.brand());
        CardKey {
            design: design.name.clone(),
            listing_id: listing.id.clone(),
            fingerprint: fingerprint(
                (&design.name, &design.digest),
                &input,
                listing.image_url.as_deref(),
                format,
                self.renderer.quality(),
            ),
            format,
        }
    }

    /// The public URL of `key`'s object when it is known to exist in S3 now, and which tier knows:
    /// the memory tier when it holds the image as stored, or an earlier HEAD found the object (in
    /// both cases young enough that neither the lifecycle rule nor the cleanup job can have
    /// deleted it), else S3 itself (a HEAD: no bytes move). `None` without S3, while its breaker
    /// is open, or when the object is not there.
    pub(crate) async fn stored_url(&self, key: &CardKey) -> Option<(String, CacheOutcome)> {
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
    pub(crate) fn public_url(&self, key: &CardKey, image: &CachedImage) -> Option<String> {
        let s3 = self.s3.as_ref()?;
        (image.stored && within_trust(image.last_modified, s3.ttl(), SystemTime::now()))
            .then(|| s3.public_url(&key.object_key()))
    }

    /// The image for `listing` in `design` and `format`. Concurrent calls for one key render once.
    /// S3 failures are logged and skipped: the image is still rendered and served.
    pub(crate) async fn card(
        &self,
        listing: &Listing,
        design: &Arc<LoadedDesign>,
        format: ImageFormat,
    ) -> Result<CardImage, Arc<RenderError>> {
        let key = self.key(design, listing, format);
        // The caller whose load renders (the only one that sees `Miss`) takes its timings here;
        // the cache holds bytes only.
        let rendered_timings = Mutex::new(None);
        let load = || self.load(&key, listing, design, format, &rendered_timings);
        let (image, outcome) = self.memory.get_or_load(&key, load).await?;
        let timings = (outcome == CacheOutcome::Miss)
            .then(|| rendered_timings.lock().ok()?.take())
            .flatten();
        Ok(CardImage {
            image,
            outcome,
            timings,
        })
    }

    async fn load(
        &self,
        key: &CardKey,
        listing: &Listing,
        design: &Arc<LoadedDesign>,
        format: ImageFormat,
        timings: &Mutex<Option<StageTimings>>,
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
        let rendered = self.renderer.render(listing, design, format).await?;
        crate::telemetry::metrics().observe_render(&rendered.timings);
        if let Ok(mut slot) = timings.lock() {
            *slot = Some(rendered.timings);
        }
        let mut image = CachedImage {
            bytes: rendered.bytes,
            content_type: format.content_type(),
            last_modified: SystemTime::now(),
            stored: false,
        };
        image.stored = self.store(key, listing, design, &image).await;
        Ok((image, CacheOutcome::Miss))
    }

    /// Puts `image` in S3 under `key` (conditionally: an object already there wins), through the
    /// breaker. Whether the object is there now; `false` without S3, with its breaker open, or
    /// when the PUT failed (logged).
    pub(crate) async fn store(
        &self,
        key: &CardKey,
        listing: &Listing,
        design: &LoadedDesign,
        image: &CachedImage,
    ) -> bool {
        let Some(s3) = &self.s3 else { return false };
        let object_key = key.object_key();
        let metadata = [
            ("listing-id", listing.id.as_str()),
            ("template", design.name.as_str()),
            ("template-version", design.version.as_str()),
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

/// The fingerprint of a card: a SHA-256 over the renderer epoch, the design's name and digest,
/// the format and quality, the listing's image URL and the whole `CardInput` the design gets
/// (its serialization, so a field added to `wit/card.wit` is in the key without a change here).
/// The image itself arrives as a `data:` URI fetched at render time; its URL stands for it.
fn fingerprint(
    (design, digest): (&str, &str),
    input: &CardInput,
    image_url: Option<&str>,
    format: ImageFormat,
    quality: u8,
) -> String {
    let mut h = Sha256::new();
    for part in [RENDERER_EPOCH, design, digest, format.extension()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update([quality]);
    h.update(serde_json::to_vec(&(input, image_url)).unwrap_or_default());
    hex::encode(&h.finalize()[..12])
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
    use serde_json::Value;

    fn full_listing() -> Listing {
        serde_json::from_value(serde_json::json!({
            "id": "dl-0001", "title": "ThinkPad T14", "price_usd": 499.0, "currency": "USD",
            "cpu_name": "Intel Core i5-1145G7", "cpu_mark": 10_000, "ram_gb": 16,
            "storage_gb": 512, "storage_type": "NVMe SSD", "condition": "refurbished",
            "seller": "Example", "image_url": "https://img.example.com/a.jpg"
        }))
        .expect("a listing")
    }

    /// Every leaf of `value` as a JSON pointer.
    fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    leaves(v, format!("{at}/{k}"), out);
                }
            }
            _ => out.push(at),
        }
    }

    #[test]
    fn every_card_input_field_changes_the_fingerprint_and_nothing_else_does() {
        let listing = full_listing();
        let input = card_input(&listing, None, "Deal Brain");
        let url = listing.image_url.as_deref();
        let key =
            |input: &CardInput| fingerprint(("classic", "d1"), input, url, ImageFormat::Png, 85);
        let base = key(&input);
        assert_eq!(base, key(&card_input(&listing, None, "Deal Brain")));

        let json = serde_json::to_value(&input).unwrap();
        let mut paths = Vec::new();
        leaves(&json, String::new(), &mut paths);
        // The listing's 12 fields, the image, the brand and the two sizes.
        assert!(paths.len() >= 16, "{paths:?}");
        for path in paths {
            let changed = [Value::from("x"), Value::from(7u32), Value::from(0.5)]
                .into_iter()
                .find_map(|replacement| {
                    let mut json = json.clone();
                    let leaf = json.pointer_mut(&path)?;
                    if *leaf == replacement {
                        return None;
                    }
                    *leaf = replacement;
                    serde_json::from_value::<CardInput>(json).ok()
                })
                .unwrap_or_else(|| panic!("no other value for {path}"));
            assert_ne!(key(&changed), base, "changing {path} kept the fingerprint");
        }

        for other in [
            fingerprint(("classic", "d2"), &input, url, ImageFormat::Png, 85),
            fingerprint(("minimal", "d1"), &input, url, ImageFormat::Png, 85),
            fingerprint(("classic", "d1"), &input, None, ImageFormat::Png, 85),
            fingerprint(
                ("classic", "d1"),
                &input,
                Some("https://x/b.jpg"),
                ImageFormat::Png,
                85,
            ),
            fingerprint(("classic", "d1"), &input, url, ImageFormat::Webp, 85),
            fingerprint(("classic", "d1"), &input, url, ImageFormat::Png, 84),
        ] {
            assert_ne!(other, base);
        }
    }

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

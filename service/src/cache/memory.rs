//! The memory tier: a byte-bounded `moka` cache that also coalesces concurrent misses for one key.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use moka::future::Cache;

use super::{CacheOutcome, CachedImage, CardKey};

/// A value in the tier, remembering how it first got there.
#[derive(Clone)]
struct Entry {
    image: CachedImage,
    origin: CacheOutcome,
}

/// How many keys [`MemoryTier::seen_in_s3`] remembers (a few MB).
const SEEN_CAPACITY: u64 = 50_000;

#[derive(Clone)]
pub struct MemoryTier {
    cache: Option<Cache<CardKey, Entry>>,
    /// Keys whose objects a HEAD found in S3, with their `LastModified`: in redirect mode a card
    /// this instance never loaded is redirected without a HEAD per request. Off with the tier.
    seen_in_s3: Option<Cache<CardKey, SystemTime>>,
}

impl MemoryTier {
    /// A tier holding at most `max_bytes` of image data; 0 disables it (each miss still renders once per caller).
    pub(crate) fn new(max_bytes: u64) -> Self {
        let cache = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .support_invalidation_closures()
                .weigher(|_k: &CardKey, v: &Entry| {
                    u32::try_from(v.image.bytes.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        let seen_in_s3 = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(SEEN_CAPACITY)
                .support_invalidation_closures()
                .build()
        });
        Self { cache, seen_in_s3 }
    }

    /// When the object for `key` was last modified, if a HEAD found it in S3 before.
    pub(crate) async fn seen_in_s3(&self, key: &CardKey) -> Option<SystemTime> {
        self.seen_in_s3.as_ref()?.get(key).await
    }

    /// Remembers that a HEAD found `key`'s object, last modified at `last_modified`.
    pub(crate) async fn record_seen_in_s3(&self, key: &CardKey, last_modified: SystemTime) {
        if let Some(seen) = &self.seen_in_s3 {
            seen.insert(key.clone(), last_modified).await;
        }
    }

    /// The image for `key`: from memory, or from `load()` (run once however many callers ask at
    /// the same time). `load` says where it found the image (S3 or a fresh render); later callers
    /// see `HitMemory`.
    ///
    /// A hit neither creates the load future nor enters moka's insert path, and a miss boxes it:
    /// a render's state machine is several KB, and the request future that holds it inline was
    /// copied as a whole on every hit (≈ 6 % of a memory hit's CPU, measured with `perf`).
    pub(crate) async fn get_or_load<L, F, E>(
        &self,
        key: &CardKey,
        load: L,
    ) -> Result<(CachedImage, CacheOutcome), Arc<E>>
    where
        L: FnOnce() -> F,
        F: Future<Output = Result<(CachedImage, CacheOutcome), E>>,
        E: Send + Sync + 'static,
    {
        let Some(cache) = &self.cache else {
            return Box::pin(load()).await.map_err(Arc::new);
        };
        if let Some(entry) = cache.get(key).await {
            return Ok((entry.image, CacheOutcome::HitMemory));
        }
        let load = Box::pin(load());
        let entry = cache
            .entry_by_ref(key)
            .or_try_insert_with(
                async move { load.await.map(|(image, origin)| Entry { image, origin }) },
            )
            .await?;
        let outcome = if entry.is_fresh() {
            entry.value().origin
        } else {
            CacheOutcome::HitMemory
        };
        Ok((entry.into_value().image, outcome))
    }

    /// The image for `key` if held now; never loads.
    pub(crate) async fn peek(&self, key: &CardKey) -> Option<CachedImage> {
        Some(self.cache.as_ref()?.get(key).await?.image)
    }

    /// Drops every entry for a listing (all designs and formats).
    pub fn invalidate_listing(&self, listing_id: &str) {
        if let Some(cache) = &self.cache {
            let id = listing_id.to_string();
            let _ = cache.invalidate_entries_if(move |k, _| k.listing_id == id);
        }
        if let Some(seen) = &self.seen_in_s3 {
            let id = listing_id.to_string();
            let _ = seen.invalidate_entries_if(move |k, _| k.listing_id == id);
        }
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        if let Some(cache) = &self.cache {
            cache.invalidate_all();
        }
        if let Some(seen) = &self.seen_in_s3 {
            seen.invalidate_all();
        }
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.weighted_size())
    }

    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.entry_count())
    }
}

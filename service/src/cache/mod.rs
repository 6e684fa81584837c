//! The image cache: a bounded memory tier in front of S3, and the key scheme both share.
//!
//! Object key: `card-images/{template}/{listing_id}/{fingerprint}.{ext}`. The fingerprint
//! hashes everything the image depends on (the listing fields the card shows, the design's
//! digest, format, size, quality, brand), so a changed listing or a new design version gets a
//! new key: invalidation needs no purge, and old objects are left for the cleanup job.

pub mod breaker;
pub mod memory;
pub mod s3;

use std::time::SystemTime;

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use memory::MemoryTier;
pub use s3::{PutOutcome, S3Store, StoreError};

use crate::listings::Listing;
use crate::render::ImageFormat;
use crate::render::pipeline::card_input;
use crate::render::templates::LoadedTemplate;

/// Every cached image lives under this prefix; nothing else in the bucket is ours to touch.
pub const PREFIX: &str = card_bucket::layout::CARD_IMAGES;

/// Bumped when the way we render changes in a way the fingerprint inputs do not show.
const RENDERER_EPOCH: &str = "card-service/1";

/// Identifies one rendered image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardKey {
    pub template: String,
    pub listing_id: String,
    pub fingerprint: String,
    pub format: ImageFormat,
}

impl CardKey {
    pub fn new(
        template: &LoadedTemplate,
        listing: &Listing,
        format: ImageFormat,
        brand: &str,
        quality: u8,
    ) -> Self {
        let input = card_input(listing, None, brand);
        let mut h = Sha256::new();
        for part in [
            RENDERER_EPOCH,
            &template.name,
            &template.digest,
            format.extension(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(input.size.width.to_le_bytes());
        h.update(input.size.height.to_le_bytes());
        h.update([quality]);
        // The fields the card shows, in a fixed order, each length-prefixed so no two listings collide.
        let l = &input.listing;
        let fields: [Option<String>; 14] = [
            Some(l.id.clone()),
            Some(l.title.clone()),
            l.price_cents.map(|v| v.to_string()),
            Some(l.currency.clone()),
            l.cpu_name.clone(),
            l.cpu_mark.map(|v| v.to_string()),
            l.cpu_mark_per_dollar.map(|v| format!("{v:.6}")),
            l.ram_gb.map(|v| v.to_string()),
            l.storage_gb.map(|v| v.to_string()),
            l.storage_type.clone(),
            l.condition.clone(),
            l.seller.clone(),
            listing.image_url.clone(),
            Some(input.brand.clone()),
        ];
        for field in fields {
            match field {
                Some(v) => {
                    h.update([1]);
                    h.update((v.len() as u64).to_le_bytes());
                    h.update(v.as_bytes());
                }
                None => h.update([0]),
            }
        }
        let digest = h.finalize();
        Self {
            template: template.name.clone(),
            listing_id: listing.id.clone(),
            fingerprint: hex::encode(&digest[..12]),
            format,
        }
    }

    /// The S3 object key.
    pub fn object_key(&self) -> String {
        format!(
            "{PREFIX}{}/{}/{}.{}",
            self.template,
            self.listing_id,
            self.fingerprint,
            self.format.extension()
        )
    }

    /// The strong `ETag` value, quoted.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.fingerprint)
    }
}

/// An image with what the HTTP response needs.
#[derive(Debug, Clone)]
pub struct CachedImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub last_modified: SystemTime,
    /// Step timings of the render that produced the bytes; `None` when they came from S3.
    pub timings: Option<crate::render::StageTimings>,
    /// The object exists in S3: the bytes were read from it, or our conditional PUT stored them
    /// (or found them stored). Only then may a client be redirected to its public URL.
    pub stored: bool,
}

/// Where a response's bytes came from: the `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    HitMemory,
    HitS3,
    Miss,
}

impl CacheOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HitMemory => "hit-memory",
            Self::HitS3 => "hit-s3",
            Self::Miss => "miss",
        }
    }
}

//! The image cache: a bounded memory tier in front of S3, and the key scheme both share.
//!
//! Object key: `card-images/{design}/{listing_id}/{fingerprint}.{ext}`. The fingerprint (made by
//! `cards.rs`) hashes everything the image depends on, so a changed listing or a new design
//! version gets a new key: invalidation needs no purge, and old objects are left for the cleanup
//! job. This module stores and finds bytes; it knows nothing of rendering.

pub(crate) mod breaker;
pub(crate) mod memory;
pub(crate) mod s3;
mod settings;

use std::time::SystemTime;

use bytes::Bytes;
use card_request::ImageFormat;

pub(crate) use memory::MemoryTier;
pub(crate) use s3::S3Store;
pub use s3::StoreError;
pub(crate) use settings::CacheSettings;
pub use settings::S3Settings;

/// Every cached image lives under this prefix; nothing else in the bucket is ours to touch.
pub(crate) const PREFIX: &str = card_bucket::layout::CARD_IMAGES;

/// Identifies one rendered image: the design, the listing, the fingerprint of everything the
/// image depends on (computed by `cards.rs`, which knows what a card shows) and the format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardKey {
    pub(crate) design: String,
    pub(crate) listing_id: String,
    pub(crate) fingerprint: String,
    pub(crate) format: ImageFormat,
}

impl CardKey {
    /// The S3 object key.
    pub fn object_key(&self) -> String {
        format!(
            "{PREFIX}{}/{}/{}.{}",
            self.design,
            self.listing_id,
            self.fingerprint,
            self.format.extension()
        )
    }

    /// The strong `ETag` value, quoted.
    pub(crate) fn etag(&self) -> String {
        format!("\"{}\"", self.fingerprint)
    }
}

/// An image with what the HTTP response needs.
#[derive(Debug, Clone)]
pub(crate) struct CachedImage {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: &'static str,
    pub(crate) last_modified: SystemTime,
    /// The object exists in S3: the bytes were read from it, or our conditional PUT stored them
    /// (or found them stored). Only then may a client be redirected to its public URL.
    pub(crate) stored: bool,
}

/// Where a response's bytes came from: the `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheOutcome {
    HitMemory,
    HitS3,
    Miss,
}

impl CacheOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::HitMemory => "hit-memory",
            Self::HitS3 => "hit-s3",
            Self::Miss => "miss",
        }
    }
}

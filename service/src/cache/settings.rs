//! The cache area's settings: the S3 tier (`S3__*` and the seed's `AWS_*`) and the memory tier
//! (`CACHE__*`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{Invalid, check};

/// The S3 image cache.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// When false, images are rendered and served without the S3 tier (the seed's "Playwright only" mode).
    pub enabled: bool,
    /// `AWS_S3_BUCKET_NAME`.
    pub bucket_name: String,
    /// `AWS_REGION`.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`; when unset the AWS default chain (IAM role, profile, web identity) is used.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// Age after which cached images expire (lifecycle rule and cleanup job).
    pub cache_ttl_seconds: u64,
    /// Custom endpoint (LocalStack, moto, MinIO); path-style addressing is used with it.
    pub endpoint_url: Option<String>,
    /// Deadline for one S3 call (SDK retries included); past it the image is served without the S3 tier.
    pub timeout_ms: u64,
    /// Consecutive failed S3 calls that open the circuit breaker (S3 is then not called).
    pub breaker_failures: u32,
    /// How long an open breaker stays open before one probe call is let through.
    pub breaker_cooldown_ms: u64,
    /// Where the bucket's objects can be fetched anonymously (a CDN, a custom domain, or the bucket
    /// itself); an object's public URL is this base, `/`, and its key. See [`S3Settings::public_base_url`].
    pub public_base_url: Option<String>,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            enabled: false,
            bucket_name: "dealbrain-card-images".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            cache_ttl_seconds: 2_592_000,
            endpoint_url: None,
            timeout_ms: 3_000,
            breaker_failures: 5,
            breaker_cooldown_ms: 10_000,
            public_base_url: None,
        }
    }
}

impl fmt::Debug for S3Settings {
    // Hand-written so secrets never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("enabled", &self.enabled)
            .field("bucket_name", &self.bucket_name)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("cache_ttl_seconds", &self.cache_ttl_seconds)
            .field("endpoint_url", &self.endpoint_url)
            .field("timeout_ms", &self.timeout_ms)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_cooldown_ms", &self.breaker_cooldown_ms)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

impl S3Settings {
    /// `S3__PUBLIC_BASE_URL` without a trailing `/`, or the bucket's own address: path-style
    /// (`{S3__ENDPOINT_URL}/{bucket}`) with a custom endpoint, as emulators and MinIO serve it;
    /// virtual-hosted (`https://{bucket}.s3.{region}.amazonaws.com`) on AWS, or path-style on the
    /// regional endpoint for a bucket name with dots, which no virtual-hosted TLS certificate covers.
    pub(crate) fn public_base_url(&self) -> String {
        if let Some(url) = &self.public_base_url {
            return url.trim_end_matches('/').to_string();
        }
        let (bucket, region) = (&self.bucket_name, &self.region);
        match &self.endpoint_url {
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None if bucket.contains('.') => format!("https://s3.{region}.amazonaws.com/{bucket}"),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        }
    }
}

/// The in-process memory tier in front of S3.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Capacity of the memory tier in bytes of image data; 0 turns it off.
    pub memory_max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            memory_max_bytes: 128 << 20,
        }
    }
}

impl S3Settings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            is_bucket_name(&self.bucket_name),
            "AWS_S3_BUCKET_NAME",
            "a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
        )?;
        check(
            !self.region.is_empty(),
            "AWS_REGION",
            "a region such as us-east-1",
        )?;
        check(
            self.cache_ttl_seconds >= 60,
            "S3__CACHE_TTL_SECONDS",
            "at least 60 seconds",
        )?;
        check(
            self.timeout_ms >= 50,
            "S3__TIMEOUT_MS",
            "at least 50 milliseconds",
        )?;
        check(
            (1..=1_000).contains(&self.breaker_failures),
            "S3__BREAKER_FAILURES",
            "a whole number from 1 to 1000",
        )?;
        check(
            (100..=3_600_000).contains(&self.breaker_cooldown_ms),
            "S3__BREAKER_COOLDOWN_MS",
            "milliseconds from 100 to 3600000",
        )?;
        check(
            self.access_key_id.is_some() == self.secret_access_key.is_some(),
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
            "both set or both unset",
        )?;
        if let Some(url) = &self.endpoint_url {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                "S3__ENDPOINT_URL",
                "an http:// or https:// URL",
            )?;
        }
        if let Some(base) = &self.public_base_url {
            let ok = reqwest::Url::parse(base).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.query().is_none()
                    && url.fragment().is_none()
            });
            if !ok {
                return Err(Invalid::new(
                    "S3__PUBLIC_BASE_URL",
                    format!(
                        "an absolute http(s):// URL without a query or fragment, such as \
                         https://images.example.com, not `{base}`"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

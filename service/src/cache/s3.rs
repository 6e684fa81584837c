//! The S3 tier: `aws-sdk-s3` with short timeouts, so a slow or dead S3 costs a bounded delay and never an image.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls;
use bytes::Bytes;

use super::CachedImage;
use super::breaker::S3Health;
use crate::cache::settings::S3Settings;
use card_request::ImageFormat;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("s3 {operation} {key}: {message}")]
    Call {
        operation: &'static str,
        key: String,
        message: String,
    },
}

/// What a conditional PUT found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutOutcome {
    Created,
    /// Another writer created the same key first (`If-None-Match: *` → 412); its bytes are the same image.
    AlreadyExists,
}

/// An object as a listing shows it, for the cleanup job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectInfo {
    pub(crate) key: String,
    pub(crate) last_modified: SystemTime,
    pub(crate) size: u64,
}

/// One page of a listing and where the next one starts.
pub(crate) struct ObjectPage {
    pub(crate) objects: Vec<ObjectInfo>,
    pub(crate) next: Option<String>,
}

/// One bucket on one S3 endpoint.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    cache_control: String,
    /// The circuit breaker and error counts of the request path's calls (see `breaker.rs`).
    health: Arc<S3Health>,
    /// `S3__PUBLIC_BASE_URL` (or the bucket's own address): where objects are fetched anonymously.
    public_base: String,
    /// `S3__CACHE_TTL_SECONDS`: after this age the lifecycle rule or the cleanup job may delete an object.
    ttl: Duration,
}

/// An S3 client for these settings: static credentials when given, else the AWS default chain
/// (environment, profile, web identity, ECS/EC2 roles); path-style addressing for custom endpoints.
pub async fn client(settings: &S3Settings) -> Client {
    // S3__TIMEOUT_MS is the budget of the whole operation, retries included: a retry only uses
    // what the first attempt left, so the SDK can never multiply the delay a request pays.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(settings.timeout_ms.min(1_000)))
        .operation_attempt_timeout(Duration::from_millis(settings.timeout_ms))
        .operation_timeout(Duration::from_millis(settings.timeout_ms))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // rustls + ring: no aws-lc or OpenSSL to build.
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .region(Region::new(settings.region.clone()))
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            id,
            secret,
            None,
            None,
            "card-service-settings",
        ));
    }
    let shared = loader.load().await;
    let mut builder = aws_sdk_s3::config::Builder::from(&shared)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = &settings.endpoint_url {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    Client::from_conf(builder.build())
}

impl S3Store {
    pub(crate) async fn new(settings: &S3Settings, cache_control: String) -> Self {
        Self {
            client: client(settings).await,
            bucket: settings.bucket_name.clone(),
            cache_control,
            health: Arc::new(S3Health::new(
                settings.breaker_failures,
                Duration::from_millis(settings.breaker_cooldown_ms),
                Duration::from_millis(settings.timeout_ms),
            )),
            public_base: settings.public_base_url(),
            ttl: Duration::from_secs(settings.cache_ttl_seconds),
        }
    }

    /// The URL at which anyone can fetch the object `key` (keys are URL-safe: design names, listing
    /// ids, hex and an extension).
    pub(crate) fn public_url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }

    /// How long an object lives before expiry may delete it (`S3__CACHE_TTL_SECONDS`).
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The breaker the request path's calls go through, and their error counts.
    pub fn health(&self) -> &S3Health {
        &self.health
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object, or `None` when it does not exist.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<CachedImage>, StoreError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(None);
            }
            Err(e) => return Err(call_error("get", key, e)),
        };
        // The type comes from the key we wrote, not from what the object claims.
        let content_type = key
            .rsplit_once('.')
            .and_then(|(_, ext)| ImageFormat::parse(ext))
            .map_or("application/octet-stream", ImageFormat::content_type);
        let last_modified = output
            .last_modified()
            .and_then(|t| SystemTime::try_from(*t).ok())
            .unwrap_or_else(SystemTime::now);
        let bytes = output.body.collect().await.map_err(|e| StoreError::Call {
            operation: "get",
            key: key.into(),
            message: e.to_string(),
        })?;
        Ok(Some(CachedImage {
            bytes: bytes.into_bytes(),
            content_type,
            last_modified,
            stored: true,
        }))
    }

    /// Writes the object unless it exists (`If-None-Match: *`), with its `Content-Type` and `Cache-Control`.
    pub(crate) async fn put_if_absent(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
        metadata: &[(&str, &str)],
    ) -> Result<PutOutcome, StoreError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .content_type(content_type)
            .cache_control(&self.cache_control)
            .if_none_match("*");
        for (k, v) in metadata {
            request = request.metadata(*k, *v);
        }
        match request.send().await {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e) if is_precondition_failed(&e) => Ok(PutOutcome::AlreadyExists),
            Err(e) => Err(call_error("put", key, e)),
        }
    }

    /// Whether the object exists (a HEAD: no bytes move).
    pub(crate) async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.last_modified(key).await?.is_some())
    }

    /// The object's `LastModified` (the epoch when S3 gives none), or `None` when it does not
    /// exist (a HEAD: no bytes move).
    pub(crate) async fn last_modified(&self, key: &str) -> Result<Option<SystemTime>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(
                output
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok())
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            )),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(call_error("head", key, e)),
        }
    }

    /// One page (up to 1000 objects) of the keys under `prefix`, from `start` (the previous page's `next`).
    pub(crate) async fn list_page(
        &self,
        prefix: &str,
        start: Option<String>,
    ) -> Result<ObjectPage, StoreError> {
        let output = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_continuation_token(start)
            .send()
            .await
            .map_err(|e| call_error("list", prefix, e))?;
        let objects = output
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ObjectInfo {
                    key: o.key()?.to_string(),
                    // No date means we cannot tell its age: treat it as new, so it is kept.
                    last_modified: o
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok())
                        .unwrap_or_else(SystemTime::now),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                })
            })
            .collect();
        let next = output
            .is_truncated()
            .unwrap_or(false)
            .then(|| output.next_continuation_token().map(str::to_string))
            .flatten();
        Ok(ObjectPage { objects, next })
    }

    /// Deletes up to 1000 objects in one `DeleteObjects` call; returns the keys S3 refused, with why.
    pub(crate) async fn delete_batch(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let first = keys.first().cloned().unwrap_or_default();
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Call {
                operation: "delete-objects",
                key: first.clone(),
                message: e.to_string(),
            })?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| StoreError::Call {
                operation: "delete-objects",
                key: first.clone(),
                message: e.to_string(),
            })?;
        let output = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| call_error("delete-objects", &first, e))?;
        Ok(output
            .errors()
            .iter()
            .map(|e| {
                (
                    e.key().unwrap_or_default().to_string(),
                    format!(
                        "{}: {}",
                        e.code().unwrap_or("error"),
                        e.message().unwrap_or("no message")
                    ),
                )
            })
            .collect())
    }

    /// Whether the bucket answers (for `/readyz`).
    pub async fn health_check(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error("head-bucket", &self.bucket, e))
    }
}

pub(crate) fn is_precondition_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(service) => {
            matches!(
                service.err().code(),
                Some("PreconditionFailed" | "ConditionalRequestConflict")
            )
        }
        _ => false,
    }
}

pub(crate) fn call_error<E, R>(operation: &'static str, key: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Call {
        operation,
        key: key.into(),
        message: card_bucket::sdk_error_text(&e),
    }
}

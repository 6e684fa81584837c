//! The control plane's S3 calls: the manifest read with `If-None-Match` and changed with
//! `If-Match`, immutable components, and the per-instance records (counters, heartbeats).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::keys;
use crate::manifest::{Actor, Manifest, Refused};

/// Attempts of one change against a manifest that keeps changing under it.
pub const ATTEMPTS: u32 = 8;

/// Why a control-plane call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// S3 could not be reached or answered with an error: nothing changed.
    #[error("control plane unavailable: {0}")]
    Unavailable(String),
    /// Every attempt lost its conditional write to another change.
    #[error("the manifest kept changing ({attempts} attempts); last seen revision {revision}")]
    Conflict { attempts: u32, revision: u64 },
    /// The manifest as it is refuses the change.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// An object exists but is not what it should be (unparsable, bytes not matching their digest).
    #[error("{key}: {message}")]
    Corrupt { key: String, message: String },
    /// An object the manifest names is missing.
    #[error("{0}: missing")]
    Missing(String),
}

/// What a conditional read of the manifest found.
#[derive(Debug)]
pub enum Read {
    /// The ETag given still matches: nothing to do.
    NotModified,
    /// No manifest yet (a bucket no instance has published to).
    Missing,
    Found {
        manifest: Box<Manifest>,
        etag: String,
    },
    /// It exists but does not parse or fails [`Manifest::check`]; `etag` says which revision to
    /// skip until it changes.
    Corrupt { etag: String, message: String },
}

/// The result of a change: the manifest written (or found unchanged) and what the change returned.
#[derive(Debug)]
pub struct Changed<T> {
    pub manifest: Manifest,
    pub etag: String,
    /// `false` when the change found nothing to do and nothing was written.
    pub written: bool,
    pub value: T,
}

/// The bucket's `control/` prefix.
#[derive(Clone, Debug)]
pub struct ControlStore {
    client: Client,
    bucket: String,
}

impl ControlStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Reads the manifest; with `etag`, a conditional GET that costs nothing when it is unchanged.
    pub async fn read_manifest(&self, etag: Option<&str>) -> Result<Read, ControlError> {
        let key = keys::manifest();
        let mut request = self.client.get_object().bucket(&self.bucket).key(&key);
        if let Some(etag) = etag {
            request = request.if_none_match(etag);
        }
        let output = match request.send().await {
            Ok(output) => output,
            Err(e) if status(&e) == Some(304) => return Ok(Read::NotModified),
            Err(e) if is_missing(&e) => return Ok(Read::Missing),
            Err(e) => return Err(unavailable("GetObject", &key, &e)),
        };
        let etag = output.e_tag().unwrap_or_default().to_owned();
        if etag.is_empty() {
            return Err(ControlError::Unavailable(format!(
                "GetObject {key}: the server sent no ETag"
            )));
        }
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| ControlError::Unavailable(format!("GetObject {key}: {e}")))?
            .into_bytes();
        let parsed = serde_json::from_slice::<Manifest>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|m| m.check().map(|()| m));
        Ok(match parsed {
            Ok(manifest) => Read::Found {
                manifest: Box::new(manifest),
                etag,
            },
            Err(message) => Read::Corrupt { etag, message },
        })
    }

    /// Applies `change` to the latest manifest and writes it with `If-Match` on the ETag read
    /// (`If-None-Match: *` when there is none yet). A lost race reads again and re-applies, up to
    /// [`ATTEMPTS`] times with a growing, jittered pause; then [`ControlError::Conflict`]. A change
    /// that leaves the manifest as it was writes nothing. A corrupt manifest is replaced only by
    /// `repair` changes (see [`ControlStore::change_or_repair`]); others answer `Corrupt`.
    pub async fn change<T>(
        &self,
        actor: &Actor,
        change: impl FnMut(&mut Manifest) -> Result<T, Refused>,
    ) -> Result<Changed<T>, ControlError> {
        self.change_inner(actor, false, change).await
    }

    /// As [`ControlStore::change`], but a corrupt manifest is treated as empty and overwritten
    /// (revision continues from 0): the operator's way out of a hand-broken manifest.
    pub async fn change_or_repair<T>(
        &self,
        actor: &Actor,
        change: impl FnMut(&mut Manifest) -> Result<T, Refused>,
    ) -> Result<Changed<T>, ControlError> {
        self.change_inner(actor, true, change).await
    }

    async fn change_inner<T>(
        &self,
        actor: &Actor,
        repair: bool,
        mut change: impl FnMut(&mut Manifest) -> Result<T, Refused>,
    ) -> Result<Changed<T>, ControlError> {
        let key = keys::manifest();
        let mut revision = 0;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let (current, etag) = match self.read_manifest(None).await? {
                Read::Found { manifest, etag } => (*manifest, Some(etag)),
                Read::Missing => (Manifest::default(), None),
                Read::Corrupt { etag, .. } if repair => (Manifest::default(), Some(etag)),
                Read::Corrupt { message, .. } => {
                    return Err(ControlError::Corrupt { key, message });
                }
                Read::NotModified => unreachable!("an unconditional GET is never 304"),
            };
            revision = current.revision;
            let mut next = current.clone();
            let value = change(&mut next)?;
            if next == current && etag.is_some() {
                return Ok(Changed {
                    manifest: current,
                    etag: etag.unwrap_or_default(),
                    written: false,
                    value,
                });
            }
            next.revision = current.revision + 1;
            next.updated_by.clone_from(&actor.by);
            next.updated_at = actor.at;
            let body = serde_json::to_vec_pretty(&next)
                .map_err(|e| ControlError::Unavailable(e.to_string()))?;
            let request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(ByteStream::from(body))
                .content_type("application/json")
                .cache_control("no-store");
            let request = match &etag {
                Some(etag) => request.if_match(etag),
                None => request.if_none_match("*"),
            };
            match request.send().await {
                Ok(output) => {
                    return Ok(Changed {
                        manifest: next,
                        etag: output.e_tag().unwrap_or_default().to_owned(),
                        written: true,
                        value,
                    });
                }
                Err(e) if lost_race(&e) => {
                    tracing::debug!(
                        attempt,
                        revision,
                        "manifest changed under a write; retrying"
                    );
                }
                Err(e) => return Err(unavailable("PutObject", &key, &e)),
            }
        }
        Err(ControlError::Conflict {
            attempts: ATTEMPTS,
            revision,
        })
    }

    /// Stores a component under its digest (`If-None-Match: *`: an existing object with that
    /// name already holds these bytes). Returns the digest.
    pub async fn put_component(&self, design: &str, bytes: &[u8]) -> Result<String, ControlError> {
        let digest = digest(bytes);
        let key = keys::component(design, &digest);
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(bytes.to_vec()))
            .content_type("application/wasm")
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(digest),
            Err(e) if lost_race(&e) => Ok(digest),
            Err(e) => Err(unavailable("PutObject", &key, &e)),
        }
    }

    /// A component's bytes, checked against their digest.
    pub async fn get_component(&self, design: &str, digest: &str) -> Result<Vec<u8>, ControlError> {
        let key = keys::component(design, digest);
        let bytes = self
            .get_bytes(&key)
            .await?
            .ok_or_else(|| ControlError::Missing(key.clone()))?;
        let actual = crate::store::digest(&bytes);
        if actual != digest {
            return Err(ControlError::Corrupt {
                key,
                message: format!("its bytes hash to {actual}"),
            });
        }
        Ok(bytes)
    }

    /// Writes a record only this instance writes (its counters, its heartbeat).
    pub async fn put_record<T: Serialize>(
        &self,
        key: &str,
        record: &T,
    ) -> Result<(), ControlError> {
        let body =
            serde_json::to_vec(record).map_err(|e| ControlError::Unavailable(e.to_string()))?;
        self.put_bytes(key, body, "application/json").await
    }

    /// Writes an object no other writer names (a record, a check run's image): a plain PUT.
    pub async fn put_bytes(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), ControlError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .content_type(content_type)
            .cache_control("no-store")
            .send()
            .await
            .map_err(|e| unavailable("PutObject", key, &e))?;
        Ok(())
    }

    /// Reads one record; `None` when absent.
    pub async fn get_record<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ControlError> {
        let Some(bytes) = self.get_bytes(key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ControlError::Corrupt {
                key: key.to_owned(),
                message: e.to_string(),
            })
    }

    /// Every record under `prefix`, with its key; one that does not parse is skipped with a warning.
    pub async fn records<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, ControlError> {
        let mut out = Vec::new();
        for key in self.list(prefix).await? {
            match self.get_record(&key).await {
                Ok(Some(record)) => out.push((key, record)),
                Ok(None) => {}
                Err(ControlError::Corrupt { key, message }) => {
                    tracing::warn!(%key, %message, "control record skipped");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Every key under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ControlError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable("ListObjectsV2", prefix, &e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// Deletes one object (a retention sweep: ended counters, old check runs); absent is fine.
    pub async fn delete(&self, key: &str) -> Result<(), ControlError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable("DeleteObject", key, &e))?;
        Ok(())
    }

    /// One object's bytes; `None` when absent.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, ControlError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(unavailable("GetObject", key, &e)),
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| ControlError::Unavailable(format!("GetObject {key}: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }
}

/// Hex SHA-256 of `bytes`: the name of a component object.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// 50 ms, 100 ms, 200 ms … (capped at 1.6 s), each with up to half of it again at random, so
/// racing writers spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 25u64 << attempt.min(6);
    let jitter = {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::time::Instant::now()) % (base / 2 + 1)
    };
    Duration::from_millis(base + jitter)
}

type Response = aws_sdk_s3::config::http::HttpResponse;

fn status<E>(e: &SdkError<E, Response>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn is_missing<E: ProvideErrorMetadata>(e: &SdkError<E, Response>) -> bool {
    status(e) == Some(404)
        || matches!(e, SdkError::ServiceError(s) if matches!(s.err().code(), Some("NoSuchKey" | "NotFound")))
}

/// A conditional write that lost: 412, or 409 when S3 saw two conditional writes at once.
fn lost_race<E: ProvideErrorMetadata>(e: &SdkError<E, Response>) -> bool {
    matches!(status(e), Some(412 | 409))
        || matches!(e, SdkError::ServiceError(s) if matches!(s.err().code(), Some("PreconditionFailed" | "ConditionalRequestConflict")))
}

fn unavailable<E, R>(operation: &str, key: &str, e: &SdkError<E, R>) -> ControlError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    ControlError::Unavailable(format!(
        "{operation} {key}: {}",
        card_bucket::sdk_error_text(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) >= Duration::from_millis(50));
        assert!(backoff(1) <= Duration::from_millis(75));
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_millis(2_400));
        }
    }

    #[test]
    fn digests_are_hex_sha256() {
        let d = digest(b"abc");
        assert!(crate::manifest::is_digest(&d));
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! One runner per job across instances: a lease object in S3, `jobs/leases/{job}.json`, changed
//! only by conditional PUTs.
//!
//! - No object: `PUT If-None-Match: *`. Of instances racing, S3 accepts one; the others get 412.
//! - Held and not expired: busy; the body says by whom and until when.
//! - Expired (a crashed holder) or released: `PUT If-Match: <its ETag>`, so of instances taking
//!   over the same lease exactly one succeeds: the first write changes the ETag the others name.
//! - Renewal: the same conditional PUT with a later expiry. A 412 means another instance took the
//!   lease over (we were presumed dead), and the run stops.
//! - Release: the same conditional PUT, marked released. Nothing is deleted, and the object keeps
//!   the last scheduled slot a run started for, so an instance whose timer fires a moment after
//!   another's run has finished sees that the slot already ran.
//!
//! Times are the writers' clocks, in seconds since the epoch: skew between instances shifts an
//! expiry by the skew, which the TTL (minutes) dwarfs. moto, LocalStack and AWS S3 all honour
//! `If-None-Match: *` and `If-Match` on PutObject; only S3 evaluates them atomically (the
//! emulators check, then write), which is why a won write is read back (see `confirm`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use crate::cache::StoreError;
use crate::cache::s3::{call_error, is_precondition_failed};

/// Lease objects live here, outside `card-images/`, so the cleanup job never sees them.
pub(crate) const PREFIX: &str = card_bucket::layout::JOB_LEASES;

/// What a lease object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseBody {
    /// The run holding (or that last held) the lease, unique across instances.
    pub holder: String,
    /// The instance the run belongs to, for people reading `GET /admin/jobs`.
    pub(crate) instance: String,
    /// Seconds since the epoch.
    pub(crate) acquired_at: u64,
    /// Seconds since the epoch; past it anyone may take the lease over.
    pub(crate) expires_at: u64,
    /// Set when the holder finished; the lease is free.
    #[serde(default)]
    pub released: bool,
    /// The latest scheduled slot (seconds since the epoch) a run started for, carried across holders.
    #[serde(default)]
    pub(crate) last_slot: Option<u64>,
}

impl LeaseBody {
    /// Whether another run may take the lease at `now`.
    pub(crate) fn is_free(&self, now: SystemTime) -> bool {
        self.released || self.expires_at <= secs(now)
    }
}

/// A lease we hold: the ETag names the version we wrote, which every later change must match.
#[derive(Debug, Clone)]
pub struct Lease {
    key: String,
    etag: String,
    pub body: LeaseBody,
    /// What the object said before we took it (`None` when there was no object).
    pub previous: Option<LeaseBody>,
}

/// The outcome of [`LeaseStore::acquire`].
#[derive(Debug)]
pub enum Acquired {
    Held(Lease),
    /// Someone else holds it; their lease as read.
    Busy(LeaseBody),
}

/// A conditional write that lost: the object is not (or no longer) what we expected.
enum Put {
    Done(String),
    Lost,
}

/// The lease objects in one bucket.
#[derive(Clone)]
pub struct LeaseStore {
    client: Client,
    bucket: String,
}

impl LeaseStore {
    pub fn new(client: Client, bucket: String) -> Self {
        Self { client, bucket }
    }

    pub(crate) fn key(job: &str) -> String {
        format!("{PREFIX}{job}.json")
    }

    /// Takes the lease of `job` for `ttl` from `now`, unless someone else holds it.
    /// `slot`: the scheduled time this run is for, recorded in the lease (see the module docs).
    pub async fn acquire(
        &self,
        job: &str,
        holder: &str,
        instance: &str,
        now: SystemTime,
        ttl: Duration,
        slot: Option<SystemTime>,
    ) -> Result<Acquired, StoreError> {
        let key = Self::key(job);
        let fresh = LeaseBody {
            holder: holder.into(),
            instance: instance.into(),
            acquired_at: secs(now),
            expires_at: secs(now) + ttl.as_secs(),
            released: false,
            last_slot: slot.map(secs),
        };
        // The object can change between our calls (released, taken over); a few rounds settle it.
        for _ in 0..3 {
            if let Put::Done(etag) = self.put(&key, &fresh, None).await? {
                return self
                    .confirm(Lease {
                        key,
                        etag,
                        body: fresh,
                        previous: None,
                    })
                    .await;
            }
            let Some((current, etag)) = self.read(job).await? else {
                continue;
            };
            if !current.is_free(now) {
                return Ok(Acquired::Busy(current));
            }
            let body = LeaseBody {
                last_slot: current.last_slot.max(fresh.last_slot),
                ..fresh.clone()
            };
            if let Put::Done(etag) = self.put(&key, &body, Some(&etag)).await? {
                return self
                    .confirm(Lease {
                        key,
                        etag,
                        body,
                        previous: Some(current),
                    })
                    .await;
            }
        }
        // Still changing under us: someone else is taking it right now.
        match self.read(job).await? {
            Some((current, _)) if !current.is_free(now) => Ok(Acquired::Busy(current)),
            _ => Err(StoreError::Call {
                operation: "lease",
                key,
                message: "the lease kept changing while we tried to take it".into(),
            }),
        }
    }

    /// Reads the lease back after a conditional write went through: ours only if the object is
    /// still the version we wrote. S3 evaluates conditions atomically, so there it always is; moto
    /// and LocalStack check and then write, and under load two simultaneous conditional writes can
    /// both succeed there, the later one winning. Whoever is overwritten after this check still
    /// finds out at its first renewal.
    async fn confirm(&self, lease: Lease) -> Result<Acquired, StoreError> {
        let job = lease
            .key
            .strip_prefix(PREFIX)
            .and_then(|k| k.strip_suffix(".json"))
            .unwrap_or_default();
        match self.read(job).await? {
            Some((_, etag)) if same_etag(&etag, &lease.etag) => Ok(Acquired::Held(lease)),
            Some((current, _)) => Ok(Acquired::Busy(current)),
            None => Err(StoreError::Call {
                operation: "lease",
                key: lease.key,
                message: "the lease object vanished right after we wrote it".into(),
            }),
        }
    }

    /// Pushes the expiry to `now + ttl`. `false`: the lease is no longer ours (someone took it over).
    pub async fn renew(
        &self,
        lease: &mut Lease,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let body = LeaseBody {
            expires_at: secs(now) + ttl.as_secs(),
            ..lease.body.clone()
        };
        match self.put(&lease.key, &body, Some(&lease.etag)).await? {
            Put::Done(etag) => {
                lease.etag = etag;
                lease.body = body;
                Ok(true)
            }
            Put::Lost => Ok(false),
        }
    }

    /// Marks the lease free. `false`: it was no longer ours, and is left as the new holder wrote it.
    pub async fn release(&self, lease: &Lease, now: SystemTime) -> Result<bool, StoreError> {
        let body = LeaseBody {
            expires_at: secs(now),
            released: true,
            ..lease.body.clone()
        };
        Ok(matches!(
            self.put(&lease.key, &body, Some(&lease.etag)).await?,
            Put::Done(_)
        ))
    }

    /// The lease object of `job` and its ETag; `None` when there is none. A body that does not
    /// parse (someone else wrote the key) reads as a released lease, so it can be taken over.
    pub async fn read(&self, job: &str) -> Result<Option<(LeaseBody, String)>, StoreError> {
        let key = Self::key(job);
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(None);
            }
            Err(e) => return Err(call_error("get", &key, e)),
        };
        let etag = output.e_tag().unwrap_or_default().to_string();
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Call {
                operation: "get",
                key: key.clone(),
                message: e.to_string(),
            })?
            .into_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| LeaseBody {
            holder: "(unreadable lease)".into(),
            instance: String::new(),
            acquired_at: 0,
            expires_at: 0,
            released: true,
            last_slot: None,
        });
        Ok(Some((body, etag)))
    }

    /// `If-None-Match: *` without `matching`, `If-Match: matching` with it.
    async fn put(
        &self,
        key: &str,
        body: &LeaseBody,
        matching: Option<&str>,
    ) -> Result<Put, StoreError> {
        let bytes = serde_json::to_vec(body).map_err(|e| StoreError::Call {
            operation: "put",
            key: key.into(),
            message: e.to_string(),
        })?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .content_type("application/json")
            .cache_control("no-store");
        let request = match matching {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(output) => Ok(Put::Done(output.e_tag().unwrap_or_default().to_string())),
            Err(e) if is_precondition_failed(&e) => Ok(Put::Lost),
            // `If-Match` on an object deleted meanwhile: 404.
            Err(e)
                if matching.is_some()
                    && e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(Put::Lost)
            }
            Err(e) => Err(call_error("put", key, e)),
        }
    }
}

/// ETags compare without their quotes (servers differ in whether they add them).
fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"') == b.trim_matches('"')
}

/// Seconds since the epoch (0 before it).
pub(crate) fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_free_when_released_or_expired() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut body = LeaseBody {
            holder: "a".into(),
            instance: "host-1".into(),
            acquired_at: 900,
            expires_at: 1_001,
            released: false,
            last_slot: None,
        };
        assert!(!body.is_free(now));
        body.expires_at = 1_000;
        assert!(body.is_free(now));
        body.expires_at = 2_000;
        body.released = true;
        assert!(body.is_free(now));
    }

    #[test]
    fn older_lease_objects_parse() {
        let body: LeaseBody =
            serde_json::from_str(r#"{"holder":"a","instance":"h","acquired_at":1,"expires_at":2}"#)
                .unwrap();
        assert!(!body.released);
        assert_eq!(body.last_slot, None);
    }
}

//! Which share-link visits count as clicks: one per person per `EXPERIMENTS__CLICK_DEDUPE_SECONDS`.
//!
//! A person is keyed by SHA-256(salt ‖ client address ‖ User-Agent). The salt is random per
//! process and never stored, and only the hashes are kept, in memory, for the dedupe window: no
//! raw address is stored anywhere (not in memory past the request, not in S3, not in logs).
//! Deduplication is per instance: behind a load balancer that spreads one person's clicks over
//! instances within the window, each instance counts one (docs/operations.md, Privacy).

use std::time::Duration;

use moka::future::Cache;
use sha2::{Digest, Sha256};

pub(crate) struct Clicks {
    salt: [u8; 32],
    /// `None` with a window of 0: every click counts.
    seen: Option<Cache<[u8; 32], ()>>,
}

impl Clicks {
    pub(crate) fn new(window: Duration) -> Self {
        let mut salt = [0u8; 32];
        // Without OS randomness the process could not have started (Chromium, TLS need it too).
        getrandom::fill(&mut salt).expect("the OS gives random bytes");
        let seen = (!window.is_zero()).then(|| {
            Cache::builder()
                .time_to_live(window)
                .max_capacity(1_000_000)
                .build()
        });
        Self { salt, seen }
    }

    /// `true` the first time this person clicks within the window (the click counts).
    pub(crate) async fn first(&self, address: &str, user_agent: &str) -> bool {
        let Some(seen) = &self.seen else {
            return true;
        };
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(address.as_bytes());
        hasher.update([0]);
        hasher.update(user_agent.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        seen.entry(key).or_insert(()).await.is_fresh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_person_counts_once_within_the_window() {
        let clicks = Clicks::new(Duration::from_secs(60));
        assert!(clicks.first("192.0.2.1", "Mozilla/5.0 A").await);
        assert!(!clicks.first("192.0.2.1", "Mozilla/5.0 A").await);
        assert!(clicks.first("192.0.2.1", "Mozilla/5.0 B").await);
        assert!(clicks.first("192.0.2.2", "Mozilla/5.0 A").await);
        let every = Clicks::new(Duration::ZERO);
        assert!(every.first("192.0.2.1", "x").await && every.first("192.0.2.1", "x").await);
    }
}

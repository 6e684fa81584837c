//! A circuit breaker and error counters for the S3 tier, so a dead S3 costs one timeout per
//! cool-down instead of one per request.
//!
//! Closed → (`S3__BREAKER_FAILURES` consecutive failures) → Open for `S3__BREAKER_COOLDOWN_MS`
//! → HalfOpen: one call goes through as a probe; its success closes the breaker, its failure
//! opens it for another cool-down. While open, reads count as misses and writes are skipped:
//! the request path renders and serves without the S3 tier.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::StoreError;

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `failures` consecutive ones have failed so far.
    Closed { failures: u32 },
    /// Calls are refused until `until`.
    Open { until: Instant },
    /// One probe call is allowed; `probing` while it runs.
    HalfOpen { probing: bool },
}

impl BreakerState {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            BreakerState::Closed { .. } => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen { .. } => "half-open",
        }
    }
}

/// The state machine alone, driven by explicit instants so it can be tested without sleeping.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: BreakerState,
}

/// What [`Breaker::admit`] decided for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// A normal call with the breaker closed.
    Call,
    /// The one probe of a half-open breaker: its outcome decides the state.
    Probe,
    /// Refused: the breaker is open (or a probe is already running).
    Refused,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: BreakerState::Closed { failures: 0 },
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        self.state
    }

    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            BreakerState::Closed { .. } => Admission::Call,
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen { probing: true };
                Admission::Probe
            }
            BreakerState::Open { .. } => Admission::Refused,
            BreakerState::HalfOpen { probing: false } => {
                self.state = BreakerState::HalfOpen { probing: true };
                Admission::Probe
            }
            BreakerState::HalfOpen { probing: true } => Admission::Refused,
        }
    }

    pub(crate) fn success(&mut self) {
        self.state = BreakerState::Closed { failures: 0 };
    }

    pub(crate) fn failure(&mut self, now: Instant) {
        self.state = match self.state {
            BreakerState::Closed { failures } if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            _ => BreakerState::Open {
                until: now + self.cooldown,
            },
        };
    }

    /// A probe whose caller went away before it finished: let the next call probe instead.
    pub(crate) fn abandoned(&mut self) {
        if self.state == (BreakerState::HalfOpen { probing: true }) {
            self.state = BreakerState::HalfOpen { probing: false };
        }
    }
}

/// S3 operations counted separately in `card_s3_errors_total{op}`.
pub(crate) const OPERATIONS: [&str; 3] = ["get", "put", "head"];

/// The breaker in front of the request path's S3 calls, their deadline, and error counts.
pub struct S3Health {
    breaker: Mutex<Breaker>,
    timeout: Duration,
    errors: [AtomicU64; OPERATIONS.len()],
    /// Calls not made because the breaker was open.
    refused: AtomicU64,
}

/// Why a guarded call did not return a value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GuardedError {
    #[error("s3 circuit breaker is open; not calling S3")]
    Open,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("s3 {0} took longer than S3__TIMEOUT_MS ({1:?})")]
    Timeout(&'static str, Duration),
}

impl S3Health {
    pub(crate) fn new(failures: u32, cooldown: Duration, timeout: Duration) -> Self {
        Self {
            breaker: Mutex::new(Breaker::new(failures, cooldown)),
            timeout,
            errors: Default::default(),
            refused: AtomicU64::new(0),
        }
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> BreakerState {
        self.breaker().state()
    }

    /// Whether calls are being refused now (open, or half-open with its probe running).
    pub(crate) fn is_open(&self) -> bool {
        !matches!(self.state(), BreakerState::Closed { .. })
    }

    /// Failed calls of `op` since start (one of [`OPERATIONS`]).
    pub(crate) fn errors(&self, op: &str) -> u64 {
        OPERATIONS
            .iter()
            .position(|o| *o == op)
            .map_or(0, |i| self.errors[i].load(Ordering::Relaxed))
    }

    #[cfg(test)]
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Runs one S3 call through the breaker under `S3__TIMEOUT_MS` (the body download included).
    pub(crate) async fn call<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, GuardedError> {
        let admission = self.breaker().admit(Instant::now());
        if admission == Admission::Refused {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(GuardedError::Open);
        }
        // Records an abandoned probe if this future is dropped mid-call.
        let mut pending = Pending {
            health: self,
            armed: admission == Admission::Probe,
        };
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(GuardedError::Store(e)),
            Err(_) => Err(GuardedError::Timeout(op, self.timeout)),
        };
        pending.armed = false;
        let mut breaker = self.breaker();
        match &result {
            Ok(_) => breaker.success(),
            Err(_) => {
                if let Some(i) = OPERATIONS.iter().position(|o| *o == op) {
                    self.errors[i].fetch_add(1, Ordering::Relaxed);
                }
                let was_closed = matches!(breaker.state(), BreakerState::Closed { .. });
                breaker.failure(Instant::now());
                if was_closed && !matches!(breaker.state(), BreakerState::Closed { .. }) {
                    tracing::warn!(op, "s3 circuit breaker opened; serving without the S3 tier");
                }
            }
        }
        if admission == Admission::Probe && result.is_ok() {
            tracing::info!(op, "s3 circuit breaker closed; caching resumes");
        }
        result
    }
}

struct Pending<'a> {
    health: &'a S3Health,
    armed: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.health.breaker().abandoned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(10);

    #[test]
    fn consecutive_failures_open_it_and_a_success_resets_the_count() {
        let now = Instant::now();
        let mut b = Breaker::new(3, COOLDOWN);
        b.failure(now);
        b.failure(now);
        assert_eq!(b.state(), BreakerState::Closed { failures: 2 });
        b.success();
        b.failure(now);
        b.failure(now);
        assert_eq!(b.admit(now), Admission::Call);
        b.failure(now);
        assert_eq!(
            b.state(),
            BreakerState::Open {
                until: now + COOLDOWN
            }
        );
        assert_eq!(b.admit(now + Duration::from_secs(9)), Admission::Refused);
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_through_and_decides() {
        let now = Instant::now();
        let mut b = Breaker::new(1, COOLDOWN);
        b.failure(now);
        let later = now + COOLDOWN;
        assert_eq!(b.admit(later), Admission::Probe);
        // Only one probe at a time.
        assert_eq!(b.admit(later), Admission::Refused);
        b.failure(later);
        assert_eq!(
            b.state(),
            BreakerState::Open {
                until: later + COOLDOWN
            }
        );
        assert_eq!(b.admit(later + COOLDOWN), Admission::Probe);
        b.success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        assert_eq!(b.admit(later + COOLDOWN), Admission::Call);
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let now = Instant::now();
        let mut b = Breaker::new(1, COOLDOWN);
        b.failure(now);
        assert_eq!(b.admit(now + COOLDOWN), Admission::Probe);
        b.abandoned();
        assert_eq!(b.admit(now + COOLDOWN), Admission::Probe);
    }

    fn failing() -> Result<(), StoreError> {
        Err(StoreError::Call {
            operation: "get",
            key: "k".into(),
            message: "boom".into(),
        })
    }

    #[tokio::test]
    async fn guarded_calls_count_errors_time_out_and_refuse_while_open() {
        let health = S3Health::new(2, Duration::from_millis(50), Duration::from_millis(20));
        assert!(health.call("get", async { failing() }).await.is_err());
        let slow = health
            .call("put", async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert!(
            matches!(slow, Err(GuardedError::Timeout("put", _))),
            "{slow:?}"
        );
        assert!(health.is_open());
        assert_eq!((health.errors("get"), health.errors("put")), (1, 1));
        let refused = health.call("get", async { Ok(()) }).await;
        assert!(matches!(refused, Err(GuardedError::Open)));
        assert_eq!(health.refused(), 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(health.call("head", async { Ok(()) }).await.is_ok());
        assert_eq!(health.state(), BreakerState::Closed { failures: 0 });
    }
}

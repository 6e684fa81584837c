//! What every area's settings share: a value out of range names the variable to fix.
//!
//! Each area (`render`, `cache`, `listings`, `jobs`, `telemetry`) owns its settings struct, with
//! `Default` and a `validate`; `settings.rs` composes them, loads them and calls each `validate`.

use std::time::Duration;

/// A setting out of range: the variable to fix and what it expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: expected {expected}")]
pub struct Invalid {
    pub(crate) var: String,
    pub(crate) expected: String,
}

impl Invalid {
    pub(crate) fn new(var: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            var: var.into(),
            expected: expected.into(),
        }
    }
}

/// `Ok` when `ok`, else the variable and what it expects.
pub(crate) fn check(ok: bool, var: &str, expected: &str) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(var, expected))
    }
}

/// `true` for an absolute `http://` or `https://` URL with a host.
pub(crate) fn is_http_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// Milliseconds as a `Duration`, for the many `*_ms` settings.
pub(crate) fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

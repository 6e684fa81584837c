//! How A/B tests count and judge (`EXPERIMENTS__*`).

use serde::{Deserialize, Serialize};

use crate::config::{Invalid, check};

/// How share-link clicks are counted and results judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentSettings {
    /// The same person (client address + User-Agent, hashed with a per-process salt) opening
    /// share links again within this many seconds counts one click.
    pub click_dedupe_seconds: u64,
    /// Unfurls every variant needs before results compare rates.
    pub min_unfurls: u64,
    /// The request header holding the client's address when a proxy sets it (for example
    /// `X-Forwarded-For`, whose last entry is the address the proxy saw). Empty: the connection's
    /// peer address. Only set it behind a proxy that overwrites or appends it.
    pub client_address_header: Option<String>,
}

impl Default for ExperimentSettings {
    fn default() -> Self {
        Self {
            click_dedupe_seconds: 1_800,
            min_unfurls: 200,
            client_address_header: None,
        }
    }
}

impl ExperimentSettings {
    pub fn validate(&self) -> Result<(), Invalid> {
        check(
            self.click_dedupe_seconds <= 7 * 86_400,
            "EXPERIMENTS__CLICK_DEDUPE_SECONDS",
            "seconds, at most 604800 (a week); 0 counts every click",
        )?;
        check(
            self.min_unfurls >= 1,
            "EXPERIMENTS__MIN_UNFURLS",
            "at least 1",
        )?;
        check(
            self.client_address_header
                .as_deref()
                .is_none_or(|h| axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok()),
            "EXPERIMENTS__CLIENT_ADDRESS_HEADER",
            "an HTTP header name such as X-Forwarded-For",
        )
    }
}

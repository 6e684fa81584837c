//! Where listings come from (`LISTINGS__*`).

use serde::{Deserialize, Serialize};

use crate::config::{Invalid, check};

/// Where listings come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListingSettings {
    /// `embedded` (the built-in sample data), a path to a JSON file of the same shape,
    /// or the base URL of the Deal Brain API (`http://…` / `https://…`).
    pub source: String,
    /// Deadline for one Deal Brain API call.
    pub timeout_ms: u64,
}

impl Default for ListingSettings {
    fn default() -> Self {
        Self {
            source: "embedded".into(),
            timeout_ms: 3_000,
        }
    }
}

impl ListingSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            !self.source.is_empty(),
            "LISTINGS__SOURCE",
            "`embedded`, a JSON file path or an http(s):// URL",
        )
    }
}

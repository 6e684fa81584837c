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
    /// The listing's page on Deal Brain, where a person who opens a share link is sent: an
    /// absolute http(s) URL with `{id}` in it.
    pub page_url_template: String,
}

impl Default for ListingSettings {
    fn default() -> Self {
        Self {
            source: "embedded".into(),
            timeout_ms: 3_000,
            page_url_template: "https://dealbrain.app/listings/{id}".into(),
        }
    }
}

impl ListingSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            !self.source.is_empty(),
            "LISTINGS__SOURCE",
            "`embedded`, a JSON file path or an http(s):// URL",
        )?;
        check(
            crate::config::is_http_url(&self.page_url_template.replace("{id}", "x"))
                && self.page_url_template.contains("{id}"),
            "LISTINGS__PAGE_URL_TEMPLATE",
            "an absolute http(s) URL containing {id}, such as https://dealbrain.app/listings/{id}",
        )
    }

    /// The page of listing `id` (an id is `[A-Za-z0-9_-]`: nothing to escape).
    pub fn page_url(&self, id: &str) -> String {
        self.page_url_template.replace("{id}", id)
    }
}

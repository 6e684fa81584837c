//! Listings: the deal data a card shows, and where it comes from.
//!
//! A `ListingSource` is the embedded sample data (the default), a JSON file of the same
//! shape or a bare array of listings (re-read when it changes), or the Deal Brain API over HTTP.

mod api;
mod file;
mod settings;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use api::ApiListings;
pub(crate) use file::FileListings;

pub(crate) use settings::ListingSettings;

/// The embedded default data set: `service/data/sample-listings.json`.
pub(crate) const SAMPLE_LISTINGS_JSON: &str = include_str!("../../data/sample-listings.json");

/// One listing as Deal Brain publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) price_usd: Option<f64>,
    #[serde(default = "usd")]
    pub(crate) currency: String,
    #[serde(default)]
    pub(crate) cpu_name: Option<String>,
    #[serde(default)]
    pub(crate) cpu_mark: Option<u32>,
    #[serde(default)]
    pub(crate) ram_gb: Option<u32>,
    #[serde(default)]
    pub(crate) storage_gb: Option<u32>,
    #[serde(default)]
    pub(crate) storage_type: Option<String>,
    #[serde(default)]
    pub(crate) condition: Option<String>,
    #[serde(default)]
    pub(crate) seller: Option<String>,
    /// `https://…` (fetched from an allowed host) or `sample:NAME` (an embedded sample image).
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub(crate) updated_at: Option<String>,
}

fn usd() -> String {
    "USD".into()
}

impl Listing {
    /// CPU Mark points per dollar; none without a positive price and a CPU Mark.
    pub fn cpu_mark_per_dollar(&self) -> Option<f64> {
        let price = self.price_usd.filter(|p| p.is_finite() && *p > 0.0)?;
        Some(f64::from(self.cpu_mark?) / price)
    }

    /// Price in cents, rounded; none when missing or not a sane amount.
    pub(crate) fn price_cents(&self) -> Option<u64> {
        let price = self
            .price_usd
            .filter(|p| p.is_finite() && *p >= 0.0 && *p < 1e12)?;
        Some((price * 100.0).round() as u64)
    }

    /// The value of a ranking metric, for `top`.
    pub(crate) fn metric(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::CpuMarkPerDollar => self.cpu_mark_per_dollar(),
            Metric::CpuMark => self.cpu_mark.map(f64::from),
            Metric::Price => self.price_usd,
        }
    }
}

/// Metrics listings can be ranked by (highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    CpuMarkPerDollar,
    CpuMark,
    Price,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::CpuMarkPerDollar => "cpu_mark_per_dollar",
            Metric::CpuMark => "cpu_mark",
            Metric::Price => "price",
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu_mark_per_dollar" => Ok(Metric::CpuMarkPerDollar),
            "cpu_mark" => Ok(Metric::CpuMark),
            "price" => Ok(Metric::Price),
            other => Err(format!(
                "unknown metric `{other}`; expected cpu_mark_per_dollar, cpu_mark or price"
            )),
        }
    }
}

/// `true` when `id` matches `[A-Za-z0-9_-]{1,64}` (request parsing lives in `card-request`, fuzzed).
pub(crate) use card_request::is_valid_id;

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("listing source unavailable: {0}")]
    Unavailable(String),
    #[error("listing data is invalid: {0}")]
    Invalid(String),
}

/// The documented file shape: `{"listings": [...]}`.
#[derive(Deserialize)]
struct ListingFile {
    listings: Vec<Listing>,
}

/// Both shapes a listings file may take, for messages that name them.
const LISTING_SHAPES: &str = r#"`{"listings": [...]}` or a bare array `[...]` of listings"#;

/// Listings held in memory, indexed by id.
#[derive(Debug, Clone)]
pub struct StaticListings {
    by_id: std::collections::HashMap<String, Arc<Listing>>,
    ordered: Vec<Arc<Listing>>,
}

impl StaticListings {
    /// Reads `{"listings": [...]}` or, as the API may answer, a bare array of listings.
    pub(crate) fn from_json(json: &str) -> Result<Self, ListingError> {
        // The first character picks the shape, so an error inside a listing keeps serde's
        // precise message and position. (Serde reads a struct from an array too, so without
        // this a bare array failed as "invalid type: map, expected a sequence".)
        let listings = match json.trim_start().chars().next() {
            Some('[') => serde_json::from_str::<Vec<Listing>>(json),
            Some('{') => serde_json::from_str::<ListingFile>(json).map(|file| file.listings),
            Some(other) => {
                return Err(ListingError::Invalid(format!(
                    "expected {LISTING_SHAPES}, found `{other}` first"
                )));
            }
            None => {
                return Err(ListingError::Invalid(format!(
                    "expected {LISTING_SHAPES}, found an empty file"
                )));
            }
        }
        .map_err(|e| ListingError::Invalid(e.to_string()))?;
        Self::new(listings)
    }

    pub(crate) fn new(listings: Vec<Listing>) -> Result<Self, ListingError> {
        let mut by_id = std::collections::HashMap::with_capacity(listings.len());
        let mut ordered = Vec::with_capacity(listings.len());
        for listing in listings {
            if !is_valid_id(&listing.id) {
                return Err(ListingError::Invalid(format!(
                    "listing id `{}` is not [A-Za-z0-9_-]{{1,64}}",
                    listing.id
                )));
            }
            let listing = Arc::new(listing);
            if by_id.insert(listing.id.clone(), listing.clone()).is_some() {
                return Err(ListingError::Invalid(format!(
                    "duplicate listing id `{}`",
                    listing.id
                )));
            }
            ordered.push(listing);
        }
        Ok(Self { by_id, ordered })
    }

    pub fn embedded() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail in a build that passed its tests.
        Self::from_json(SAMPLE_LISTINGS_JSON)
            .unwrap_or_else(|e| panic!("embedded sample listings: {e}"))
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Listing>> {
        self.by_id.get(id).cloned()
    }

    pub fn top(&self, metric: Metric, limit: usize) -> Vec<Arc<Listing>> {
        let mut ranked: Vec<_> = self
            .ordered
            .iter()
            .filter(|l| l.metric(metric).is_some())
            .cloned()
            .collect();
        ranked.sort_by(|a, b| {
            let (a_v, b_v) = (
                a.metric(metric).unwrap_or(f64::MIN),
                b.metric(metric).unwrap_or(f64::MIN),
            );
            b_v.total_cmp(&a_v).then_with(|| a.id.cmp(&b.id))
        });
        ranked.truncate(limit);
        ranked
    }

    pub fn all(&self) -> &[Arc<Listing>] {
        &self.ordered
    }
}

/// Where listings come from, chosen by `LISTINGS__SOURCE`.
#[derive(Clone)]
pub enum ListingSource {
    Static(Arc<StaticListings>),
    File(Arc<FileListings>),
    Api(Arc<ApiListings>),
}

impl ListingSource {
    pub(crate) fn from_settings(settings: &ListingSettings) -> Result<Self, ListingError> {
        let source = settings.source.trim();
        if source == "embedded" {
            Ok(Self::Static(Arc::new(StaticListings::embedded())))
        } else if source.starts_with("http://") || source.starts_with("https://") {
            Ok(Self::Api(Arc::new(ApiListings::new(
                source,
                crate::config::ms(settings.timeout_ms),
            )?)))
        } else {
            Ok(Self::File(Arc::new(FileListings::open(source.into())?)))
        }
    }

    pub(crate) async fn get(&self, id: &str) -> Result<Option<Arc<Listing>>, ListingError> {
        match self {
            Self::Static(s) => Ok(s.get(id)),
            Self::File(f) => f.get(id).await,
            Self::Api(a) => a.get(id).await,
        }
    }

    /// The `limit` listings with the highest `metric`, best first.
    pub async fn top(
        &self,
        metric: Metric,
        limit: usize,
    ) -> Result<Vec<Arc<Listing>>, ListingError> {
        match self {
            Self::Static(s) => Ok(s.top(metric, limit)),
            Self::File(f) => f.top(metric, limit).await,
            Self::Api(a) => a.top(metric, limit).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sample_data_is_valid_and_large() {
        let listings = StaticListings::from_json(SAMPLE_LISTINGS_JSON).unwrap();
        assert!(
            listings.all().len() >= 200,
            "{} listings",
            listings.all().len()
        );
        // Edge cases the designs must cope with are present.
        let all = listings.all();
        assert!(all.iter().any(|l| l.price_usd.is_none()));
        assert!(all.iter().any(|l| l.cpu_mark.is_none()));
        assert!(all.iter().any(|l| l.title.chars().count() > 300));
        assert!(all.iter().any(|l| l.title.contains("<script>")));
        assert!(all.iter().any(|l| {
            l.title
                .chars()
                .any(|c| ('\u{0590}'..='\u{06FF}').contains(&c))
        }));
        assert!(all.iter().any(|l| {
            l.title
                .chars()
                .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
        }));
    }

    #[test]
    fn every_sample_image_reference_resolves() {
        for listing in StaticListings::embedded().all() {
            if let Some(name) = listing
                .image_url
                .as_deref()
                .and_then(|u| u.strip_prefix("sample:"))
            {
                assert!(
                    crate::render::images::sample_image(name).is_some(),
                    "{}: missing sample image {name}",
                    listing.id
                );
            }
        }
    }

    #[test]
    fn a_listings_file_is_the_documented_object_or_a_bare_array() {
        let listing = r#"{"id": "a-1", "title": "Mini PC"}"#;
        for json in [
            format!(r#"{{"listings": [{listing}]}}"#),
            format!(" \n[{listing}]"),
        ] {
            let listings = StaticListings::from_json(&json).unwrap();
            assert_eq!(
                listings.get("a-1").map(|l| l.title.clone()),
                Some("Mini PC".into())
            );
        }
        // Neither shape: the message names both.
        for json in ["", "  ", "\"listings\"", "42"] {
            let err = StaticListings::from_json(json).unwrap_err().to_string();
            assert!(
                err.contains(r#"`{"listings": [...]}` or a bare array"#),
                "{json:?}: {err}"
            );
        }
        // An error inside a listing keeps serde's own message and position.
        let err = StaticListings::from_json(r#"[{"title": "no id"}]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `id` at line 1"), "{err}");
        let err = StaticListings::from_json(r#"{"listings": {}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a sequence"), "{err}");
    }

    #[test]
    fn cpu_mark_per_dollar_needs_both_figures() {
        let mut l = StaticListings::embedded().all()[0].as_ref().clone();
        l.price_usd = Some(200.0);
        l.cpu_mark = Some(20_000);
        assert_eq!(l.cpu_mark_per_dollar(), Some(100.0));
        l.price_usd = Some(0.0);
        assert_eq!(l.cpu_mark_per_dollar(), None);
        l.price_usd = None;
        assert_eq!(l.cpu_mark_per_dollar(), None);
    }

    #[test]
    fn top_ranks_by_metric_and_skips_missing() {
        let top = StaticListings::embedded().top(Metric::CpuMarkPerDollar, 10);
        assert_eq!(top.len(), 10);
        let values: Vec<f64> = top
            .iter()
            .map(|l| l.cpu_mark_per_dollar().unwrap())
            .collect();
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    }
}

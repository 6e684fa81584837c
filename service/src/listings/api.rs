//! The Deal Brain API: `GET {base}/v1/listings/{id}` and `GET {base}/v1/listings?sort=-{metric}&limit={n}`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{Listing, ListingError, Metric, is_valid_id};

pub struct ApiListings {
    base: String,
    client: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListingPage {
    Wrapped { listings: Vec<Listing> },
    Bare(Vec<Listing>),
}

impl ApiListings {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, ListingError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "dealbrain-card-service/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| ListingError::Invalid(format!("LISTINGS__SOURCE: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// GETs `url` and decodes its JSON body; `None` on 404.
    async fn fetch<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<Option<T>, ListingError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(url, e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(ListingError::Unavailable(format!(
                "{url}: HTTP {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|e| unavailable(url, e))
    }

    pub async fn get(&self, id: &str) -> Result<Option<Arc<Listing>>, ListingError> {
        let url = format!("{}/v1/listings/{id}", self.base);
        let Some(listing) = self.fetch::<Listing>(&url).await? else {
            return Ok(None);
        };
        if listing.id != id || !is_valid_id(&listing.id) {
            return Err(ListingError::Invalid(format!(
                "{url}: answered with listing id `{}`",
                listing.id
            )));
        }
        Ok(Some(Arc::new(listing)))
    }

    pub async fn top(
        &self,
        metric: Metric,
        limit: usize,
    ) -> Result<Vec<Arc<Listing>>, ListingError> {
        let url = format!(
            "{}/v1/listings?sort=-{}&limit={limit}",
            self.base,
            metric.as_str()
        );
        let page: ListingPage = self
            .fetch(&url)
            .await?
            .ok_or_else(|| ListingError::Unavailable(format!("{url}: HTTP 404")))?;
        let listings = match page {
            ListingPage::Wrapped { listings } | ListingPage::Bare(listings) => listings,
        };
        Ok(listings
            .into_iter()
            .filter(|l| is_valid_id(&l.id))
            .take(limit)
            .map(Arc::new)
            .collect())
    }
}

fn unavailable(url: &str, e: reqwest::Error) -> ListingError {
    ListingError::Unavailable(format!("{url}: {e}"))
}

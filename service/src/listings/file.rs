//! A JSON file of listings (`{"listings": [...]}`), re-read when its modification time changes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::RwLock;

use super::{Listing, ListingError, Metric, StaticListings};

pub struct FileListings {
    path: PathBuf,
    state: RwLock<(Option<SystemTime>, Arc<StaticListings>)>,
}

impl FileListings {
    /// Reads the file now, so a bad path or bad JSON stops start-up.
    pub(crate) fn open(path: PathBuf) -> Result<Self, ListingError> {
        let (mtime, listings) = Self::read(&path)?;
        Ok(Self {
            path,
            state: RwLock::new((mtime, Arc::new(listings))),
        })
    }

    fn read(path: &PathBuf) -> Result<(Option<SystemTime>, StaticListings), ListingError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ListingError::Unavailable(format!("LISTINGS__SOURCE {}: {e}", path.display()))
        })?;
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let listings = StaticListings::from_json(&text).map_err(|e| {
            ListingError::Invalid(format!("LISTINGS__SOURCE {}: {e}", path.display()))
        })?;
        Ok((mtime, listings))
    }

    /// The current data; re-read when the file changed. A file that became invalid keeps the last good data.
    async fn current(&self) -> Arc<StaticListings> {
        // A `stat` of a local file takes microseconds, so it runs here: through
        // `tokio::fs::metadata` every request handed a task to the blocking pool and back, two
        // thread wake-ups that cost more than the rest of a memory hit's own work (`perf`).
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        {
            let state = self.state.read().await;
            if state.0 == mtime {
                return state.1.clone();
            }
        }
        let path = self.path.clone();
        match tokio::task::spawn_blocking(move || Self::read(&path)).await {
            Ok(Ok((mtime, listings))) => {
                let listings = Arc::new(listings);
                *self.state.write().await = (mtime, listings.clone());
                listings
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "listing file changed but could not be loaded; keeping the previous data");
                self.state.read().await.1.clone()
            }
            Err(e) => {
                tracing::warn!(error = %e, "listing file reload task failed");
                self.state.read().await.1.clone()
            }
        }
    }

    pub(crate) async fn get(&self, id: &str) -> Result<Option<Arc<Listing>>, ListingError> {
        Ok(self.current().await.get(id))
    }

    pub(crate) async fn top(
        &self,
        metric: Metric,
        limit: usize,
    ) -> Result<Vec<Arc<Listing>>, ListingError> {
        Ok(self.current().await.top(metric, limit))
    }
}

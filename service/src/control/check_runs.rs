//! The render-check runs of design uploads and dry runs (`/preview/diff`): each run's findings and,
//! per reference listing, the candidate's card and the live version's.
//!
//! With the control plane, every run is written to `control/checks/{design}/{run}/` (the cards
//! first, `run.json` last, so a run is visible only once complete) and the bucket keeps the last
//! `CONTROL__CHECK_RUNS_KEPT` runs of each design: whichever instance took the upload, every
//! instance shows it. Each instance also keeps its own last [`IN_MEMORY`] runs, which answer first
//! and are all there is without the control plane, or when writing to the bucket failed (the
//! upload's answer says so).
//!
//! Run ids are `{unix milliseconds, 13 digits}-{6 random hex}`: unique across the fleet and
//! ordered by time as strings, so the newest run is the greatest id and a run's images never
//! change (they are served as immutable).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use card_control::{ControlError, ControlStore, keys};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::render::checks::Finding;

/// How many runs (with their cards: ≈ 8 listings × 2 × 150 KB) an instance keeps in memory.
pub(crate) const IN_MEMORY: usize = 10;

/// One check run: what the page shows, stored as `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckRun {
    pub(crate) id: String,
    pub(crate) design: String,
    /// `name@version` of the candidate, and of the live version it was compared with.
    pub(crate) label: String,
    pub(crate) against: Option<String>,
    pub(crate) at: u64,
    pub(crate) dry_run: bool,
    pub(crate) refused: bool,
    /// The instance that ran the checks (its control-plane id; `None` without the control plane).
    pub(crate) instance: Option<String>,
    pub(crate) findings: Vec<RunFinding>,
    pub(crate) cards: Vec<RunCard>,
}

/// A finding as stored (names, not enums: a later version may know more checks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunFinding {
    pub(crate) listing: String,
    pub(crate) check: String,
    pub(crate) level: String,
    pub(crate) text: String,
    pub(crate) detail: String,
}

impl From<&Finding> for RunFinding {
    fn from(f: &Finding) -> Self {
        Self {
            listing: f.listing.to_owned(),
            check: f.check.name().to_owned(),
            level: f.level.name().to_owned(),
            text: f.text.clone(),
            detail: f.detail.clone(),
        }
    }
}

/// One reference listing of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunCard {
    pub(crate) listing: String,
    /// The share of pixels changed against the live version (`None`: nothing live to compare).
    pub(crate) changed: Option<f64>,
    /// Whether the live version's card was kept (`before.png`).
    pub(crate) before: bool,
}

/// A reference listing's cards as PNG.
pub(crate) struct RunImages {
    pub(crate) listing: String,
    pub(crate) after: Vec<u8>,
    pub(crate) before: Option<Vec<u8>>,
}

/// Which card of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    Before,
    After,
}

impl Card {
    fn file(self, listing: &str) -> String {
        match self {
            Card::Before => format!("{listing}/before.png"),
            Card::After => format!("{listing}/after.png"),
        }
    }
}

/// Where a run was kept.
#[derive(Debug)]
pub(crate) enum Kept {
    /// In the bucket: every instance shows it.
    Fleet,
    /// Only on this instance: no control plane, or the bucket refused it (why).
    ThisInstance(Option<String>),
}

struct Entry {
    run: Arc<CheckRun>,
    images: Vec<RunImages>,
    /// Written to the bucket (else shown from here only).
    shared: std::sync::atomic::AtomicBool,
}

/// This instance's view of the check runs: its own recent ones, and the bucket's.
pub(crate) struct CheckRuns {
    memory: Mutex<VecDeque<Arc<Entry>>>,
    bucket: Option<Bucket>,
}

struct Bucket {
    store: ControlStore,
    kept: usize,
    /// `run.json` of runs read from the bucket (they never change), by `{design}/{run}`.
    read: moka::future::Cache<String, Arc<CheckRun>>,
}

impl CheckRuns {
    /// `bucket`: the control plane's store and how many runs per design it keeps.
    pub(crate) fn new(bucket: Option<(ControlStore, usize)>) -> Self {
        Self {
            memory: Mutex::default(),
            bucket: bucket.map(|(store, kept)| Bucket {
                store,
                kept,
                read: moka::future::Cache::new(256),
            }),
        }
    }

    /// A new run id: the time in milliseconds and 24 random bits.
    pub(crate) fn new_id() -> String {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut random = [0u8; 3];
        // Without randomness two runs of one millisecond could collide; the time alone still orders them.
        let _ = getrandom::fill(&mut random);
        format!("{ms:013}-{}", hex::encode(random))
    }

    /// Keeps a run here, and in the bucket when there is one (then deletes that design's runs
    /// beyond the newest `CONTROL__CHECK_RUNS_KEPT`).
    pub(crate) async fn keep(&self, run: CheckRun, images: Vec<RunImages>) -> Kept {
        let entry = Arc::new(Entry {
            run: Arc::new(run),
            images,
            shared: false.into(),
        });
        {
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            memory.push_back(entry.clone());
            while memory.len() > IN_MEMORY {
                memory.pop_front();
            }
        }
        let Some(bucket) = &self.bucket else {
            return Kept::ThisInstance(None);
        };
        match bucket.write(&entry).await {
            Ok(()) => {
                entry
                    .shared
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                if let Err(e) = bucket.prune(&entry.run.design).await {
                    tracing::warn!(design = %entry.run.design, error = %e, "old check runs not deleted; the next run retries");
                }
                Kept::Fleet
            }
            Err(e) => {
                tracing::warn!(design = %entry.run.design, run = %entry.run.id, error = %e, "check run kept on this instance only");
                Kept::ThisInstance(Some(e.to_string()))
            }
        }
    }

    /// The ids of `design`'s runs, newest first: the bucket's complete ones, else this instance's.
    pub(crate) async fn runs(&self, design: &str) -> Result<Vec<String>, ControlError> {
        let local = |unshared_only: bool| -> Vec<String> {
            let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            memory
                .iter()
                .rev()
                .filter(|e| e.run.design == design)
                .filter(|e| !(unshared_only && e.shared.load(std::sync::atomic::Ordering::Relaxed)))
                .map(|e| e.run.id.clone())
                .collect()
        };
        let Some(bucket) = &self.bucket else {
            return Ok(local(false));
        };
        match bucket.store.list(&keys::checks_prefix(design)).await {
            Ok(found) => {
                let (mut ids, _) = runs_in(&found, &keys::checks_prefix(design));
                // Runs this instance could not write to the bucket still show here.
                ids.extend(local(true));
                Ok(ids.into_iter().rev().collect())
            }
            Err(e) => {
                let local = local(false);
                if local.is_empty() { Err(e) } else { Ok(local) }
            }
        }
    }

    /// The newest run of `design`.
    pub(crate) async fn latest(&self, design: &str) -> Result<Option<Arc<CheckRun>>, ControlError> {
        match self.runs(design).await?.first() {
            Some(id) => self.get(design, id).await,
            None => Ok(None),
        }
    }

    /// One run of `design`.
    pub(crate) async fn get(
        &self,
        design: &str,
        id: &str,
    ) -> Result<Option<Arc<CheckRun>>, ControlError> {
        if let Some(entry) = self.local(design, id) {
            return Ok(Some(entry.run.clone()));
        }
        let Some(bucket) = &self.bucket else {
            return Ok(None);
        };
        let cache_key = format!("{design}/{id}");
        if let Some(run) = bucket.read.get(&cache_key).await {
            return Ok(Some(run));
        }
        let key = keys::check_file(design, id, "run.json");
        let Some(run) = bucket.store.get_record::<CheckRun>(&key).await? else {
            return Ok(None);
        };
        let run = Arc::new(run);
        bucket.read.insert(cache_key, run.clone()).await;
        Ok(Some(run))
    }

    /// One card of one run, as PNG.
    pub(crate) async fn card(
        &self,
        design: &str,
        id: &str,
        listing: &str,
        card: Card,
    ) -> Result<Option<Vec<u8>>, ControlError> {
        if let Some(entry) = self.local(design, id) {
            return Ok(entry.images.iter().find(|i| i.listing == listing).and_then(
                |i| match card {
                    Card::After => Some(i.after.clone()),
                    Card::Before => i.before.clone(),
                },
            ));
        }
        let Some(bucket) = &self.bucket else {
            return Ok(None);
        };
        let key = keys::check_file(design, id, &card.file(listing));
        bucket.store.get_bytes(&key).await
    }

    fn local(&self, design: &str, id: &str) -> Option<Arc<Entry>> {
        let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory
            .iter()
            .find(|e| e.run.id == id && e.run.design == design)
            .cloned()
    }
}

impl Bucket {
    /// The cards side by side, then `run.json`.
    async fn write(&self, entry: &Arc<Entry>) -> Result<(), ControlError> {
        let (design, id) = (&entry.run.design, &entry.run.id);
        let mut puts = JoinSet::new();
        for images in &entry.images {
            let cards = [
                (Card::After, Some(&images.after)),
                (Card::Before, images.before.as_ref()),
            ];
            for (card, bytes) in cards {
                let Some(bytes) = bytes else { continue };
                let (store, key, bytes) = (
                    self.store.clone(),
                    keys::check_file(design, id, &card.file(&images.listing)),
                    bytes.clone(),
                );
                puts.spawn(async move { store.put_bytes(&key, bytes, "image/png").await });
            }
        }
        while let Some(put) = puts.join_next().await {
            put.map_err(|e| ControlError::Unavailable(e.to_string()))??;
        }
        self.store
            .put_record(&keys::check_file(design, id, "run.json"), &*entry.run)
            .await
    }

    /// Deletes every object of the runs of `design` older than the newest `kept`.
    async fn prune(&self, design: &str) -> Result<(), ControlError> {
        let prefix = keys::checks_prefix(design);
        let found = self.store.list(&prefix).await?;
        // Side by side, like the writes: one run is ≈ 17 objects.
        let mut deletes = JoinSet::new();
        for key in stale(&found, &prefix, self.kept) {
            let store = self.store.clone();
            deletes.spawn(async move { store.delete(&key).await });
        }
        while let Some(deleted) = deletes.join_next().await {
            deleted.map_err(|e| ControlError::Unavailable(e.to_string()))??;
        }
        Ok(())
    }
}

/// The run ids under `prefix`: those with a `run.json` (complete), and all of them.
fn runs_in(keys: &[String], prefix: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut complete = BTreeSet::new();
    let mut all = BTreeSet::new();
    for key in keys {
        let Some((run, file)) = key
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('/'))
        else {
            continue;
        };
        if file == "run.json" {
            complete.insert(run.to_owned());
        }
        all.insert(run.to_owned());
    }
    (complete, all)
}

/// The keys of every run but the newest `kept` (complete or not: a run whose writer died halfway
/// goes once newer runs push it out).
fn stale(keys: &[String], prefix: &str, kept: usize) -> Vec<String> {
    let (_, all) = runs_in(keys, prefix);
    let old: BTreeSet<&str> = all.iter().rev().skip(kept).map(String::as_str).collect();
    keys.iter()
        .filter(|key| {
            key.strip_prefix(prefix)
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(run, _)| old.contains(run))
        })
        .cloned()
        .collect()
}

/// Whether `id` has the shape of a run id (the routes check it before it names an object).
pub(crate) fn is_run_id(id: &str) -> bool {
    let Some((ms, random)) = id.split_once('-') else {
        return false;
    };
    ms.len() == 13
        && ms.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 6
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The time a run id names, in seconds since the epoch.
pub(crate) fn run_time(id: &str) -> Option<u64> {
    id.split_once('-')?
        .0
        .parse::<u64>()
        .ok()
        .map(|ms| ms / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(runs: &[(&str, bool)]) -> Vec<String> {
        let mut keys = Vec::new();
        for (run, complete) in runs {
            keys.push(format!("control/checks/d/{run}/typical/after.png"));
            keys.push(format!("control/checks/d/{run}/typical/before.png"));
            if *complete {
                keys.push(format!("control/checks/d/{run}/run.json"));
            }
        }
        keys
    }

    #[test]
    fn run_ids_are_unique_ordered_and_recognised() {
        let a = CheckRuns::new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = CheckRuns::new_id();
        assert!(is_run_id(&a) && is_run_id(&b), "{a} {b}");
        assert!(a < b, "ids sort by time: {a} {b}");
        assert!(run_time(&a).unwrap() > 1_700_000_000);
        for bad in [
            "",
            "1",
            "123-abcdef",
            "1764780000000-ABCDEF",
            "1764780000000-abcdeg",
            "1764780000000-abcdef0",
            "../../x",
            "1764780000000/abcdef",
        ] {
            assert!(!is_run_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn only_complete_runs_are_listed_and_the_oldest_beyond_the_limit_are_deleted() {
        let prefix = "control/checks/d/";
        let keys = keys_of(&[
            ("1764780000001-aaaaaa", true),
            ("1764780000002-bbbbbb", false),
            ("1764780000003-cccccc", true),
            ("1764780000004-dddddd", true),
        ]);
        let (complete, all) = runs_in(&keys, prefix);
        assert_eq!(
            complete.into_iter().collect::<Vec<_>>(),
            [
                "1764780000001-aaaaaa",
                "1764780000003-cccccc",
                "1764780000004-dddddd"
            ]
        );
        assert_eq!(all.len(), 4);
        let stale = stale(&keys, prefix, 2);
        assert_eq!(
            stale.len(),
            5,
            "the two oldest runs' objects (3 + 2): {stale:?}"
        );
        assert!(
            stale
                .iter()
                .all(|k| k.contains("1764780000001-aaaaaa") || k.contains("1764780000002-bbbbbb"))
        );
        assert!(super::stale(&keys, prefix, 4).is_empty());
        // A key of another design sharing the prefix's start is never touched.
        assert!(
            super::stale(
                &["control/checks/dd/1764780000001-aaaaaa/run.json".into()],
                prefix,
                0
            )
            .is_empty()
        );
    }
}

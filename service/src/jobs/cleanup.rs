//! The cleanup job: delete the images the cache no longer needs, under `card-images/`, and the
//! counters of long-ended experiments; nothing else.
//!
//! 1. `list`   — ListObjectsV2 under `card-images/`, page by page
//! 2. `plan`   — expired objects (older than `S3__CACHE_TTL_SECONDS`) and superseded renders (an
//!    older fingerprint of the same design, listing and format: the newest by `LastModified` stays)
//! 3. `delete` — DeleteObjects in batches of up to 1000; a dry run stops before this step
//! 4. `counts` — with the control plane, `control/counts/{experiment}/…` of experiments the
//!    manifest says ended more than `CONTROL__COUNTS_RETENTION_DAYS` ago (the manifest, the
//!    components and the heartbeats are never touched)
//!
//! Deleting a render that is still wanted costs one render on the next request, never an error:
//! the request path treats an S3 miss as a render.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{Deps, Failure, RunContext};
use crate::cache::PREFIX;
use crate::cache::S3Store;
use crate::cache::s3::ObjectInfo;
use card_control::{ControlStore, Read, keys};

/// DeleteObjects takes at most this many keys.
const BATCH: usize = 1000;
/// Keys listed in a report, so a dry run shows what it would do without an unbounded body.
const SAMPLE: usize = 50;

/// How to run a cleanup.
#[derive(Debug, Clone, Default)]
pub struct CleanupOptions {
    /// Report what would be deleted, delete nothing.
    pub dry_run: bool,
    /// The time ages are measured from; `None` is the runner's clock. Tests set it to make
    /// objects written a moment ago old.
    pub now: Option<SystemTime>,
}

/// What a cleanup found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupReport {
    pub dry_run: bool,
    /// Objects under `card-images/`.
    pub scanned: usize,
    pub scanned_bytes: u64,
    pub expired: usize,
    pub superseded: usize,
    /// Deleted (0 in a dry run).
    pub deleted: usize,
    /// Counter objects of experiments ended more than `CONTROL__COUNTS_RETENTION_DAYS` ago:
    /// found, and deleted (0 in a dry run). Counted apart: they are not images.
    pub expired_counts: usize,
    pub deleted_counts: usize,
    pub deleted_bytes: u64,
    /// The first keys deleted (or, in a dry run, that would be), with why.
    pub sample: Vec<Doomed>,
    pub failures: Vec<Failure>,
}

/// An object to delete and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Doomed {
    pub key: String,
    pub reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Older than `S3__CACHE_TTL_SECONDS`.
    Expired,
    /// A newer render of the same design, listing and format exists.
    Superseded,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }
}

/// Runs the three steps; stops between pages and batches when the run is told to stop.
pub(crate) async fn run(
    deps: &Deps,
    options: &CleanupOptions,
    now: SystemTime,
    ctx: &RunContext,
) -> Result<CleanupReport, String> {
    let s3 = deps
        .cards
        .s3
        .as_ref()
        .ok_or("S3__ENABLED=false: there is no bucket to clean")?;
    let ttl = s3.ttl();
    let mut report = CleanupReport {
        dry_run: options.dry_run,
        ..CleanupReport::default()
    };

    // 1. list
    let mut objects = Vec::new();
    let mut next = None;
    loop {
        if ctx.stopped() {
            return Ok(report);
        }
        let page = s3
            .list_page(PREFIX, next.take())
            .await
            .map_err(|e| e.to_string())?;
        objects.extend(page.objects);
        ctx.progress.set_total(objects.len());
        match page.next {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    report.scanned = objects.len();
    report.scanned_bytes = objects.iter().map(|o| o.size).sum();

    // 2. plan
    let doomed = plan(&objects, now, ttl);
    let sizes: HashMap<&str, u64> = objects.iter().map(|o| (o.key.as_str(), o.size)).collect();
    report.expired = doomed
        .iter()
        .filter(|d| d.reason == Reason::Expired)
        .count();
    report.superseded = doomed.len() - report.expired;
    report.sample = doomed.iter().take(SAMPLE).cloned().collect();
    ctx.progress.set_total(doomed.len());
    tracing::info!(
        scanned = report.scanned,
        expired = report.expired,
        superseded = report.superseded,
        dry_run = options.dry_run,
        "jobs.cleanup planned"
    );
    if options.dry_run {
        ctx.progress.advance(doomed.len());
        return Ok(report);
    }

    // 3. delete
    for batch in doomed.chunks(BATCH) {
        if ctx.stopped() {
            break;
        }
        let keys: Vec<String> = batch.iter().map(|d| d.key.clone()).collect();
        // Defence in depth: the listing was under PREFIX, and nothing else may ever be deleted.
        if let Some(stray) = keys.iter().find(|k| !k.starts_with(PREFIX)) {
            return Err(format!("refusing to delete `{stray}`: outside {PREFIX}"));
        }
        let refused = match s3.delete_batch(&keys).await {
            Ok(refused) => refused,
            Err(e) => keys.iter().map(|k| (k.clone(), e.to_string())).collect(),
        };
        for key in &keys {
            if !refused.iter().any(|(k, _)| k == key) {
                report.deleted += 1;
                report.deleted_bytes += sizes.get(key.as_str()).copied().unwrap_or(0);
            }
        }
        for (key, reason) in refused {
            ctx.progress.fail();
            report.failures.push(Failure { item: key, reason });
        }
        ctx.progress.advance(batch.len());
    }

    // 4. the control plane's only deletions: counters of experiments ended long ago
    if let Some(retention) = deps.counts_retention
        && !ctx.stopped()
    {
        expire_counts(s3, retention, now, options.dry_run, &mut report).await;
    }
    Ok(report)
}

/// Deletes `control/counts/{experiment}/…` of every experiment the manifest says ended more than
/// `retention` before `now` (and that is not in force again under the same name). Failures are
/// reported, never fatal: images were the job's main work.
async fn expire_counts(
    s3: &S3Store,
    retention: Duration,
    now: SystemTime,
    dry_run: bool,
    report: &mut CleanupReport,
) {
    let store = ControlStore::new(s3.client().clone(), s3.bucket());
    let manifest = match store.read_manifest(None).await {
        Ok(Read::Found { manifest, .. }) => manifest,
        Ok(_) => return,
        Err(e) => {
            report.failures.push(Failure {
                item: "control/manifest.json".into(),
                reason: e.to_string(),
            });
            return;
        }
    };
    let cutoff = now
        .checked_sub(retention)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let running = manifest.experiment.as_ref().map(|e| e.name.as_str());
    // The latest end of each name decides: a name ended again recently keeps its counters.
    let mut last_end: HashMap<&str, u64> = HashMap::new();
    for ended in &manifest.ended {
        let at = ended.ended_at.unwrap_or(u64::MAX);
        let entry = last_end.entry(ended.name.as_str()).or_insert(at);
        *entry = (*entry).max(at);
    }
    for (name, ended_at) in last_end {
        if ended_at >= cutoff || running == Some(name) {
            continue;
        }
        let keys = match store.list(&keys::counts_prefix(name)).await {
            Ok(keys) => keys,
            Err(e) => {
                report.failures.push(Failure {
                    item: keys::counts_prefix(name),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        report.expired_counts += keys.len();
        if dry_run {
            continue;
        }
        for key in keys {
            match store.delete(&key).await {
                Ok(()) => report.deleted_counts += 1,
                Err(e) => report.failures.push(Failure {
                    item: key,
                    reason: e.to_string(),
                }),
            }
        }
    }
}

/// Which objects go: every object older than `ttl` at `now`, and of the renders of one design,
/// listing and format, all but the newest. Keys that do not have the card shape
/// (`card-images/{design}/{listing}/{fingerprint}.{ext}`) are only ever expired.
pub(crate) fn plan(objects: &[ObjectInfo], now: SystemTime, ttl: Duration) -> Vec<Doomed> {
    let expired = |o: &ObjectInfo| {
        now.duration_since(o.last_modified)
            .is_ok_and(|age| age > ttl)
    };
    // The newest object of each (design, listing, extension), ties broken by key so runs agree.
    let mut newest: HashMap<(&str, &str, &str), &ObjectInfo> = HashMap::new();
    for object in objects {
        if let Some(group) = card_group(&object.key) {
            newest
                .entry(group)
                .and_modify(|kept| {
                    if (object.last_modified, &object.key) > (kept.last_modified, &kept.key) {
                        *kept = object;
                    }
                })
                .or_insert(object);
        }
    }
    objects
        .iter()
        .filter(|o| o.key.starts_with(PREFIX))
        .filter_map(|o| {
            let reason = if expired(o) {
                Reason::Expired
            } else if card_group(&o.key).is_some_and(|g| newest[&g].key != o.key) {
                Reason::Superseded
            } else {
                return None;
            };
            Some(Doomed {
                key: o.key.clone(),
                reason,
            })
        })
        .collect()
}

/// `card-images/{design}/{listing}/{fingerprint}.{ext}` → (design, listing, ext).
fn card_group(key: &str) -> Option<(&str, &str, &str)> {
    let rest = key.strip_prefix(PREFIX)?;
    let mut parts = rest.split('/');
    let (design, listing, file) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || design.is_empty() || listing.is_empty() {
        return None;
    }
    let (fingerprint, ext) = file.rsplit_once('.')?;
    (!fingerprint.is_empty() && !ext.is_empty()).then_some((design, listing, ext))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    const DAY: u64 = 86_400;

    fn object(key: &str, age_days: u64) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            last_modified: UNIX_EPOCH + Duration::from_secs((1_000 - age_days) * DAY),
            size: 10,
        }
    }

    fn planned(objects: &[ObjectInfo]) -> Vec<(&str, Reason)> {
        let now = UNIX_EPOCH + Duration::from_secs(1_000 * DAY);
        let doomed = plan(objects, now, Duration::from_secs(30 * DAY));
        objects
            .iter()
            .filter_map(|o| {
                doomed
                    .iter()
                    .find(|d| d.key == o.key)
                    .map(|d| (o.key.as_str(), d.reason))
            })
            .collect()
    }

    #[test]
    fn expired_objects_go_and_fresh_ones_stay() {
        let objects = [
            object("card-images/classic/dl-1/aaa.png", 31),
            object("card-images/classic/dl-2/bbb.png", 29),
            object("card-images/xtask-test-s3/probe.txt", 40),
        ];
        assert_eq!(
            planned(&objects),
            vec![
                ("card-images/classic/dl-1/aaa.png", Reason::Expired),
                ("card-images/xtask-test-s3/probe.txt", Reason::Expired),
            ]
        );
    }

    #[test]
    fn the_newest_render_of_a_design_listing_and_format_stays() {
        let objects = [
            object("card-images/classic/dl-1/old.png", 5),
            object("card-images/classic/dl-1/new.png", 1),
            object("card-images/classic/dl-1/older.png", 9),
            // Other formats, designs and listings are separate groups.
            object("card-images/classic/dl-1/old.jpg", 5),
            object("card-images/minimal/dl-1/old.png", 5),
            object("card-images/classic/dl-10/old.png", 5),
        ];
        assert_eq!(
            planned(&objects),
            vec![
                ("card-images/classic/dl-1/old.png", Reason::Superseded),
                ("card-images/classic/dl-1/older.png", Reason::Superseded),
            ]
        );
    }

    #[test]
    fn an_expired_newest_render_goes_too() {
        let objects = [
            object("card-images/classic/dl-1/old.png", 40),
            object("card-images/classic/dl-1/new.png", 35),
        ];
        assert_eq!(
            planned(&objects),
            vec![
                ("card-images/classic/dl-1/old.png", Reason::Expired),
                ("card-images/classic/dl-1/new.png", Reason::Expired),
            ]
        );
    }

    #[test]
    fn nothing_outside_the_prefix_is_ever_planned() {
        let objects = [
            object("jobs/leases/cleanup.json", 400),
            object("other/classic/dl-1/a.png", 400),
            object("card-images", 400),
        ];
        assert!(planned(&objects).is_empty());
    }

    #[test]
    fn keys_without_the_card_shape_are_never_superseded() {
        assert_eq!(
            card_group("card-images/classic/dl-1/abc.png"),
            Some(("classic", "dl-1", "png"))
        );
        for key in [
            "card-images/classic/dl-1",
            "card-images/classic/dl-1/noext",
            "card-images/classic/dl-1/x/y.png",
            "card-images//dl-1/a.png",
        ] {
            assert_eq!(card_group(key), None, "{key}");
        }
    }
}

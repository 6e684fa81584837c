//! The warm-cache job: render the top listings in the designs crawlers ask for, before they ask.
//!
//! 1. `rank`    — the top `limit` listings by `metric` from the listing source
//! 2. `designs` — [`designs_to_warm`]
//! 3. `render`  — each listing × design that is neither in the memory tier (as stored, when there
//!    is a bucket) nor in S3 (a HEAD, no bytes) goes through `CardService::card`, which coalesces
//!    with a live request for the same key. A card memory holds but S3 does not (rendered during an
//!    S3 outage) is put without a second render; an item that still is not in the bucket failed.
//!    Background renders share a semaphore of half the browser pages, so live requests always have
//!    the other half; when live traffic fills the render queue the job backs off, never the reverse.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

use super::settings::{Variants, WarmCacheSettings};
use super::{Deps, Failure, RunContext};
use crate::cache::CacheOutcome;
use crate::listings::{Listing, Metric};
use crate::render::designs::LoadedDesign;
use crate::render::{ImageFormat, RenderError};

/// Failures listed in a report; the count covers all of them.
const MAX_FAILURES_LISTED: usize = 100;
/// The longest a background render waits for live traffic to leave room in the render queue.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// The designs a warm-up renders. The one place that decides what "every live variant" means,
/// so it can follow the experiments as they grow.
pub(crate) fn designs_to_warm(
    deps: &Deps,
    variants: &Variants,
) -> Result<Vec<Arc<LoadedDesign>>, String> {
    let registry = deps.cards.designs();
    let live = |name: &str| {
        registry
            .get(name)
            .ok_or_else(|| format!("design `{name}` is not live"))
    };
    let designs = match variants {
        Variants::All => registry
            .snapshot()
            .values()
            .filter(|t| !t.name.starts_with("fixture-"))
            .cloned()
            .collect(),
        Variants::Default => vec![live(&deps.default_design)?],
        Variants::Named(names) => names
            .iter()
            .map(|n| live(n))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if designs.is_empty() {
        return Err("no live design to warm: build them with `cargo xtask templates build`".into());
    }
    Ok(designs)
}

/// How to run a warm-up.
#[derive(Debug, Clone)]
pub struct WarmCacheOptions {
    pub limit: usize,
    pub metric: Metric,
    pub variants: Variants,
}

impl WarmCacheOptions {
    /// The scheduled run's options.
    pub fn from_settings(settings: &WarmCacheSettings) -> Self {
        Self {
            limit: settings.limit,
            metric: settings.metric,
            variants: settings.variants.clone(),
        }
    }
}

/// What a warm-up did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WarmCacheReport {
    pub listings: usize,
    pub designs: Vec<String>,
    /// Listings × designs.
    pub(crate) items: usize,
    pub rendered: usize,
    /// Found in the memory tier or S3 (or rendered meanwhile by a live request).
    pub already_cached: usize,
    pub failed: usize,
    /// The first failures, each with its reason.
    pub failures: Vec<Failure>,
}

/// How one item went.
enum Warmed {
    Rendered,
    Cached,
}

/// Ranks the listings, then warms them.
pub(crate) async fn run(
    deps: &Deps,
    options: &WarmCacheOptions,
    ctx: &RunContext,
) -> Result<WarmCacheReport, String> {
    // 1. rank
    let listings = deps
        .listings
        .top(options.metric, options.limit)
        .await
        .map_err(|e| e.to_string())?;
    warm(deps, listings, &options.variants, ctx).await
}

/// Steps 2 and 3 for these listings (also the re-render after an invalidation). A failing item is
/// reported and the rest continue; the run stops between items when told to.
pub(crate) async fn warm(
    deps: &Deps,
    listings: Vec<Arc<Listing>>,
    variants: &Variants,
    ctx: &RunContext,
) -> Result<WarmCacheReport, String> {
    if deps.cards.browser().is_none() {
        return Err("PLAYWRIGHT__ENABLED=false: this instance cannot render".into());
    }
    // 2. designs
    let designs = designs_to_warm(deps, variants)?;
    let items: Vec<(Arc<Listing>, Arc<LoadedDesign>)> = listings
        .iter()
        .flat_map(|l| designs.iter().map(move |d| (l.clone(), d.clone())))
        .collect();
    let mut report = WarmCacheReport {
        listings: listings.len(),
        designs: designs.iter().map(|d| d.name.clone()).collect(),
        items: items.len(),
        ..WarmCacheReport::default()
    };
    ctx.progress.set_total(items.len());

    // 3. render
    let mut tasks = JoinSet::new();
    for (listing, design) in items {
        if ctx.stopped() {
            break;
        }
        let Ok(permit) = ctx.background.clone().acquire_owned().await else {
            break;
        };
        if ctx.stopped() {
            break;
        }
        let (deps, stop) = (deps.clone(), ctx.stop.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let warmed = warm_one(&deps, &listing, &design, || stop.is_set()).await;
            (format!("{}/{}", design.name, listing.id), warmed)
        });
        while let Some(done) = tasks.try_join_next() {
            tally(&mut report, done, ctx);
        }
    }
    while let Some(done) = tasks.join_next().await {
        tally(&mut report, done, ctx);
    }
    Ok(report)
}

fn tally(
    report: &mut WarmCacheReport,
    done: Result<(String, Result<Warmed, String>), tokio::task::JoinError>,
    ctx: &RunContext,
) {
    let (item, warmed) = done.unwrap_or_else(|e| ("(task)".into(), Err(e.to_string())));
    match warmed {
        Ok(Warmed::Rendered) => report.rendered += 1,
        Ok(Warmed::Cached) => report.already_cached += 1,
        Err(reason) => {
            tracing::warn!(%item, %reason, "jobs.warm_cache item failed");
            report.failed += 1;
            ctx.progress.fail();
            if report.failures.len() < MAX_FAILURES_LISTED {
                report.failures.push(Failure { item, reason });
            }
        }
    }
    ctx.progress.advance(1);
}

/// One listing in one design, as a crawler will ask for it (the default format).
async fn warm_one(
    deps: &Deps,
    listing: &Listing,
    design: &Arc<LoadedDesign>,
    stopped: impl Fn() -> bool,
) -> Result<Warmed, String> {
    let format = ImageFormat::default();
    let key = deps.cards.key(design, listing, format);
    let s3 = deps.cards.s3.as_ref();
    // Warm means in the bucket when there is one: a card only this instance's memory holds is
    // stored below, without rendering it again.
    if let Some(image) = deps.cards.memory.peek(&key).await
        && (s3.is_none() || image.stored)
    {
        return Ok(Warmed::Cached);
    }
    if let Some(s3) = s3 {
        match s3.health().call("head", s3.exists(&key.object_key())).await {
            Ok(true) => return Ok(Warmed::Cached),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "s3 check failed; rendering instead"),
        }
    }
    let mut backoff = Duration::from_millis(250);
    let card = loop {
        match deps.cards.card(listing, design, format).await {
            Ok(card) => break card,
            // Live traffic filled the queue: it goes first.
            Err(e) if matches!(*e, RenderError::Overloaded) && backoff <= MAX_BACKOFF => {
                if stopped() {
                    return Err(e.to_string());
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    // Rendered, or in memory, but not in the bucket (S3 failed, or its breaker is open): one
    // more PUT; if that fails too the item failed, and the next run tries again.
    if s3.is_some() && !card.image.stored {
        if !deps.cards.store(&key, listing, design, &card.image).await {
            return Err(
                "rendered but not stored in S3: see card_s3_errors_total and the log".into(),
            );
        }
        deps.cards
            .memory
            .record_seen_in_s3(&key, card.image.last_modified)
            .await;
    }
    Ok(if card.outcome == CacheOutcome::Miss {
        Warmed::Rendered
    } else {
        Warmed::Cached
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse() {
        assert_eq!(Variants::parse("all"), Ok(Variants::All));
        assert_eq!(Variants::parse(" default "), Ok(Variants::Default));
        assert_eq!(
            Variants::parse("classic, minimal"),
            Ok(Variants::Named(vec!["classic".into(), "minimal".into()]))
        );
        assert_eq!(
            Variants::parse("classic,minimal").unwrap().to_string(),
            "classic,minimal"
        );
        for bad in ["", ",", "Classic", "../x"] {
            assert!(Variants::parse(bad).is_err(), "{bad:?}");
        }
    }
}

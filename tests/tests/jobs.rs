//! Background jobs end to end: warm-cache against a real S3 server, cleanup with a controlled
//! clock, the S3 lease raced by several runners, invalidation, shutdown mid-run, and the admin
//! endpoints' token.
//!
//! Small numbers (a handful of listings) keep each test to a few renders: every one costs Chromium.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};
use aws_sdk_s3::primitives::ByteStream;
use card_e2e::DedicatedS3;
use card_e2e::s3::S3Server;
use card_e2e::service::{ADMIN_TOKEN as TOKEN, TestService, header, http, s3_settings};
use card_e2e::wait;
use card_service::{
    Acquired, BreakerState, CleanupOptions, ImageFormat, Lease, LeaseStore, Metric, RunRecord,
    RunRequest, RunStatus, StartError, StaticListings, Trigger, Variants, WarmCacheOptions,
};
use reqwest::StatusCode;
use serde_json::Value;

/// How long a run may take before a test gives up on it.
const RUN_PATIENCE: Duration = Duration::from_secs(120);

/// Settings that point an instance at `s3` with its own bucket, and turn the admin endpoints on.
fn with_s3<'a>(
    s3: &'a S3Server,
    bucket: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut settings = s3_settings(s3.endpoint(), bucket);
    settings.push(("ADMIN__TOKEN", TOKEN));
    settings.extend_from_slice(extra);
    settings
}

/// Every key in the bucket, sorted.
async fn keys(s3: &S3Server, bucket: &str) -> anyhow::Result<BTreeSet<String>> {
    Ok(s3.keys(bucket, "").await?.into_iter().collect())
}

/// Every key but the job leases, which runs create.
async fn keys_but_leases(s3: &S3Server, bucket: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut keys = keys(s3, bucket).await?;
    keys.retain(|k| !k.starts_with("jobs/leases/"));
    Ok(keys)
}

async fn put(s3: &S3Server, bucket: &str, key: &str) -> anyhow::Result<()> {
    s3.client()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(key.as_bytes().to_vec()))
        .send()
        .await
        .with_context(|| format!("put {key}"))?;
    Ok(())
}

/// Polls `GET /admin/jobs/{id}` until the run is no longer running; a bounded wait, not a sleep.
async fn finished_run(svc: &TestService, id: &str) -> anyhow::Result<Value> {
    let mut last = Value::Null;
    wait::until(&format!("run {id} finished"), RUN_PATIENCE, async || {
        let r = http()
            .get(svc.url(&format!("/admin/jobs/{id}")))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        ensure!(r.status() == StatusCode::OK, "GET run {id}: {}", r.status());
        let body: Value = r.json().await?;
        last = body["run"].clone();
        Ok((last["status"] != "running").then(|| last.clone()))
    })
    .await
    .with_context(|| format!("the run so far: {last}"))
}

/// `GET /admin/jobs` with the token: schedules, runs, counters.
async fn jobs_status(svc: &TestService) -> anyhow::Result<Value> {
    let r = http()
        .get(svc.url("/admin/jobs"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::OK,
        "GET /admin/jobs: {}",
        r.status()
    );
    Ok(r.json().await?)
}

/// `POST path` with the token; the 202's run id.
async fn start_run(svc: &TestService, path: &str) -> anyhow::Result<String> {
    let r = http().post(svc.url(path)).bearer_auth(TOKEN).send().await?;
    let status = r.status();
    let location = header(&r, "location");
    let body: Value = r.json().await?;
    ensure!(
        status == StatusCode::ACCEPTED,
        "POST {path}: {status} {body}"
    );
    let id = body["run"]["id"].as_str().context("run id")?.to_string();
    ensure!(
        location == format!("/admin/jobs/{id}"),
        "location {location}"
    );
    Ok(id)
}

fn warm(limit: usize, variants: Variants) -> RunRequest {
    RunRequest::WarmCache(WarmCacheOptions {
        limit,
        metric: Metric::CpuMarkPerDollar,
        variants,
    })
}

fn cleanup(dry_run: bool, now: SystemTime) -> RunRequest {
    RunRequest::Cleanup(CleanupOptions {
        dry_run,
        now: Some(now),
    })
}

fn warm_counts(run: &RunRecord) -> anyhow::Result<(u64, u64, u64)> {
    let report = serde_json::to_value(run.report.as_ref().context("a report")?)?;
    Ok((
        report["rendered"].as_u64().context("rendered")?,
        report["already_cached"]
            .as_u64()
            .context("already_cached")?,
        report["failed"].as_u64().context("failed")?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_cache_creates_exactly_the_top_n_objects_and_a_second_run_renders_nothing()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-warm";
    s3.create_bucket(bucket).await?;
    let svc = TestService::start(&with_s3(&s3, bucket, &[])).await?;

    // Over HTTP, as an operator would: the top 5 by CPU Mark per dollar, in the default design.
    let started = Instant::now();
    let id = start_run(
        &svc,
        "/admin/jobs/warm-cache?limit=5&metric=cpu_mark_per_dollar&variants=default",
    )
    .await?;
    let run = finished_run(&svc, &id).await?;
    eprintln!(
        "warm-cache of 5 listings took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ensure!(run["status"] == "succeeded", "{run}");
    ensure!(
        run["trigger"] == "manual" && run["job"] == "warm-cache",
        "{run}"
    );
    let report = &run["report"];
    ensure!(
        report["rendered"] == 5 && report["already_cached"] == 0 && report["failed"] == 0,
        "{report}"
    );
    ensure!(
        run["progress"]["done"] == 5 && run["progress"]["total"] == 5,
        "{run}"
    );

    // Exactly the top 5's objects, under the keys live requests look up.
    let classic = svc
        .state
        .designs()
        .get("classic")
        .context("classic is live")?;
    let top = StaticListings::embedded().top(Metric::CpuMarkPerDollar, 5);
    let expected: BTreeSet<String> = top
        .iter()
        .map(|l| {
            svc.state
                .cards
                .key(&classic, l, ImageFormat::Png)
                .object_key()
        })
        .collect();
    let stored = keys(&s3, bucket).await?;
    let images: BTreeSet<String> = stored
        .iter()
        .filter(|k| k.starts_with("card-images/"))
        .cloned()
        .collect();
    ensure!(
        images == expected,
        "stored {images:?}, expected {expected:?}"
    );
    // The lease is the only other object, released (beside the control plane's own).
    ensure!(
        stored
            .difference(&images)
            .filter(|k| !k.starts_with("control/"))
            .cloned()
            .collect::<Vec<_>>()
            == ["jobs/leases/warm-cache.json"],
        "{stored:?}"
    );

    // Again: everything is in the memory tier, nothing renders.
    let state = &svc.state;
    let again = state
        .jobs
        .run(warm(5, Variants::Default), Trigger::Manual)
        .await?;
    ensure!(warm_counts(&again)? == (0, 5, 0), "second run {again:?}");
    // And from S3 alone (as a fresh instance would see it): still nothing renders.
    for listing in &top {
        state.cards.memory.invalidate_listing(&listing.id);
    }
    let from_s3 = state
        .jobs
        .run(warm(5, Variants::Default), Trigger::Manual)
        .await?;
    ensure!(warm_counts(&from_s3)? == (0, 5, 0), "third run {from_s3:?}");
    ensure!(keys(&s3, bucket).await? == stored, "objects changed");

    // A live request for a warmed listing is a hit.
    let r = http()
        .get(svc.url(&format!("/api/og-image/{}", top[0].id)))
        .send()
        .await?;
    let cache = header(&r, "x-cache");
    ensure!(
        r.status() == StatusCode::OK && !cache.is_empty() && cache != "miss",
        "{} {cache:?}",
        r.status()
    );

    // Runs and items show in /metrics.
    let runs = svc
        .metric("card_job_runs_total{job=\"warm-cache\"}")
        .await?;
    ensure!(runs >= 2.0, "warm-cache runs {runs}");
    let items = svc
        .metric("card_job_items_total{job=\"warm-cache\"}")
        .await?;
    ensure!(items >= 10.0, "warm-cache items {items}");
    svc.stop().await
}

/// Cards rendered while S3 was down live in this instance's memory only; the next warm-cache run
/// puts them in the bucket without rendering them again, rather than calling them warm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_cache_stores_what_only_memory_holds_after_an_s3_outage() -> anyhow::Result<()> {
    let mut s3 = DedicatedS3::start("card-e2e-outage").await?;
    let endpoint = s3.endpoint().to_string();
    let mut settings = s3_settings(&endpoint, "card-e2e-outage");
    settings.extend([
        ("S3__TIMEOUT_MS", "1000"),
        ("S3__BREAKER_FAILURES", "2"),
        ("S3__BREAKER_COOLDOWN_MS", "300"),
    ]);
    let svc = TestService::start(&settings).await?;
    let top = StaticListings::embedded().top(Metric::CpuMarkPerDollar, 2);

    // S3 down: both cards render and are served, but only memory holds them.
    s3.stop();
    for listing in &top {
        let r = http()
            .get(svc.url(&format!("/api/og-image/{}", listing.id)))
            .send()
            .await?;
        ensure!(
            r.status() == StatusCode::OK && header(&r, "x-cache") == "miss",
            "{} while S3 is down: {}",
            listing.id,
            r.status()
        );
    }

    // S3 back (empty); once the breaker lets calls through again (its cool-down over), a run
    // stores both from memory.
    s3.restart().await?;
    let state = &svc.state;
    let breaker = state.cards.s3.as_ref().context("S3 is enabled")?.health();
    wait::until_true(
        "the breaker letting S3 calls through",
        Duration::from_secs(10),
        async || {
            Ok(match breaker.state() {
                BreakerState::Open { until } => Instant::now() >= until,
                BreakerState::HalfOpen { probing } => !probing,
                BreakerState::Closed { .. } => true,
            })
        },
    )
    .await?;
    let run = state
        .jobs
        .run(warm(2, Variants::Default), Trigger::Manual)
        .await?;
    ensure!(
        warm_counts(&run)? == (0, 2, 0),
        "expected 2 stored from memory, none rendered: {run:?}"
    );
    let classic = state.designs().get("classic").context("classic is live")?;
    let expected: BTreeSet<String> = top
        .iter()
        .map(|l| state.cards.key(&classic, l, ImageFormat::Png).object_key())
        .collect();
    let stored: BTreeSet<String> = s3.keys("card-images/").await?.into_iter().collect();
    ensure!(
        stored == expected,
        "in the bucket {stored:?}, expected {expected:?}"
    );
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_a_failing_item_and_reports_it() -> anyhow::Result<()> {
    let svc = TestService::start(&[("ADMIN__TOKEN", TOKEN)]).await?;
    let state = &svc.state;
    // fixture-trap traps on every real listing; classic renders them.
    let run = state
        .jobs
        .run(
            warm(
                2,
                Variants::parse("classic,fixture-trap").map_err(anyhow::Error::msg)?,
            ),
            Trigger::Manual,
        )
        .await?;
    ensure!(run.status == RunStatus::CompletedWithFailures, "{run:?}");
    ensure!(warm_counts(&run)? == (2, 0, 2), "{run:?}");
    let report = serde_json::to_value(&run.report)?;
    let failures = report["failures"].as_array().context("failures")?;
    ensure!(failures.len() == 2, "{report}");
    for failure in failures {
        ensure!(
            failure["item"]
                .as_str()
                .is_some_and(|i| i.starts_with("fixture-trap/"))
                && failure["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("fixture-trap")),
            "{failure}"
        );
    }
    // The history and the counters show it.
    let jobs = jobs_status(&svc).await?;
    ensure!(jobs["runs"][0]["id"] == run.id.as_str(), "{jobs}");
    ensure!(
        jobs["runs"][0]["status"] == "completed-with-failures",
        "{jobs}"
    );
    ensure!(jobs["stats"]["warm-cache"]["runs"] == 1, "{jobs}");
    ensure!(jobs["stats"]["warm-cache"]["failed_items"] == 2, "{jobs}");
    ensure!(jobs["jobs"][0]["schedule"] == "0 3 * * *", "{jobs}");

    // Unknown designs and bad options are refused before anything starts.
    for query in ["variants=nope", "limit=0", "metric=cheapest", "colour=red"] {
        let r = http()
            .post(svc.url(&format!("/admin/jobs/warm-cache?{query}")))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        ensure!(
            r.status() == StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.status()
        );
    }
    // Without S3 there is nothing to clean.
    let r = http()
        .post(svc.url("/admin/jobs/cleanup"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::CONFLICT,
        "cleanup without S3: {}",
        r.status()
    );
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_expired_and_superseded_images_and_nothing_else() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-cleanup";
    s3.create_bucket(bucket).await?;
    // No browser: cleanup never renders.
    let svc = TestService::start(&with_s3(
        &s3,
        bucket,
        &[
            ("PLAYWRIGHT__ENABLED", "false"),
            ("S3__CACHE_TTL_SECONDS", "3600"),
        ],
    ))
    .await?;
    let state = &svc.state;

    // Written in this order, so the older render of classic/dl-0001 in PNG is `aaaa` (when the
    // server's clock does not tell them apart, the key does, the same way).
    let old_render = "card-images/classic/dl-0001/aaaa.png";
    let kept_images = [
        "card-images/classic/dl-0001/bbbb.png",
        "card-images/classic/dl-0001/cccc.jpg",
        "card-images/minimal/dl-0001/dddd.png",
        "card-images/classic/dl-0002/eeee.png",
    ];
    let outside = [
        "card-images-old/classic/dl-0001/ffff.png",
        "private/report.csv",
    ];
    for key in std::iter::once(&old_render)
        .chain(&kept_images)
        .chain(&outside)
    {
        put(&s3, bucket, key).await?;
    }
    let everything = keys_but_leases(&s3, bucket).await?;
    let now = SystemTime::now();
    let later = now + Duration::from_secs(2 * 3600);

    // Dry runs report and delete nothing: now only the superseded render, in two hours everything.
    let id = start_run(&svc, "/admin/jobs/cleanup?dry_run=true").await?;
    let run = finished_run(&svc, &id).await?;
    let report = &run["report"];
    ensure!(
        run["status"] == "succeeded"
            && report["dry_run"] == true
            && report["scanned"] == 5
            && report["superseded"] == 1
            && report["expired"] == 0
            && report["deleted"] == 0
            && report["sample"][0]["key"] == old_render
            && report["sample"][0]["reason"] == "superseded",
        "{run}"
    );
    let run = state
        .jobs
        .run(cleanup(true, later), Trigger::Manual)
        .await?;
    let report = serde_json::to_value(&run.report)?;
    ensure!(
        report["expired"] == 5 && report["deleted"] == 0,
        "dry run in two hours: {report}"
    );
    ensure!(
        keys_but_leases(&s3, bucket).await? == everything,
        "a dry run deleted something"
    );

    // Now: the superseded render goes, the rest stays.
    let run = state.jobs.run(cleanup(false, now), Trigger::Manual).await?;
    let report = serde_json::to_value(&run.report)?;
    ensure!(
        run.status == RunStatus::Succeeded && report["deleted"] == 1,
        "{report}"
    );
    let mut expected = everything.clone();
    expected.remove(old_render);
    ensure!(keys_but_leases(&s3, bucket).await? == expected);

    // Two hours later every image has expired; what is outside card-images/ (the lease, the
    // control plane the instance seeded) stays.
    let control: Vec<String> = keys(&s3, bucket)
        .await?
        .into_iter()
        .filter(|k| k.starts_with("control/"))
        .collect();
    ensure!(
        control.contains(&"control/manifest.json".to_string()),
        "{control:?}"
    );
    let run = state
        .jobs
        .run(cleanup(false, later), Trigger::Manual)
        .await?;
    let report = serde_json::to_value(&run.report)?;
    ensure!(report["expired"] == 4 && report["deleted"] == 4, "{report}");
    let left = keys(&s3, bucket).await?;
    let expected: BTreeSet<String> = outside
        .iter()
        .map(|k| k.to_string())
        .chain(["jobs/leases/cleanup.json".to_string()])
        .chain(control)
        .collect();
    ensure!(left == expected, "left {left:?}");
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_pages_through_listings_and_deletes_in_batches() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-cleanup-many";
    s3.create_bucket(bucket).await?;
    let svc =
        TestService::start(&with_s3(&s3, bucket, &[("PLAYWRIGHT__ENABLED", "false")])).await?;
    // 1,005 objects: two pages of ListObjectsV2 and two DeleteObjects batches.
    let count = 1_005;
    let mut uploads = tokio::task::JoinSet::new();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    for n in 0..count {
        let (client, permit) = (s3.client(), semaphore.clone().acquire_owned().await?);
        uploads.spawn(async move {
            let _permit = permit;
            client
                .put_object()
                .bucket(bucket)
                .key(format!("card-images/classic/dl-{n:04}/f{n}.png"))
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
        });
    }
    while let Some(upload) = uploads.join_next().await {
        upload??;
    }
    let state = &svc.state;
    let later = SystemTime::now() + Duration::from_secs(60 * 86_400);
    let run = state
        .jobs
        .run(cleanup(false, later), Trigger::Manual)
        .await?;
    let report = serde_json::to_value(&run.report)?;
    ensure!(
        run.status == RunStatus::Succeeded
            && report["scanned"] == count
            && report["deleted"] == count,
        "{report}"
    );
    let left = keys(&s3, bucket).await?;
    ensure!(
        left.iter()
            .all(|k| k.starts_with("jobs/") || k.starts_with("control/")),
        "left {} objects",
        left.len()
    );
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runners_race_for_the_lease_one_wins_and_an_expired_lease_is_taken_over()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-lease";
    s3.create_bucket(bucket).await?;
    let store = LeaseStore::new(s3.client(), bucket.to_string());
    let ttl = Duration::from_secs(60);
    let now = SystemTime::now();

    // Eight runners at once: one keeps the lease, the others see who holds it. AWS S3 lets exactly
    // one conditional write through; moto checks, then writes, so under load two can get through
    // there. `acquire` reads a won write back, which catches nearly all of those, and the first
    // renewal catches the rest: what holds on every server is that after one renewal exactly one
    // runner keeps the lease, the one the object names.
    let attempts = (0..8).map(|n| {
        let store = store.clone();
        async move {
            store
                .acquire("race", &format!("runner-{n}"), "test", now, ttl, None)
                .await
        }
    });
    let outcomes = futures_join_all(attempts).await;
    ensure!(outcomes.len() == 8, "a runner's task failed");
    let mut first = sole_keeper(&store, outcomes, now, ttl, "runner-").await?;

    // The holder crashes: past the expiry two runners try to take over; one keeps it, and it
    // knows whose lease it took.
    let expired = now + ttl + Duration::from_secs(1);
    let (a, b) = tokio::join!(
        store.acquire("race", "rescuer-a", "test", expired, ttl, None),
        store.acquire("race", "rescuer-b", "test", expired, ttl, None)
    );
    let rescuer = sole_keeper(&store, vec![a, b], expired, ttl, "rescuer-").await?;
    ensure!(
        rescuer
            .previous
            .as_ref()
            .is_some_and(|p| p.holder == first.body.holder),
        "{rescuer:?}"
    );
    // The old holder wakes up: it can neither renew nor release what is no longer its lease.
    ensure!(
        !store.renew(&mut first, expired, ttl).await?,
        "the old holder renewed"
    );
    ensure!(
        !store.release(&first, expired).await?,
        "the old holder released"
    );
    let (current, _) = store.read("race").await?.context("lease object")?;
    ensure!(
        current.holder == rescuer.body.holder && !current.released,
        "{current:?}"
    );
    // Released, it is free at once.
    ensure!(store.release(&rescuer, expired).await?);
    match store
        .acquire("race", "next", "test", expired, ttl, None)
        .await?
    {
        Acquired::Held(lease) => ensure!(lease.previous.is_some_and(|p| p.released)),
        Acquired::Busy(body) => bail!("a released lease is busy: {body:?}"),
    }

    // Two service instances sharing the bucket, both firing the same scheduled slot at once:
    // one runs it, the other skips (held elsewhere, or the slot already ran).
    let settings = with_s3(&s3, bucket, &[("PLAYWRIGHT__ENABLED", "false")]);
    let one = TestService::start(&settings).await?;
    let two = TestService::start(&settings).await?;
    let slot = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let request = || RunRequest::Cleanup(CleanupOptions::default());
    let (a, b) = tokio::join!(
        one.state
            .jobs
            .start(request(), Trigger::Schedule, Some(slot)),
        two.state
            .jobs
            .start(request(), Trigger::Schedule, Some(slot))
    );
    let ran = match (a, b) {
        (Ok(ran), Err(skipped)) | (Err(skipped), Ok(ran)) => {
            ensure!(
                matches!(
                    skipped,
                    StartError::HeldElsewhere { .. } | StartError::SlotTaken { .. }
                ),
                "{skipped}"
            );
            ran
        }
        (a, b) => bail!(
            "expected one run: {:?} and {:?}",
            a.map(|s| s.id),
            b.map(|s| s.id)
        ),
    };
    let record = ran.finished.await?;
    ensure!(record.status == RunStatus::Succeeded, "{record:?}");
    // Later, the same slot again (an instance whose timer fired late): skipped.
    let late = two
        .state
        .jobs
        .start(request(), Trigger::Schedule, Some(slot))
        .await;
    ensure!(
        matches!(late, Err(StartError::SlotTaken { .. })),
        "late start: {:?}",
        late.map(|s| s.id)
    );

    // A lease held by another instance: a manual run is refused with who holds it, and recorded.
    let holder = match store
        .acquire(
            "cleanup",
            "elsewhere/run-1",
            "elsewhere",
            SystemTime::now(),
            ttl,
            None,
        )
        .await?
    {
        Acquired::Held(lease) => lease,
        Acquired::Busy(body) => bail!("cleanup lease busy: {body:?}"),
    };
    let r = http()
        .post(one.url("/admin/jobs/cleanup"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    ensure!(
        status == StatusCode::CONFLICT
            && body["code"] == "job-running-elsewhere"
            && body["message"]
                .as_str()
                .is_some_and(|m| m.contains("elsewhere")),
        "{status} {body}"
    );
    let jobs = jobs_status(&one).await?;
    ensure!(jobs["runs"][0]["status"] == "skipped", "{jobs}");
    let cleanup_job = jobs["jobs"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["job"] == "cleanup"))
        .context("cleanup in /admin/jobs")?;
    ensure!(
        cleanup_job["lease"]["held"] == true && cleanup_job["lease"]["instance"] == "elsewhere",
        "{cleanup_job}"
    );
    ensure!(store.release(&holder, SystemTime::now()).await?);
    let id = start_run(&one, "/admin/jobs/cleanup").await?;
    ensure!(finished_run(&one, &id).await?["status"] == "succeeded");
    one.stop().await?;
    two.stop().await
}

/// Of racing acquisitions, the one runner that keeps the lease through a renewal at `now`; every
/// runner that lost saw a holder named `prefix*`, and the object names the keeper.
async fn sole_keeper(
    store: &LeaseStore,
    outcomes: Vec<Result<Acquired, card_service::StoreError>>,
    now: SystemTime,
    ttl: Duration,
    prefix: &str,
) -> anyhow::Result<Lease> {
    let mut keepers = Vec::new();
    for outcome in outcomes {
        match outcome? {
            Acquired::Held(mut lease) => {
                if store.renew(&mut lease, now, ttl).await? {
                    keepers.push(lease);
                }
            }
            Acquired::Busy(body) => ensure!(body.holder.starts_with(prefix), "{body:?}"),
        }
    }
    ensure!(
        keepers.len() == 1,
        "{} runners keep the lease",
        keepers.len()
    );
    let keeper = keepers.remove(0);
    let (stored, _) = store.read("race").await?.context("lease object")?;
    ensure!(
        stored.holder == keeper.body.holder,
        "{stored:?} vs {keeper:?}"
    );
    Ok(keeper)
}

/// `futures::future::join_all` without the dependency: spawn each and collect in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        if let Ok(value) = handle.await {
            out.push(value);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_drops_the_memory_entry_and_renders_it_again_in_the_background()
-> anyhow::Result<()> {
    let svc = TestService::start(&[("ADMIN__TOKEN", TOKEN)]).await?;
    let url = svc.url("/api/og-image/dl-0003");
    let first = http().get(&url).send().await?;
    ensure!(header(&first, "x-cache") == "miss");
    let again = http().get(&url).send().await?;
    ensure!(header(&again, "x-cache") == "hit-memory");

    let id = start_run(&svc, "/admin/invalidate/dl-0003").await?;
    let run = finished_run(&svc, &id).await?;
    // Rendered, not found: the memory entry was gone (no S3 here to find it in).
    ensure!(
        run["job"] == "invalidate"
            && run["status"] == "succeeded"
            && run["report"]["rendered"] == 1,
        "{run}"
    );
    let after = http().get(&url).send().await?;
    ensure!(
        header(&after, "x-cache") == "hit-memory",
        "after the re-render: {:?}",
        header(&after, "x-cache")
    );

    for (path, expected) in [
        ("/admin/invalidate/no-such-listing", StatusCode::NOT_FOUND),
        ("/admin/invalidate/bad%20id", StatusCode::BAD_REQUEST),
    ] {
        let r = http().post(svc.url(path)).bearer_auth(TOKEN).send().await?;
        ensure!(r.status() == expected, "{path}: {}", r.status());
    }
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_a_running_job_between_items_and_releases_its_lease() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-jobs-shutdown";
    s3.create_bucket(bucket).await?;
    let svc = TestService::start(&with_s3(&s3, bucket, &[])).await?;
    let state = svc.state.clone();
    let started = state
        .jobs
        .start(warm(40, Variants::Default), Trigger::Manual, None)
        .await?;
    // Wait until it is under way, then shut the service down.
    wait::until_true("the run's first item done", RUN_PATIENCE, async || {
        Ok(started.progress.snapshot().done > 0)
    })
    .await?;
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), svc.stop())
        .await
        .context("the service stopped within 30 s")??;
    let record = tokio::time::timeout(Duration::from_secs(30), started.finished)
        .await
        .context("the run ended with the service")??;
    eprintln!(
        "shutdown with a run in progress took {:.1} s",
        stopping.elapsed().as_secs_f64()
    );
    ensure!(
        record.status == RunStatus::Cancelled
            && record.message.as_deref() == Some("the service is shutting down")
            && record.progress.done < 40,
        "{record:?}"
    );
    let store = LeaseStore::new(s3.client(), bucket.to_string());
    let (lease, _) = store.read("warm-cache").await?.context("lease object")?;
    ensure!(lease.released, "the lease was not released: {lease:?}");
    // And no new run starts.
    let refused = state
        .jobs
        .start(warm(1, Variants::Default), Trigger::Manual, None)
        .await;
    ensure!(matches!(refused, Err(StartError::ShuttingDown)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_endpoints_need_the_token_and_are_off_without_one() -> anyhow::Result<()> {
    let no_browser = ("PLAYWRIGHT__ENABLED", "false");
    let on = TestService::start(&[("ADMIN__TOKEN", TOKEN), no_browser]).await?;
    let off = TestService::start(&[no_browser]).await?;
    let endpoints = [
        (reqwest::Method::GET, "/admin/jobs"),
        (reqwest::Method::GET, "/admin/jobs/warm-cache-1"),
        (reqwest::Method::POST, "/admin/jobs/warm-cache"),
        (reqwest::Method::POST, "/admin/jobs/cleanup?dry_run=true"),
        (reqwest::Method::POST, "/admin/invalidate/dl-0001"),
    ];
    for (method, path) in &endpoints {
        let r = http().request(method.clone(), on.url(path)).send().await?;
        ensure!(
            r.status() == StatusCode::UNAUTHORIZED,
            "{method} {path} without a token: {}",
            r.status()
        );
        let r = http()
            .request(method.clone(), on.url(path))
            .bearer_auth("wrong-token-0123456789")
            .send()
            .await?;
        ensure!(
            r.status() == StatusCode::UNAUTHORIZED,
            "{method} {path} wrong token: {}",
            r.status()
        );
        let r = http()
            .request(method.clone(), off.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        ensure!(
            r.status() == StatusCode::NOT_FOUND,
            "{method} {path} without ADMIN__TOKEN: {}",
            r.status()
        );
    }
    let body = jobs_status(&on).await?;
    ensure!(
        body["enabled"] == false && body["runs"] == serde_json::json!([]),
        "{body}"
    );
    on.stop().await?;
    off.stop().await
}

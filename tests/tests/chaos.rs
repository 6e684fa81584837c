//! Chaos under load, on loopback: Chromium killed and frozen, S3 stopped and frozen, the queue
//! filled, browsers recycled, the service shut down mid-request.
//!
//! What must hold throughout: no request outlives its deadline (the client gives up at the
//! deadline plus a generous margin, and that counts as a failure), the only 5xx are the
//! documented 503s (`overloaded`, `render-timeout`, `browser-unavailable`, each with
//! `Retry-After`), the service recovers by itself, and after shutdown no process is left behind.
//! Loops are bounded by time and count; settings are small so each test takes seconds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use card_e2e::DedicatedS3;
use card_e2e::service::{TestService, header, http, s3_settings};
use card_e2e::wait;
use card_service::procfs;
use tokio::task::JoinHandle;

/// `PLAYWRIGHT__BROWSER_TIMEOUT_MS` in these tests.
const DEADLINE: Duration = Duration::from_millis(4_000);
/// The queue test's deadline (`PLAYWRIGHT__BROWSER_TIMEOUT_MS` there).
const QUEUE_DEADLINE: Duration = Duration::from_millis(10_000);
/// The deadline of the recycling and shutdown tests, which are about failing nothing.
const LONG_DEADLINE: Duration = Duration::from_millis(30_000);
/// Past the deadline, a client waits this much longer before it calls the request hung. Generous:
/// two cores shared with other test runs.
const MARGIN: Duration = Duration::from_secs(7);
/// 503 codes the docs promise (docs/operations.md, "Failure modes").
const DOCUMENTED_503: [&str; 3] = ["overloaded", "render-timeout", "browser-unavailable"];

/// What one request got.
#[derive(Debug, Clone)]
struct Outcome {
    url: String,
    status: u16,
    code: String,
    retry_after: bool,
    x_cache: String,
    elapsed: Duration,
}

fn client() -> reqwest::Client {
    client_within(DEADLINE)
}

/// A client that calls a request hung after `deadline` plus the margin.
fn client_within(deadline: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(deadline + MARGIN)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|_| http())
}

/// One GET; a client timeout or a broken connection is an `Err` (a hung or dropped request).
async fn fetch(client: &reqwest::Client, url: &str) -> Result<Outcome, String> {
    let started = Instant::now();
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e} after {:?}", started.elapsed()))?;
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let x_cache = header(&response, "x-cache");
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: body: {e} after {:?}", started.elapsed()))?;
    let code = if status == 200 {
        String::new()
    } else {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| "(no json code)".into())
    };
    Ok(Outcome {
        url: url.to_string(),
        status,
        code,
        retry_after,
        x_cache,
        elapsed: started.elapsed(),
    })
}

/// Every outcome is a 200 or a documented 503 with `Retry-After`, and none took longer than the
/// deadline plus the margin. Returns the counts by status and code, for the test's output.
fn check(
    outcomes: &[Result<Outcome, String>],
    deadline: Duration,
) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    for outcome in outcomes {
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => bail!("a request hung or broke: {e}"),
        };
        let label = match outcome.status {
            200 => format!("200 {}", outcome.x_cache),
            503 => {
                ensure!(
                    DOCUMENTED_503.contains(&outcome.code.as_str()),
                    "undocumented 503 `{}` for {}",
                    outcome.code,
                    outcome.url
                );
                ensure!(
                    outcome.retry_after,
                    "503 without Retry-After for {}",
                    outcome.url
                );
                format!("503 {}", outcome.code)
            }
            other => bail!("{other} `{}` for {}", outcome.code, outcome.url),
        };
        ensure!(
            outcome.elapsed <= deadline + MARGIN,
            "{} took {:?}",
            outcome.url,
            outcome.elapsed
        );
        *counts.entry(label).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Distinct card URLs (listing × format), handed out in turn so each request is a real render.
struct Urls {
    base: String,
    next: AtomicUsize,
}

impl Urls {
    fn new(base: &str) -> Arc<Self> {
        Arc::new(Self {
            base: base.to_string(),
            next: AtomicUsize::new(0),
        })
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // JPEG mostly: the cheapest capture, so the load is about faults, not encoding.
        let format = ["jpeg", "jpeg", "webp", "png"][(n / 275) % 4];
        format!(
            "{}/api/og-image/dl-{:04}?format={format}",
            self.base,
            n % 275 + 1
        )
    }
}

/// Clients requesting in a loop until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    /// Requests answered 200 so far (to check images kept coming during a fault).
    ok: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<Vec<Result<Outcome, String>>>>,
}

impl Load {
    fn start(urls: &Arc<Urls>, clients: usize, deadline: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let ok = Arc::new(AtomicUsize::new(0));
        let tasks = (0..clients)
            .map(|_| {
                let (stop, done, ok, urls) = (stop.clone(), done.clone(), ok.clone(), urls.clone());
                tokio::spawn(async move {
                    let client = client_within(deadline);
                    let mut outcomes = Vec::new();
                    // Bounded: a stop flag, and a hard cap in case the test forgets it.
                    for _ in 0..2_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let outcome = fetch(&client, &urls.next()).await;
                        let failed = outcome.is_err();
                        if outcome.as_ref().is_ok_and(|o| o.status == 200) {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        if outcome.as_ref().is_ok_and(|o| o.status == 503) {
                            // As a crawler honouring Retry-After would, only sooner.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        outcomes.push(outcome);
                        done.fetch_add(1, Ordering::Relaxed);
                        if failed {
                            break;
                        }
                    }
                    outcomes
                })
            })
            .collect();
        Load {
            stop,
            done,
            ok,
            tasks,
        }
    }

    fn ok(&self) -> usize {
        self.ok.load(Ordering::Relaxed)
    }

    /// Waits (bounded) until `n` more requests have completed.
    async fn wait_for(&self, n: usize) -> anyhow::Result<()> {
        let target = self.done.load(Ordering::Relaxed) + n;
        wait::until_true(
            &format!("the load completing {n} more requests"),
            Duration::from_secs(60),
            async || Ok(self.done.load(Ordering::Relaxed) >= target),
        )
        .await
    }

    async fn finish(self) -> anyhow::Result<Vec<Result<Outcome, String>>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for task in self.tasks {
            all.extend(task.await?);
        }
        Ok(all)
    }
}

/// Signals every process whose command line carries the pool tag (Chromium's main processes).
fn signal_tagged(tag: &str, signal: libc::c_int) -> usize {
    let pids = procfs::pids_with_arg(tag);
    for pid in &pids {
        // SAFETY: kill only sends a signal; these are this test's Chromium processes.
        unsafe {
            libc::kill(*pid, signal);
        }
    }
    pids.len()
}

/// Every process of the pool now (browser trees and the driver), by identity across pid reuse.
fn pool_processes(svc: &TestService) -> Vec<(i32, u64)> {
    let Some(pool) = svc.state.browser() else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = pool
        .browser_pids()
        .into_iter()
        .flat_map(procfs::tree)
        .collect();
    pids.extend(pool.driver_pids());
    pids.into_iter().filter_map(procfs::identity).collect()
}

/// After shutdown: no process carries the tag, and none of `seen` (browser trees, the driver) runs.
async fn assert_no_orphans(tag: &str, seen: &[(i32, u64)]) -> anyhow::Result<()> {
    let mut left = String::new();
    wait::until_true(
        "no process left after shutdown",
        Duration::from_secs(10),
        async || {
            let tagged = procfs::pids_with_arg(tag)
                .into_iter()
                .filter(|pid| procfs::stat(*pid).is_some_and(|s| s.2 != 'Z'))
                .collect::<Vec<_>>();
            let alive: Vec<_> = seen.iter().filter(|id| procfs::is_alive(**id)).collect();
            left = format!("tagged {tagged:?}, still running {alive:?}");
            Ok(tagged.is_empty() && alive.is_empty())
        },
    )
    .await
    .with_context(|| format!("orphans after shutdown: {left}"))
}

/// Signals the tagged browsers once there are some (bounded): the pool relaunches a killed
/// browser only when a render asks for one, so right after a kill there may be none yet.
async fn signal_running(tag: &str, signal: libc::c_int) -> anyhow::Result<()> {
    wait::until_true(
        &format!("a Chromium carrying {tag}, under load"),
        Duration::from_secs(60),
        async || Ok(signal_tagged(tag, signal) > 0),
    )
    .await
}

/// SIGSTOPs every tagged browser until one the pool is using is stopped (bounded): right after
/// a kill round the tagged processes may be the old browsers on their way out, and stopping
/// those proves nothing.
async fn freeze_a_live_browser(svc: &TestService, tag: &str) -> anyhow::Result<()> {
    let pool = svc.state.browser().context("browser pool")?;
    wait::until_true(
        "a browser of the pool stopped",
        Duration::from_secs(60),
        async || {
            signal_running(tag, libc::SIGSTOP)
                .await
                .context("the freeze")?;
            Ok(pool
                .browser_pids()
                .into_iter()
                .any(|pid| procfs::stat(pid).is_some_and(|(_, _, state)| state == 'T')))
        },
    )
    .await
}

/// Polls `url` every 100 ms until it answers 200 with a real card (bounded); returns how long
/// that took. Each poll is a render, hence the longer interval.
async fn recovery(url: impl Fn() -> String, within: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let client = client();
    let mut last = None;
    wait::until_every(
        "a fresh card after the fault",
        within,
        Duration::from_millis(100),
        async || {
            let outcome = fetch(&client, &url()).await.map_err(anyhow::Error::msg)?;
            let recovered = outcome.status == 200 && outcome.x_cache != "fallback";
            last = Some(outcome);
            Ok(recovered.then_some(()))
        },
    )
    .await
    .with_context(|| format!("last {last:?}"))?;
    Ok(started.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

const FAST_FAULTS: [(&str, &str); 7] = [
    ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "4000"),
    ("PLAYWRIGHT__HEALTH_INTERVAL_MS", "500"),
    ("PLAYWRIGHT__HEALTH_TIMEOUT_MS", "500"),
    // Launches take seconds on a loaded machine; a browser frozen mid-launch costs this much.
    ("PLAYWRIGHT__LAUNCH_TIMEOUT_MS", "15000"),
    ("SERVER__SHUTDOWN_GRACE_MS", "3000"),
    // Every request reaches the renderer (or S3): nothing is answered from memory.
    ("CACHE__MEMORY_MAX_BYTES", "0"),
    ("TEMPLATES__WATCH_INTERVAL_MS", "0"),
];

fn settings<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = FAST_FAULTS.to_vec();
    all.extend_from_slice(extra);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_frozen_chromium_under_load_is_replaced_and_nothing_hangs() -> anyhow::Result<()>
{
    let svc = TestService::start(&settings(&[
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "2"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "1"),
        ("RENDER__QUEUE_DEPTH", "2"),
    ]))
    .await?;
    let tag = svc.chromium_tag().context("browser pool")?;
    let urls = Urls::new(&svc.base);
    recovery(|| urls.next(), Duration::from_secs(60)).await?;
    let mut seen = pool_processes(&svc);
    let load = Load::start(&urls, 4, DEADLINE);
    load.wait_for(6).await?;

    // Kill every browser three times, letting the service recover in between.
    for round in 0..3 {
        seen.extend(pool_processes(&svc));
        signal_running(&tag, libc::SIGKILL)
            .await
            .with_context(|| format!("kill round {round}"))?;
        load.wait_for(4).await?;
    }
    // Freeze them (a browser caught mid-launch too): only the deadline and the probe can tell.
    seen.extend(pool_processes(&svc));
    let restarts_before = svc.metric("card_browser_restarts_total").await?;
    let frozen_at = Instant::now();
    freeze_a_live_browser(&svc, &tag).await?;
    load.wait_for(8).await?;
    recovery(|| urls.next(), Duration::from_secs(60)).await?;
    let replaced_after = frozen_at.elapsed();
    ensure!(
        svc.metric("card_browser_restarts_total").await? > restarts_before,
        "frozen browsers were not replaced"
    );
    let outcomes = load.finish().await?;
    let counts = check(&outcomes, DEADLINE)?;
    ensure!(
        counts.get("200 miss").copied().unwrap_or(0) > 0,
        "nothing rendered: {counts:?}"
    );

    // It recovered by itself: fresh renders succeed and it reports ready.
    let recovered = recovery(|| urls.next(), Duration::from_secs(60)).await?;
    for _ in 0..4 {
        let o = fetch(&client(), &urls.next())
            .await
            .map_err(anyhow::Error::msg)?;
        ensure!(o.status == 200, "after recovery: {o:?}");
    }
    let ready = http().get(svc.url("/readyz")).send().await?;
    ensure!(ready.status() == 200, "readyz {}", ready.status());
    let restarts = svc.metric("card_browser_restarts_total").await?;
    ensure!(restarts >= 5.0, "restarts {restarts}");
    eprintln!(
        "chaos/browser: {counts:?}; after the freeze a fresh render succeeded within {}; after the load {}; restarts {restarts}",
        ms(replaced_after),
        ms(recovered)
    );

    seen.extend(pool_processes(&svc));
    svc.stop().await?;
    assert_no_orphans(&tag, &seen).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_stopped_and_frozen_under_load_opens_the_breaker_and_caching_resumes()
-> anyhow::Result<()> {
    let mut s3 = DedicatedS3::start("chaos-s3").await?;
    let endpoint = s3.endpoint().to_string();
    let mut extra = s3_settings(&endpoint, "chaos-s3");
    extra.extend([
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "1"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "2"),
        ("RENDER__QUEUE_DEPTH", "8"),
        ("S3__TIMEOUT_MS", "400"),
        ("S3__BREAKER_FAILURES", "2"),
        ("S3__BREAKER_COOLDOWN_MS", "1000"),
    ]);
    let svc = TestService::start(&settings(&extra)).await?;
    let urls = Urls::new(&svc.base);
    recovery(|| urls.next(), Duration::from_secs(60)).await?;
    let load = Load::start(&urls, 3, DEADLINE);
    wait::until_true(
        "a card cached while S3 is up",
        Duration::from_secs(60),
        async || Ok(!s3.keys("card-images/").await?.is_empty()),
    )
    .await?;

    // S3 dies: connections refused. Renders keep being served; the breaker opens.
    s3.stop();
    let served = load.ok();
    load.wait_for(8).await?;
    ensure!(load.ok() > served, "no image served while S3 was down");
    let opened = svc.metric("card_s3_breaker_open").await?;
    ensure!(opened == 1.0, "breaker open gauge {opened} with S3 down");
    let ready: serde_json::Value = http().get(svc.url("/readyz")).send().await?.json().await?;
    ensure!(
        ready["ready"] == true && ready["s3"]["status"] == "degraded",
        "readyz with S3 down: {ready}"
    );

    // S3 comes back frozen: it accepts connections and never answers; timeouts bound each call.
    s3.restart().await?;
    s3.freeze(true);
    let served = load.ok();
    load.wait_for(8).await?;
    ensure!(load.ok() > served, "no image served while S3 was frozen");

    // S3 answers again: after the cool-down a probe closes the breaker and objects appear.
    s3.freeze(false);
    let thawed = Instant::now();
    wait::until_true(
        "the breaker closed after S3 returned",
        Duration::from_secs(30),
        async || Ok(svc.metric("card_s3_breaker_open").await? == 0.0),
    )
    .await?;
    let closed_after = thawed.elapsed();
    // Requests sent while it was frozen may still land; new objects after that are the proof.
    let before = s3.keys("card-images/").await?.len();
    wait::until_true(
        "caching resumed after S3 returned",
        Duration::from_secs(30),
        async || Ok(s3.keys("card-images/").await?.len() > before),
    )
    .await?;
    let resumed_after = thawed.elapsed();
    let outcomes = load.finish().await?;
    let counts = check(&outcomes, DEADLINE)?;
    // S3 faults cost no image: any 503 here is the documented kind (checked above), from a
    // machine too loaded for the deadline, not from S3.
    let errors = svc.metric("card_s3_errors_total{op=\"get\"}").await?
        + svc.metric("card_s3_errors_total{op=\"put\"}").await?;
    ensure!(errors >= 2.0, "s3 errors {errors}");
    eprintln!(
        "chaos/s3: {counts:?}; after S3 answered again the breaker closed within {} and new objects appeared within {}; s3 errors {errors}",
        ms(closed_after),
        ms(resumed_after)
    );
    let tag = svc.chromium_tag().context("browser pool")?;
    let seen = pool_processes(&svc);
    svc.stop().await?;
    assert_no_orphans(&tag, &seen).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_answers_503_with_retry_after_while_hits_keep_serving() -> anyhow::Result<()> {
    let svc = TestService::start(&[
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "1"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "1"),
        ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "10000"),
        ("RENDER__QUEUE_DEPTH", "1"),
    ])
    .await?;
    let hit = svc.url("/api/og-image/dl-0001?format=jpeg");
    let first = fetch(&client_within(QUEUE_DEADLINE), &hit)
        .await
        .map_err(anyhow::Error::msg)?;
    ensure!(first.status == 200, "{first:?}");

    // Twelve distinct misses at once against one page and a queue of one, hits interleaved.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let miss = svc.url(&format!("/api/og-image/dl-{:04}?format=png", i + 2));
        tasks.push(tokio::spawn(async move {
            fetch(&client_within(QUEUE_DEADLINE), &miss).await
        }));
        let hit = hit.clone();
        tasks.push(tokio::spawn(async move {
            fetch(&client_within(QUEUE_DEADLINE), &hit).await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await?);
    }
    let counts = check(&outcomes, QUEUE_DEADLINE)?;
    ensure!(
        counts.get("503 overloaded").copied().unwrap_or(0) >= 1,
        "no request was refused: {counts:?}"
    );
    ensure!(
        counts.get("200 hit-memory").copied().unwrap_or(0) == 12,
        "hits were not all served: {counts:?}"
    );
    eprintln!("chaos/queue: {counts:?}");
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_browser_gets_the_fallback_card_then_is_replaced_and_shutdown_kills_a_frozen_one()
-> anyhow::Result<()> {
    let s3 = DedicatedS3::start("chaos-fallback").await?;
    let endpoint = s3.endpoint().to_string();
    let mut extra = s3_settings(&endpoint, "chaos-fallback");
    extra.extend([
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "1"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "1"),
        ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "3000"), // Only the deadline wakes the probe here, so its part in recovery is what is tested.
        ("PLAYWRIGHT__HEALTH_INTERVAL_MS", "0"),
        ("RENDER__FALLBACK_ON_TIMEOUT", "true"),
    ]);
    let svc = TestService::start(&settings(&extra)).await?;
    let tag = svc.chromium_tag().context("browser pool")?;
    recovery(|| svc.url("/api/og-image/dl-0001"), Duration::from_secs(60)).await?;

    let mut seen = pool_processes(&svc);
    ensure!(signal_tagged(&tag, libc::SIGSTOP) > 0, "nothing to freeze");
    let response = client()
        .get(svc.url("/api/og-image/dl-0002"))
        .send()
        .await
        .context("fallback request")?;
    ensure!(response.status() == 200, "status {}", response.status());
    let header = |name: &str| header(&response, name);
    ensure!(
        header("x-cache") == "fallback",
        "x-cache {}",
        header("x-cache")
    );
    ensure!(
        header("cache-control") == "no-store",
        "{}",
        header("cache-control")
    );
    ensure!(
        header("etag").is_empty(),
        "a fallback must not carry the card's ETag"
    );
    // No `?format`: the format came from `Accept`, and the answer says so like any other.
    ensure!(header("vary") == "Accept", "vary {:?}", header("vary"));
    let bytes = response.bytes().await?;
    let img = image::load_from_memory(&bytes).context("the fallback decodes")?;
    ensure!((img.width(), img.height()) == (1200, 630));

    // The missed deadline woke the probe: the frozen browser is killed and replaced.
    let recovered = recovery(|| svc.url("/api/og-image/dl-0003"), Duration::from_secs(60)).await?;
    ensure!(svc.metric("card_fallback_served_total").await? >= 1.0);
    ensure!(svc.metric("card_browser_restarts_total").await? >= 1.0);
    let keys = s3.keys("card-images/").await?;
    ensure!(
        keys.iter()
            .all(|k| !k.contains("/dl-0002/") && !k.contains("/fallback/")),
        "the fallback reached S3: {keys:?}"
    );
    ensure!(keys.iter().any(|k| k.contains("/dl-0003/")), "{keys:?}");
    eprintln!(
        "chaos/fallback: frozen browser replaced, first real render {} after the fallback",
        ms(recovered)
    );

    // Shutdown with a frozen browser: it cannot close itself, so it is killed; nothing is left.
    seen.extend(pool_processes(&svc));
    ensure!(signal_tagged(&tag, libc::SIGSTOP) > 0);
    let stopping = Instant::now();
    svc.stop().await?;
    let stop_took = stopping.elapsed();
    assert_no_orphans(&tag, &seen).await?;
    eprintln!(
        "chaos/fallback: shutdown with a frozen browser took {}",
        ms(stop_took)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recycling_under_load_fails_no_request_and_healthz_stays_up() -> anyhow::Result<()> {
    let svc = TestService::start(&settings(&[
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "1"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "2"),
        // Generous: this test is about recycling failing nothing, not about a loaded machine.
        ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "30000"),
        ("PLAYWRIGHT__RECYCLE_AFTER_RENDERS", "6"),
        ("RENDER__QUEUE_DEPTH", "8"),
    ]))
    .await?;
    let tag = svc.chromium_tag().context("browser pool")?;
    let stop = Arc::new(AtomicBool::new(false));
    let health = {
        let (stop, url) = (stop.clone(), svc.url("/healthz"));
        tokio::spawn(async move {
            let client = client();
            let mut statuses = BTreeMap::new();
            for _ in 0..10_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let status = match client.get(&url).send().await {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(e) => format!("error: {e}"),
                };
                *statuses.entry(status).or_insert(0usize) += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        })
    };
    let urls = Urls::new(&svc.base);
    let mut seen = pool_processes(&svc);
    let load = Load::start(&urls, 3, LONG_DEADLINE);
    wait::until_true(
        "three recycles under load",
        Duration::from_secs(180),
        async || {
            seen.extend(pool_processes(&svc));
            Ok(svc.metric("card_browser_recycles_total").await? >= 3.0)
        },
    )
    .await?;
    let outcomes = load.finish().await?;
    stop.store(true, Ordering::Relaxed);
    let statuses = health.await?;
    let counts = check(&outcomes, LONG_DEADLINE)?;
    ensure!(
        counts.keys().all(|k| k == "200 miss"),
        "a planned recycle failed requests: {counts:?}"
    );
    ensure!(
        statuses.keys().all(|k| k == "200"),
        "/healthz during recycles: {statuses:?}"
    );
    ensure!(svc.metric("card_browser_restarts_total").await? == 0.0);
    // Drained browsers close: one browser's main process is left.
    wait::until_true(
        "the recycled browsers closed",
        Duration::from_secs(20),
        async || Ok(procfs::pids_with_arg(&tag).len() <= 1),
    )
    .await
    .with_context(|| format!("tagged now: {:?}", procfs::pids_with_arg(&tag)))?;
    eprintln!("chaos/recycle: {counts:?}; /healthz {statuses:?}");
    seen.extend(pool_processes(&svc));
    svc.stop().await?;
    assert_no_orphans(&tag, &seen).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_finishes_requests_in_flight_and_leaves_no_process() -> anyhow::Result<()> {
    let svc = TestService::start(&settings(&[
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "1"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "1"),
        ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "30000"),
        ("SERVER__SHUTDOWN_GRACE_MS", "40000"),
    ]))
    .await?;
    let tag = svc.chromium_tag().context("browser pool")?;
    let seen = pool_processes(&svc);
    let base = svc.base.clone();
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let url = format!("{base}/api/og-image/dl-{:04}", i + 40);
            tokio::spawn(async move { fetch(&client_within(LONG_DEADLINE), &url).await })
        })
        .collect();
    // All three admitted (one capturing on the single page, two waiting for it): a request not
    // yet accepted when shutdown starts would be refused, which is right but not this test.
    // Looked at every millisecond: the state lasts only while the first capture runs.
    wait::until_every(
        "the three requests admitted by the renderer",
        Duration::from_secs(10),
        Duration::from_millis(1),
        async || Ok((svc.state.in_flight() >= 3).then_some(())),
    )
    .await?;
    let stopping = Instant::now();
    svc.stop().await?;
    let stop_took = stopping.elapsed();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await?);
    }
    let counts = check(&outcomes, LONG_DEADLINE)?;
    ensure!(
        counts.get("200 miss") == Some(&3),
        "in-flight requests did not all finish: {counts:?}"
    );
    ensure!(
        fetch(&client(), &format!("{base}/healthz")).await.is_err(),
        "still accepting after shutdown"
    );
    assert_no_orphans(&tag, &seen).await?;
    eprintln!(
        "chaos/shutdown: 3 in-flight renders finished; shutdown took {}",
        ms(stop_took)
    );
    Ok(())
}

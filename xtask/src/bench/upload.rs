//! `upload-under-load`: what a design upload's render checks and visual diff cost live traffic.
//!
//! Instance D (2 browsers × 2 pages, the control plane on its own bucket) serves cold renders at a
//! concurrency of the pool's pages, every request a card it has not rendered, in two phases of
//! equal length: without uploads, then with dry-run uploads of `classic` back to back (each renders
//! the eight reference listings for the checks and eight more of the live version for the diff,
//! and stores the run in the control plane). A dry run is the whole upload minus the manifest
//! write, which costs the pool nothing. `/metrics` is read every 100 ms for the pages busy and the
//! pages the checks hold. The row's latency columns are the phase with uploads; `detail` holds the
//! phase without, and the uploads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::load::{self, expect};
use super::process::{Sampler, Service};
use super::{Common, PAGES, Plan, Row, progress};
use crate::util;

/// Formats the requests rotate through, so the listings give three times as many cold cards.
const FORMATS: [&str; 3] = ["png", "jpeg", "webp"];

/// The case on a fresh instance and bucket; its row and the instance's start-up time.
pub(super) async fn run(
    common: &Common<'_>,
    bucket: &str,
    ids: Arc<Vec<String>>,
    plan: Plan,
) -> Result<(Row, Duration)> {
    let token = format!("bench-{}", super::unix_secs());
    util::step("starting card-service D (control plane on a fresh bucket) for upload-under-load");
    let d = Service::start(
        common.binary,
        common.work,
        "service-d",
        &common.env(bucket, &[("ADMIN__TOKEN", &token)]),
    )
    .await?;
    eprintln!("    ready in {} ms", d.ready_in.as_millis());
    let ready_in = d.ready_in;
    let component = std::fs::read(common.dist.join("classic.wasm"))
        .context("card-templates/dist/classic.wasm (build it: `cargo xtask templates build`)")?;
    let result = measure(&d, &token, component, ids, plan).await;
    if result.is_err() {
        eprintln!("    card-service D's log: {}", d.log.display());
    }
    d.stop().await;
    Ok((result?, ready_in))
}

async fn measure(
    service: &Service,
    token: &str,
    component: Vec<u8>,
    ids: Arc<Vec<String>>,
    plan: Plan,
) -> Result<Row> {
    let offset = Arc::new(AtomicUsize::new(0));
    let paths = {
        let offset = offset.clone();
        Arc::new(move |i: u64| {
            let at = offset.load(Ordering::Relaxed) + i as usize;
            let format = FORMATS.get(at / ids.len())?;
            Some(format!(
                "/api/og-image/{}?format={format}",
                ids[at % ids.len()]
            ))
        }) as load::Paths
    };
    let check = expect(200, Some("miss"));

    util::step(format_args!(
        "upload-under-load: cold renders at concurrency {PAGES}, no upload"
    ));
    let pool = PoolSampler::start(&service.addr);
    let quiet = load::phase(
        &service.addr,
        PAGES,
        plan.budget(8),
        paths.clone(),
        check.clone(),
    )
    .await
    .context("upload-under-load, no upload")?;
    quiet.tolerable("upload-under-load, no upload")?;
    let quiet_pool = pool.finish().await;
    offset.fetch_add(quiet.count() + quiet.failures, Ordering::Relaxed);
    progress(&quiet);

    util::step(format_args!(
        "upload-under-load: the same, with dry-run uploads of classic back to back"
    ));
    let pool = PoolSampler::start(&service.addr);
    let memory = Sampler::start(vec![service.pid()]);
    let stop = Arc::new(AtomicBool::new(false));
    let uploader = tokio::spawn(uploads(
        format!("http://{}", service.addr),
        token.to_owned(),
        component,
        stop.clone(),
    ));
    let busy = load::phase(&service.addr, PAGES, plan.budget(8), paths, check).await;
    stop.store(true, Ordering::Relaxed);
    let uploads = uploader.await.context("the uploader panicked")??;
    let busy = busy.context("upload-under-load, with uploads")?;
    busy.tolerable("upload-under-load, with uploads")?;
    let busy_pool = pool.finish().await;
    let memory = memory.finish().await;
    progress(&busy);

    let mean = |f: fn(&Upload) -> f64| uploads.iter().map(f).sum::<f64>() / uploads.len() as f64;
    let (upload_s, checks_ms, diff_ms) = (
        mean(|u| u.took.as_secs_f64()),
        mean(|u| u.checks_ms),
        mean(|u| u.diff_ms),
    );
    let p95 = (quiet.percentile_ms(95.0), busy.percentile_ms(95.0));
    let change = |a: f64, b: f64| if a > 0.0 { (b / a - 1.0) * 100.0 } else { 0.0 };
    eprintln!(
        "    {} uploads, {upload_s:.2} s each (checks {checks_ms:.0} ms, diff {diff_ms:.0} ms); live p95 {:.1} → {:.1} ms ({:+.0} %), {:.1} → {:.1} renders/s; check pages mean {:.2}, max {} of {PAGES}",
        uploads.len(),
        p95.0,
        p95.1,
        change(p95.0, p95.1),
        quiet.throughput(),
        busy.throughput(),
        busy_pool.check_mean,
        busy_pool.check_max,
    );
    Ok(Row {
        name: super::Case::UploadUnderLoad.name().into(),
        throughput_per_s: busy.throughput(),
        p50_ms: busy.percentile_ms(50.0),
        p95_ms: p95.1,
        p99_ms: busy.percentile_ms(99.0),
        bytes: busy.mean_bytes(),
        pss_mib: memory.pss_mib(),
        rss_mib: memory.rss_mib(),
        load: format!(
            "c{PAGES} cold + {} dry-run uploads ({upload_s:.1} s each); p95 {:+.0} % vs {:.1} ms without; check pages ≤ {}",
            uploads.len(),
            change(p95.0, p95.1),
            p95.0,
            busy_pool.check_max,
        ),
        detail: Some(json!({
            "without_uploads": {
                "throughput_per_s": quiet.throughput(),
                "p50_ms": quiet.percentile_ms(50.0),
                "p95_ms": p95.0,
                "p99_ms": quiet.percentile_ms(99.0),
                "pages_busy_mean": quiet_pool.busy_mean,
            },
            "with_uploads": {
                "pages_busy_mean": busy_pool.busy_mean,
                "check_pages_mean": busy_pool.check_mean,
                "check_pages_max": busy_pool.check_max,
                "pool_pages": PAGES,
            },
            "uploads": {
                "count": uploads.len(),
                "mean_s": upload_s,
                "checks_ms_mean": checks_ms,
                "diff_ms_mean": diff_ms,
            },
        })),
    })
}

/// One dry-run upload: its wall time and what the answer says the checks and the diff took.
struct Upload {
    took: Duration,
    checks_ms: f64,
    diff_ms: f64,
}

/// Dry-run uploads one after another until `stop`, and at least one.
async fn uploads(
    base: String,
    token: String,
    component: Vec<u8>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Upload>> {
    let http = reqwest::Client::new();
    let mut done = Vec::new();
    while done.is_empty() || !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let response = http
            .put(format!("{base}/admin/templates/classic?dry_run=true"))
            .bearer_auth(&token)
            .body(component.clone())
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if status != 200 || body["published"] != false {
            bail!("a dry-run upload of classic answered {status}: {body}");
        }
        if body["checks"]["kept"]["where"] != "fleet" {
            bail!("the check run was not kept in the control plane: {body}");
        }
        done.push(Upload {
            took: started.elapsed(),
            checks_ms: body["checks"]["ms"].as_f64().unwrap_or(0.0),
            diff_ms: body["diff"]["ms"].as_f64().unwrap_or(0.0),
        });
    }
    Ok(done)
}

/// `card_browser_pages_busy` and `card_browser_check_pages_busy` every 100 ms.
struct PoolSampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(u64, u64)>>,
}

/// What a [`PoolSampler`] saw.
struct PoolUse {
    busy_mean: f64,
    check_mean: f64,
    check_max: u64,
}

impl PoolSampler {
    fn start(addr: &str) -> PoolSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (url, flag) = (format!("http://{addr}/metrics"), stop.clone());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut seen = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Ok(text) = async { http.get(&url).send().await?.text().await }.await {
                    let value = |name: &str| {
                        text.lines()
                            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                            .and_then(|v| v.trim().parse::<f64>().ok())
                            .map(|v| v as u64)
                    };
                    if let (Some(busy), Some(checks)) = (
                        value("card_browser_pages_busy"),
                        value("card_browser_check_pages_busy"),
                    ) {
                        seen.push((busy, checks));
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        });
        PoolSampler { stop, task }
    }

    async fn finish(self) -> PoolUse {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self.task.await.unwrap_or_default();
        let n = seen.len().max(1) as f64;
        PoolUse {
            busy_mean: seen.iter().map(|s| s.0 as f64).sum::<f64>() / n,
            check_mean: seen.iter().map(|s| s.1 as f64).sum::<f64>() / n,
            check_max: seen.iter().map(|s| s.1).max().unwrap_or(0),
        }
    }
}

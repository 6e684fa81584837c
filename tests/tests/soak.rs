//! Soak: many real renders in a row, with the memory of the whole process tree (this process,
//! which is the service, plus the Node driver and every Chromium process) sampled throughout.
//! After warm-up (the first 20 %), the median of the late window (the last 20 %) must be less
//! than 10 % above the median of the early window (20–40 %).
//!
//! `SOAK_RENDERS` sets the count (default 2,000, CI-sized). The full run:
//! `SOAK_RENDERS=20000 cargo test -p card-e2e --test soak -- --nocapture` (≈ 15+ minutes).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use card_e2e::service::{TestService, fresh_templates_dir};
use card_service::procfs;
use tokio::sync::Mutex;

/// Renders the CI run does; the full soak sets `SOAK_RENDERS=20000`.
const DEFAULT_RENDERS: usize = 2_000;
/// Growth allowed between the early and the late window (the performance issue's bound).
const GROWTH_BOUND: f64 = 0.10;
const CLIENTS: usize = 4;

fn renders() -> anyhow::Result<usize> {
    match std::env::var("SOAK_RENDERS") {
        Ok(v) if !v.trim().is_empty() => {
            let n: usize = v
                .trim()
                .parse()
                .context("SOAK_RENDERS: expected a whole number")?;
            ensure!(
                n >= 200,
                "SOAK_RENDERS: at least 200, so the windows mean something"
            );
            Ok(n)
        }
        _ => Ok(DEFAULT_RENDERS),
    }
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_flat_over_many_renders() -> anyhow::Result<()> {
    let total = renders()?;
    let templates = fresh_templates_dir("soak")?;
    let svc = TestService::start_with_templates(
        &templates,
        &[
            ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "2"),
            ("PLAYWRIGHT__PAGES_PER_BROWSER", "2"),
            ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "20000"),
            ("RENDER__QUEUE_DEPTH", "16"),
            // Every request is a real render: no memory tier, no S3.
            ("CACHE__MEMORY_MAX_BYTES", "0"),
            ("TEMPLATES__WATCH_INTERVAL_MS", "0"),
            // Memory is measured here, not the designs' 250 ms deadline: on a machine shared with
            // builds a starved blocking thread could miss it and fail a render for nothing.
            ("TEMPLATES__RENDER_TIMEOUT_MS", "5000"),
        ],
    )
    .await?;
    let mut designs: Vec<String> = svc
        .state
        .designs()
        .snapshot()
        .keys()
        .filter(|name| !name.starts_with("fixture"))
        .cloned()
        .collect();
    designs.sort();
    ensure!(
        !designs.is_empty(),
        "no design loaded from {}",
        templates.display()
    );
    let designs = Arc::new(designs);

    let me = std::process::id() as i32;
    let next = Arc::new(AtomicUsize::new(0));
    // (render index, PSS KiB of the tree), sampled about every 1 % of the run, and the same
    // split into this process (the service), the driver and the browsers, for the report.
    let samples = Arc::new(Mutex::new(Vec::<(usize, u64)>::new()));
    let parts = Arc::new(Mutex::new(Vec::<(usize, [u64; 3])>::new()));
    let pool = svc.state.browser().context("browser pool")?.clone();
    let every = (total / 100).max(1);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (next, samples, parts, pool, designs, base) = (
                next.clone(),
                samples.clone(),
                parts.clone(),
                pool.clone(),
                designs.clone(),
                svc.base.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()?;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return anyhow::Ok(());
                    }
                    // Distinct cards: design × format × listing, mixed evenly so every window
                    // of the run renders the same kinds of card.
                    let d = designs.len();
                    let design = &designs[n % d];
                    let format = ["png", "jpeg", "webp"][(n / d) % 3];
                    let listing = (n / (3 * d)) % 275 + 1;
                    let url = format!(
                        "{base}/api/og-image/dl-{listing:04}?variant={design}&format={format}"
                    );
                    let response = client.get(&url).send().await?;
                    let status = response.status();
                    let cache = response
                        .headers()
                        .get("x-cache")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body = response.bytes().await?;
                    if status != 200 || cache != "miss" || body.is_empty() {
                        bail!(
                            "render {n} ({url}): {status} x-cache {cache}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        );
                    }
                    if n % every == 0 {
                        let pss = procfs::tree_pss_kib(me);
                        samples.lock().await.push((n, pss));
                        let browsers: u64 = pool
                            .browser_pids()
                            .into_iter()
                            .map(procfs::tree_pss_kib)
                            .sum();
                        let driver: u64 = pool.driver_pids().into_iter().map(procfs::pss_kib).sum();
                        parts
                            .lock()
                            .await
                            .push((n, [procfs::pss_kib(me), driver, browsers]));
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let (restarts, recycles) = (pool.restarts(), pool.recycles());
    svc.stop().await?;

    let samples = samples.lock().await.clone();
    // Warm-up is the first 20 % (Chromium's caches fill); early window 20–40 %, late window the last 20 %.
    let window = |from: f64, to: f64| -> Vec<u64> {
        samples
            .iter()
            .filter(|(n, _)| (*n as f64) >= from * total as f64 && (*n as f64) < to * total as f64)
            .map(|(_, pss)| *pss)
            .collect()
    };
    let (mut early, mut late) = (window(0.20, 0.40), window(0.80, 1.01));
    ensure!(
        early.len() >= 5 && late.len() >= 5,
        "too few samples: early {}, late {}",
        early.len(),
        late.len()
    );
    let (early_mib, late_mib) = (
        median(&mut early) as f64 / 1024.0,
        median(&mut late) as f64 / 1024.0,
    );
    let parts = parts.lock().await.clone();
    let part = |i: usize, from: f64, to: f64| -> f64 {
        let mut v: Vec<u64> = parts
            .iter()
            .filter(|(n, _)| (*n as f64) >= from * total as f64 && (*n as f64) < to * total as f64)
            .map(|(_, p)| p[i])
            .collect();
        median(&mut v) as f64 / 1024.0
    };
    eprintln!(
        "soak: early → late medians (MiB): service {:.0} → {:.0}, driver {:.0} → {:.0}, browsers {:.0} → {:.0}",
        part(0, 0.20, 0.40),
        part(0, 0.80, 1.01),
        part(1, 0.20, 0.40),
        part(1, 0.80, 1.01),
        part(2, 0.20, 0.40),
        part(2, 0.80, 1.01)
    );
    let peak_mib = samples.iter().map(|(_, p)| *p).max().unwrap_or(0) as f64 / 1024.0;
    let growth = late_mib / early_mib - 1.0;
    eprintln!(
        "soak: {total} renders in {:.0} s ({:.1}/s) across {} designs × 3 formats; PSS of the tree \
         (service + driver + Chromium): early median {early_mib:.0} MiB, late median {late_mib:.0} MiB \
         ({:+.1} %), peak {peak_mib:.0} MiB; restarts {restarts}, recycles {recycles}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        designs.len(),
        growth * 100.0
    );
    ensure!(
        growth < GROWTH_BOUND,
        "memory grew {:.1} % (early {early_mib:.0} MiB → late {late_mib:.0} MiB), bound {:.0} %",
        growth * 100.0,
        GROWTH_BOUND * 100.0
    );
    ensure!(
        restarts == 0,
        "{restarts} browser restarts during a calm soak"
    );
    Ok(())
}

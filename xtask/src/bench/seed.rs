//! The baseline: the seed's design, run here on the same machine and the same HTML.
//!
//! Playwright with two browsers, a new page for every card, `set_content` and Playwright's own
//! PNG `page.screenshot` (Chromium's default PNG encoder), one card at a time per browser. Driven
//! by playwright-rs from this process; its memory is the Node driver's and Chromium's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use playwright_rs::api::LaunchOptions;
use playwright_rs::{
    BrowserContextOptions, GotoOptions, Playwright, ScreenshotOptions, ScreenshotType, Viewport,
    WaitUntil,
};

use super::load::{Budget, Sample};
use super::process::{Memory, Sampler};

/// The seed ran two browsers.
const BROWSERS: usize = 2;

/// Renders `cards` (HTML documents, used round-robin) until the budget is spent.
pub async fn run(
    chromium: &str,
    cards: Arc<Vec<String>>,
    budget: Budget,
) -> Result<(Sample, Memory)> {
    // The Node driver is the child this launch adds (the local S3 server is an older one).
    let before = own_children();
    let playwright = Playwright::launch()
        .await
        .map_err(|e| anyhow!("the Playwright driver did not start: {e}"))?;
    let driver: Vec<u32> = own_children()
        .into_iter()
        .filter(|pid| !before.contains(pid))
        .collect();
    let sampler = Sampler::start(driver);
    let result = render_all(&playwright, chromium, cards, budget).await;
    let memory = sampler.finish().await;
    let _ = playwright.shutdown().await;
    Ok((result?, memory))
}

/// This process's direct children.
fn own_children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_to_string(format!("/proc/{me}/task/{me}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

async fn render_all(
    playwright: &Playwright,
    chromium: &str,
    cards: Arc<Vec<String>>,
    budget: Budget,
) -> Result<Sample> {
    let mut contexts = Vec::new();
    let mut browsers = Vec::new();
    for _ in 0..BROWSERS {
        let browser = playwright
            .chromium()
            .launch_with_options(
                LaunchOptions::new()
                    .executable_path(chromium.to_string())
                    .headless(true)
                    .args(
                        ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
                            .map(String::from)
                            .to_vec(),
                    )
                    .handle_sigint(false)
                    .handle_sigterm(false)
                    .handle_sighup(false),
            )
            .await
            .map_err(|e| anyhow!("Chromium did not launch for the baseline: {e}"))?;
        let context = browser
            .new_context_with_options(
                BrowserContextOptions::builder()
                    .viewport(Viewport {
                        width: 1200,
                        height: 630,
                    })
                    .build(),
            )
            .await
            .map_err(|e| anyhow!("new context: {e}"))?;
        contexts.push(context);
        browsers.push(browser);
    }
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + budget.duration;
    let mut workers = tokio::task::JoinSet::new();
    for context in contexts {
        let (cards, next) = (cards.clone(), next.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= budget.requests || Instant::now() >= until {
                    break;
                }
                let html = &cards[i as usize % cards.len()];
                let sent = Instant::now();
                let page = context
                    .new_page()
                    .await
                    .map_err(|e| anyhow!("new page: {e}"))?;
                page.set_content(html, GotoOptions::new().wait_until(WaitUntil::Load))
                    .await
                    .map_err(|e| anyhow!("set content: {e}"))?;
                let png = page
                    .screenshot(
                        ScreenshotOptions::builder()
                            .screenshot_type(ScreenshotType::Png)
                            .build(),
                    )
                    .await
                    .map_err(|e| anyhow!("screenshot: {e}"))?;
                page.close().await.map_err(|e| anyhow!("close page: {e}"))?;
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                bytes += png.len() as u64;
            }
            anyhow::Ok((latencies, bytes))
        });
    }
    let mut sample = Sample::default();
    while let Some(done) = workers.join_next().await {
        let (latencies, bytes) = done.context("a baseline worker panicked")??;
        sample.latencies.extend(latencies);
        sample.bytes += bytes;
    }
    sample.elapsed = started.elapsed();
    sample.latencies.sort_unstable();
    for browser in browsers {
        let _ = browser.close().await;
    }
    anyhow::ensure!(
        !sample.latencies.is_empty(),
        "the baseline rendered no card"
    );
    Ok(sample)
}

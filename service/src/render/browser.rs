//! Headless Chromium through Playwright: a pool of reused pages across a few browsers.
//!
//! Architecture Invariant: pages run with JavaScript off, the context offline, and a route that
//! aborts every request, so nothing a design or a listing writes can make Chromium fetch a URL.
//! Every capture runs under our own deadline (never Playwright's 30 s default). A page that
//! failed or timed out is thrown away; a browser that disconnected (crashed, killed) is
//! relaunched and the render retried once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use playwright_rs::api::LaunchOptions;
use playwright_rs::protocol::CDPSession;
use playwright_rs::{
    Browser, BrowserContext, BrowserContextOptions, GotoOptions, Page, Playwright, Viewport,
    WaitUntil,
};
use tokio::sync::{Mutex, Semaphore};

use crate::render::ImageFormat;
use crate::settings::PlaywrightSettings;

/// Chromium flags that work as root on a closed network (see docs/operations.md).
const CHROMIUM_ARGS: &[&str] = &[
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--font-render-hinting=none",
    // Defence in depth under the offline context and the abort-everything route: Chromium opens
    // speculative connections (preconnect, preload scanner) below request interception, so every
    // connection, loopback included, is sent to a proxy that cannot exist.
    "--proxy-server=http://0.0.0.0:0",
    "--proxy-bypass-list=<-loopback>",
    "--dns-prefetch-disable",
    "--disable-features=NetworkPrediction,Prerender2,SpeculationRulesPrefetchProxy",
];

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("render exceeded its {0:?} deadline")]
    Deadline(Duration),
    #[error("could not start the Playwright driver: {0}")]
    Driver(String),
    #[error("could not launch Chromium at {path}: {message}")]
    Launch { path: String, message: String },
    #[error("browser failed: {0}")]
    Failed(String),
}

/// One Chromium process and its single context.
struct BrowserHandle {
    browser: Browser,
    context: BrowserContext,
    generation: u64,
}

/// A page checked out of the pool, with the CDP session used for capture.
struct PooledPage {
    slot: usize,
    generation: u64,
    page: Page,
    cdp: CDPSession,
}

pub struct BrowserPool {
    settings: PlaywrightSettings,
    /// Distinguishes this pool's Chromium processes (`--card-service-pool=TAG` on their command line).
    tag: String,
    driver: Mutex<Option<Arc<Playwright>>>,
    slots: Vec<Mutex<Option<BrowserHandle>>>,
    idle: std::sync::Mutex<Vec<PooledPage>>,
    /// One permit per page: at most browsers × pages captures at once.
    pages: Semaphore,
    next_slot: AtomicU64,
    generation: AtomicU64,
    restarts: AtomicU64,
    versions: std::sync::Mutex<Option<String>>,
}

impl BrowserPool {
    pub fn new(settings: PlaywrightSettings) -> Self {
        let browsers = settings.max_concurrent_browsers as usize;
        let pages = browsers * settings.pages_per_browser as usize;
        let tag = format!("{}-{}", std::process::id(), next_pool_id());
        Self {
            settings,
            tag,
            driver: Mutex::new(None),
            slots: (0..browsers).map(|_| Mutex::new(None)).collect(),
            idle: std::sync::Mutex::new(Vec::new()),
            pages: Semaphore::new(pages),
            next_slot: AtomicU64::new(0),
            generation: AtomicU64::new(1),
            restarts: AtomicU64::new(0),
            versions: std::sync::Mutex::new(None),
        }
    }

    /// The marker on this pool's Chromium command lines, so operators and tests can find them.
    pub fn process_tag(&self) -> String {
        format!("--card-service-pool={}", self.tag)
    }

    /// Capacity: pages that can capture at once.
    pub fn capacity(&self) -> usize {
        self.slots.len() * self.settings.pages_per_browser as usize
    }

    /// Browsers relaunched after a crash or a deadline since start.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Chromium's version, once a browser has launched.
    pub fn version(&self) -> Option<String> {
        self.versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `true` when at least one browser is up and connected.
    pub async fn is_ready(&self) -> bool {
        for slot in &self.slots {
            if let Ok(guard) = slot.try_lock() {
                if guard.as_ref().is_some_and(|h| h.browser.is_connected()) {
                    return true;
                }
            } else {
                // Being (re)launched or used right now: count it as alive.
                return true;
            }
        }
        false
    }

    /// Starts the driver, every browser and every page, so the first request pays no launch.
    pub async fn warm_up(&self) -> Result<(), BrowserError> {
        let mut pages = Vec::new();
        for i in 0..self.capacity() {
            let slot = i % self.slots.len();
            pages.push(self.new_page(slot).await?);
        }
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(pages);
        Ok(())
    }

    /// Renders `html` and captures it as `format`, within `deadline` (for the whole call, queueing for a page included).
    pub async fn capture(
        &self,
        html: &str,
        format: ImageFormat,
        quality: u8,
        deadline: Duration,
    ) -> Result<Vec<u8>, BrowserError> {
        let until = Instant::now() + deadline;
        match tokio::time::timeout_at(
            until.into(),
            self.capture_with_retry(html, format, quality, until),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(BrowserError::Deadline(deadline)),
        }
    }

    async fn capture_with_retry(
        &self,
        html: &str,
        format: ImageFormat,
        quality: u8,
        until: Instant,
    ) -> Result<Vec<u8>, BrowserError> {
        let _permit = self
            .pages
            .acquire()
            .await
            .map_err(|_| BrowserError::Failed("pool closed".into()))?;
        let mut last_error = None;
        for attempt in 0..2 {
            let page = match self.checkout().await {
                Ok(page) => page,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            // The guard returns a healthy page to the pool, and throws away one that failed or
            // whose future was dropped by the deadline (it may be stuck mid-render).
            let mut guard = PageGuard {
                pool: self,
                page: Some(page),
                healthy: false,
            };
            let page = guard
                .page
                .as_ref()
                .map(|p| (p.page.clone(), p.cdp.clone(), p.slot));
            let Some((page, cdp, slot)) = page else {
                continue;
            };
            let remaining = until.saturating_duration_since(Instant::now());
            match render_on(&page, &cdp, html, format, quality, remaining).await {
                Ok(bytes) => {
                    guard.healthy = true;
                    return Ok(bytes);
                }
                Err(e) => {
                    let connected = self.slot_connected(slot).await;
                    tracing::warn!(attempt, slot, connected, error = %e, "capture failed");
                    if !connected {
                        self.retire_slot(slot).await;
                    }
                    last_error = Some(BrowserError::Failed(e));
                }
            }
        }
        Err(last_error.unwrap_or_else(|| BrowserError::Failed("no page available".into())))
    }

    async fn slot_connected(&self, slot: usize) -> bool {
        self.slots[slot]
            .lock()
            .await
            .as_ref()
            .is_some_and(|h| h.browser.is_connected())
    }

    /// An idle page whose browser is still the current one, or a new page.
    async fn checkout(&self) -> Result<PooledPage, BrowserError> {
        loop {
            let candidate = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(page) = candidate else { break };
            if page.page.is_closed() {
                continue;
            }
            let current = self.slots[page.slot]
                .lock()
                .await
                .as_ref()
                .map(|h| (h.generation, h.browser.is_connected()));
            if current == Some((page.generation, true)) {
                return Ok(page);
            }
        }
        let slot = (self.next_slot.fetch_add(1, Ordering::Relaxed) as usize) % self.slots.len();
        self.new_page(slot).await
    }

    async fn new_page(&self, slot: usize) -> Result<PooledPage, BrowserError> {
        let mut guard = self.slots[slot].lock().await;
        if guard.as_ref().is_some_and(|h| !h.browser.is_connected())
            && let Some(old) = guard.take()
        {
            self.restarts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(slot, "browser disconnected; relaunching");
            close_in_background(old);
        }
        if guard.is_none() {
            *guard = Some(self.launch(slot).await?);
        }
        let handle = guard
            .as_ref()
            .ok_or_else(|| BrowserError::Failed("browser slot empty".into()))?;
        match open_page(handle).await {
            Ok((page, cdp)) => Ok(PooledPage {
                slot,
                generation: handle.generation,
                page,
                cdp,
            }),
            Err(e) => {
                // The driver may not have noticed yet that the browser died (it reports the
                // disconnect asynchronously): a browser that cannot open a page is replaced now.
                tracing::warn!(slot, error = %e, "browser cannot open a page; relaunching");
                if let Some(old) = guard.take() {
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    close_in_background(old);
                }
                let handle = self.launch(slot).await?;
                let (page, cdp) = open_page(&handle).await?;
                let generation = handle.generation;
                *guard = Some(handle);
                Ok(PooledPage {
                    slot,
                    generation,
                    page,
                    cdp,
                })
            }
        }
    }

    async fn launch(&self, slot: usize) -> Result<BrowserHandle, BrowserError> {
        let started = Instant::now();
        let timeout = Duration::from_millis(self.settings.launch_timeout_ms);
        let launched = tokio::time::timeout(timeout, self.launch_inner()).await;
        let handle = match launched {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                // The driver itself may be gone (killed): start a fresh one next time.
                *self.driver.lock().await = None;
                return Err(e);
            }
            Err(_) => {
                *self.driver.lock().await = None;
                return Err(BrowserError::Launch {
                    path: self.settings.executable_path.display().to_string(),
                    message: format!(
                        "no answer within PLAYWRIGHT__LAUNCH_TIMEOUT_MS ({timeout:?})"
                    ),
                });
            }
        };
        tracing::info!(
            slot,
            version = handle.browser.version(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "browser launched"
        );
        *self.versions.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(handle.browser.version().to_string());
        Ok(handle)
    }

    async fn launch_inner(&self) -> Result<BrowserHandle, BrowserError> {
        let playwright = self.driver().await?;
        let path = self.settings.executable_path.display().to_string();
        if !self.settings.executable_path.exists() {
            return Err(BrowserError::Launch {
                path,
                message: "no such file; install Debian's chromium (`cargo xtask dev` does) or set PLAYWRIGHT__EXECUTABLE_PATH".into(),
            });
        }
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(self.process_tag());
        let options = LaunchOptions::new()
            .executable_path(path.clone())
            .headless(self.settings.headless)
            .args(args)
            .timeout(self.settings.launch_timeout_ms as f64)
            .handle_sigint(false)
            .handle_sigterm(false)
            .handle_sighup(false);
        let browser = playwright
            .chromium()
            .launch_with_options(options)
            .await
            .map_err(|e| BrowserError::Launch {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let context_options = BrowserContextOptions::builder()
            .viewport(Viewport {
                width: 1200,
                height: 630,
            })
            .device_scale_factor(1.0)
            .javascript_enabled(false)
            .offline(true)
            .service_workers("block".into())
            .build();
        let context = browser
            .new_context_with_options(context_options)
            .await
            .map_err(|e| BrowserError::Launch {
                path: path.clone(),
                message: format!("new context: {e}"),
            })?;
        context
            .route("**/*", |route| async move {
                tracing::warn!(url = %route.request().url(), "blocked a network request from a card page");
                route.abort(Some("blockedbyclient")).await
            })
            .await
            .map_err(|e| BrowserError::Launch { path, message: format!("route: {e}") })?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        Ok(BrowserHandle {
            browser,
            context,
            generation,
        })
    }

    async fn driver(&self) -> Result<Arc<Playwright>, BrowserError> {
        let mut guard = self.driver.lock().await;
        if let Some(driver) = guard.as_ref() {
            return Ok(driver.clone());
        }
        let playwright = Playwright::launch().await.map_err(|e| {
            BrowserError::Driver(format!(
                "{e}; install the driver with `cargo xtask dev` or set PLAYWRIGHT_NODE_EXE and PLAYWRIGHT_CLI_JS (npm playwright-core@{})",
                playwright_rs::PLAYWRIGHT_VERSION
            ))
        })?;
        let playwright = Arc::new(playwright);
        *guard = Some(playwright.clone());
        Ok(playwright)
    }

    /// Drops a slot's browser so the next checkout relaunches it.
    async fn retire_slot(&self, slot: usize) {
        let mut guard = self.slots[slot].lock().await;
        if let Some(old) = guard.take() {
            self.restarts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(slot, "retiring browser");
            close_in_background(old);
        }
    }

    /// Closes every browser and the driver. Bounded: a frozen browser does not hold up shutdown.
    pub async fn shutdown(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        for slot in &self.slots {
            if let Some(handle) = slot.lock().await.take() {
                let _ = tokio::time::timeout(Duration::from_secs(5), handle.browser.close()).await;
            }
        }
        if let Some(driver) = self.driver.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), driver.shutdown()).await;
        }
    }
}

/// Returns a page to the pool when dropped healthy; otherwise closes it in the background.
struct PageGuard<'a> {
    pool: &'a BrowserPool,
    page: Option<PooledPage>,
    healthy: bool,
}

impl Drop for PageGuard<'_> {
    fn drop(&mut self) {
        let Some(page) = self.page.take() else { return };
        if self.healthy {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(page);
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(2), page.page.close()).await;
            });
        }
    }
}

async fn open_page(handle: &BrowserHandle) -> Result<(Page, CDPSession), BrowserError> {
    let page = handle
        .context
        .new_page()
        .await
        .map_err(|e| BrowserError::Failed(format!("new page: {e}")))?;
    let cdp = handle
        .context
        .new_cdp_session(&page)
        .await
        .map_err(|e| BrowserError::Failed(format!("cdp session: {e}")))?;
    Ok((page, cdp))
}

fn close_in_background(handle: BrowserHandle) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), handle.browser.close()).await;
        });
    }
}

/// One render on one page: load the document, wait for `load`, capture through CDP.
async fn render_on(
    page: &Page,
    cdp: &CDPSession,
    html: &str,
    format: ImageFormat,
    quality: u8,
    remaining: Duration,
) -> Result<Vec<u8>, String> {
    let options = GotoOptions::new()
        .timeout(remaining.max(Duration::from_millis(1)))
        .wait_until(WaitUntil::Load);
    page.set_content(html, options)
        .await
        .map_err(|e| format!("set content: {e}"))?;
    let mut params = serde_json::json!({
        "format": format.name(),
        "optimizeForSpeed": true,
        "captureBeyondViewport": false,
        "fromSurface": true,
        "clip": {"x": 0, "y": 0, "width": 1200, "height": 630, "scale": 1},
    });
    if format != ImageFormat::Png {
        params["quality"] = serde_json::json!(quality);
    }
    let reply = cdp
        .send("Page.captureScreenshot", Some(params))
        .await
        .map_err(|e| format!("capture: {e}"))?;
    let data = reply
        .get("result")
        .and_then(|r| r.get("data"))
        .or_else(|| reply.get("data"))
        .and_then(|d| d.as_str())
        .ok_or_else(|| "capture: reply has no data".to_string())?;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("capture: bad base64: {e}"))
}

fn next_pool_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

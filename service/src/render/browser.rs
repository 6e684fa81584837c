//! Headless Chromium through Playwright: a pool of reused pages across a few browsers.
//!
//! Architecture Invariant: pages run with JavaScript off, the context offline, and a route that
//! aborts every request, so nothing a design or a listing writes can make Chromium fetch a URL.
//! Every capture runs under our own deadline (never Playwright's 30 s default). A page that
//! failed or timed out is thrown away; a browser that disconnected (crashed, killed) is
//! relaunched and the render retried once.
//!
//! A maintenance task (started by [`BrowserPool::start_health_probe`]) probes each browser with
//! CDP `Browser.getVersion` under `PLAYWRIGHT__HEALTH_TIMEOUT_MS`, periodically and right after a
//! capture missed its deadline: a browser that does not answer (frozen, SIGSTOP) is SIGKILLed with
//! its process tree and replaced (a restart). It also recycles a browser after
//! `PLAYWRIGHT__RECYCLE_AFTER_RENDERS` renders or above `PLAYWRIGHT__RECYCLE_ABOVE_MIB` of PSS,
//! the Gotenberg way: the fresh browser takes new checkouts at once, the old one drains (pages in
//! use finish their capture) and is closed after.
//!
//! Between recycles, every 8th capture of a page tells its renderer to free what it can (CDP
//! `Memory.simulatePressureNotification`): a reused page otherwise grows by ≈ 1 MiB a card.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use playwright_rs::api::LaunchOptions;
use playwright_rs::protocol::CDPSession;
use playwright_rs::{
    Browser, BrowserContext, BrowserContextOptions, GotoOptions, Page, Playwright, Viewport,
    WaitUntil,
};
use tokio::sync::{Mutex, Notify, Semaphore};

use crate::render::ImageFormat;
use crate::render::procfs;
use crate::render::settings::PlaywrightSettings;

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
    // No spare renderer kept launched for the next navigation: pages here are long-lived, and an
    // idle spare costs ≈ 12 MiB a browser.
    // Nor a WebUI omnibox popup: Chromium preloads one per browser even headless, a renderer of
    // ≈ 50–75 MiB that never draws anything here.
    "--disable-features=NetworkPrediction,Prerender2,SpeculationRulesPrefetchProxy,SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup",
];

/// Every this many captures, a page's renderer is told to free what it can (see [`purge`]).
const PURGE_EVERY: u32 = 8;

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
    /// `--card-service-browser=TAG-GENERATION`: this browser's own marker, to find its pid.
    marker: String,
    /// Chromium's main process (the leader of its process group), when found in `/proc`.
    pid: Option<i32>,
    /// A browser-level CDP session for the health probe.
    probe: Option<CDPSession>,
    /// Captures finished on this browser (for `PLAYWRIGHT__RECYCLE_AFTER_RENDERS`).
    renders: Arc<AtomicU64>,
    /// Pages of this browser checked out now; a recycled browser closes when it reaches 0.
    in_use: Arc<AtomicUsize>,
}

/// A page checked out of the pool, with the CDP session used for capture.
struct PooledPage {
    slot: usize,
    generation: u64,
    page: Page,
    cdp: CDPSession,
    renders: Arc<AtomicU64>,
    in_use: Arc<AtomicUsize>,
    /// Captures since this page's renderer was last purged.
    since_purge: u32,
}

/// A browser being replaced while it drains, so shutdown can kill it if it is still there.
struct Draining {
    pid: Option<i32>,
    marker: String,
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
    /// Planned replacements (render count, memory ceiling), counted apart from restarts.
    recycles: AtomicU64,
    /// Renderer purges completed (see [`purge`]).
    purges: AtomicU64,
    versions: std::sync::Mutex<Option<String>>,
    /// Per slot: the last health probe failed and the browser is not replaced yet.
    unhealthy: Vec<AtomicBool>,
    /// Per slot: a recycle is due (render count reached) or running.
    recycle_due: Vec<AtomicBool>,
    /// Wakes the maintenance task early (a deadline was missed, a recycle is due).
    maintenance: Arc<Notify>,
    /// Set by a missed deadline: probe every browser now rather than at the next interval.
    probe_now: AtomicBool,
    /// Browsers replaced and still draining, by generation.
    draining: Arc<std::sync::Mutex<Vec<(u64, Draining)>>>,
    /// Pids of the Node drivers started (the parents of Chromium's main processes), so shutdown
    /// can make sure none is left (a driver is replaced when a launch through it fails).
    driver_pids: std::sync::Mutex<Vec<i32>>,
    /// Set by shutdown: the maintenance task stops and nothing is launched any more.
    closing: AtomicBool,
    /// Markers of launches in progress: their browsers are in no slot yet.
    launching: std::sync::Mutex<Vec<String>>,
    /// Markers of tagged browsers the last sweep found in no slot; killed if the next finds them
    /// again (see [`BrowserPool::sweep_strays`]).
    suspects: std::sync::Mutex<Vec<String>>,
    /// Stray browsers killed by the sweep.
    strays: AtomicU64,
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
            recycles: AtomicU64::new(0),
            purges: AtomicU64::new(0),
            versions: std::sync::Mutex::new(None),
            unhealthy: (0..browsers).map(|_| AtomicBool::new(false)).collect(),
            recycle_due: (0..browsers).map(|_| AtomicBool::new(false)).collect(),
            maintenance: Arc::new(Notify::new()),
            probe_now: AtomicBool::new(false),
            draining: Arc::default(),
            driver_pids: std::sync::Mutex::new(Vec::new()),
            closing: AtomicBool::new(false),
            launching: std::sync::Mutex::new(Vec::new()),
            suspects: std::sync::Mutex::new(Vec::new()),
            strays: AtomicU64::new(0),
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

    /// Browsers relaunched after a crash, a kill or a failed health probe since start.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Browsers replaced as planned (render count, memory ceiling) since start.
    pub fn recycles(&self) -> u64 {
        self.recycles.load(Ordering::Relaxed)
    }

    /// Stray browsers (tagged, in no slot) killed by the maintenance task since start.
    pub fn strays(&self) -> u64 {
        self.strays.load(Ordering::Relaxed)
    }

    /// Page renderers purged (every `PURGE_EVERY` captures of a page) since start.
    pub fn purges(&self) -> u64 {
        self.purges.load(Ordering::Relaxed)
    }

    /// Pids of the browsers' main processes now (slots and draining ones), for operators and tests.
    pub fn browser_pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .slots
            .iter()
            .filter_map(|slot| slot.try_lock().ok().and_then(|g| g.as_ref()?.pid))
            .collect();
        pids.extend(lock(&self.draining).iter().filter_map(|(_, d)| d.pid));
        pids
    }

    /// The Node drivers' pids seen so far (normally one), once a browser has launched.
    pub fn driver_pids(&self) -> Vec<i32> {
        lock(&self.driver_pids).clone()
    }

    /// Chromium's version, once a browser has launched.
    pub fn version(&self) -> Option<String> {
        lock(&self.versions).clone()
    }

    /// `true` when at least one browser is up, connected, and passed its last health probe.
    pub async fn is_ready(&self) -> bool {
        for (i, slot) in self.slots.iter().enumerate() {
            if let Ok(guard) = slot.try_lock() {
                if guard.as_ref().is_some_and(|h| h.browser.is_connected())
                    && !self.unhealthy[i].load(Ordering::Relaxed)
                {
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
    ///
    /// The browsers launch side by side (the driver starts once, for the first to ask): with two
    /// browsers that is ≈ 1 s sooner ready than one after the other (docs/performance.md). A
    /// browser's pages open one after another (its slot's lock). Pages that opened are kept even
    /// when another browser failed; the first error is returned.
    pub async fn warm_up(&self) -> Result<(), BrowserError> {
        let per_browser = self.settings.pages_per_browser as usize;
        let warmed = join_all(
            (0..self.slots.len())
                .map(|slot| async move {
                    let mut pages = Vec::with_capacity(per_browser);
                    for _ in 0..per_browser {
                        pages.push(self.new_page(slot).await?);
                    }
                    Ok::<_, BrowserError>(pages)
                })
                .collect(),
        )
        .await;
        let mut first_error = None;
        let mut by_browser = Vec::new();
        for result in warmed {
            match result {
                Ok(pages) => by_browser.push(pages.into_iter()),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Interleaved, so consecutive checkouts spread over the browsers.
        let mut pages = Vec::new();
        while by_browser.iter().any(|p| !p.as_slice().is_empty()) {
            pages.extend(by_browser.iter_mut().filter_map(Iterator::next));
        }
        lock(&self.idle).extend(pages);
        first_error.map_or(Ok(()), Err)
    }

    /// Renders `html` and captures it as `format`, within `deadline` (for the whole call, queueing for a page included).
    pub async fn capture(
        &self,
        html: &str,
        format: ImageFormat,
        quality: u8,
        deadline: Duration,
    ) -> Result<Captured, BrowserError> {
        let until = Instant::now() + deadline;
        match tokio::time::timeout_at(
            until.into(),
            self.capture_with_retry(html, format, quality, until),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => {
                // A frozen browser shows itself only this way: have every browser probed now.
                self.probe_now.store(true, Ordering::Relaxed);
                self.maintenance.notify_one();
                Err(BrowserError::Deadline(deadline))
            }
        }
    }

    async fn capture_with_retry(
        &self,
        html: &str,
        format: ImageFormat,
        quality: u8,
        until: Instant,
    ) -> Result<Captured, BrowserError> {
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
                .map(|p| (p.page.clone(), p.cdp.clone(), p.slot, p.renders.clone()));
            let Some((page, cdp, slot, renders)) = page else {
                continue;
            };
            let remaining = until.saturating_duration_since(Instant::now());
            match render_on(&page, &cdp, html, format, quality, remaining).await {
                Ok(captured) => {
                    guard.healthy = true;
                    if let Some(pooled) = guard.page.as_mut() {
                        pooled.since_purge += 1;
                        // Never at the cost of the deadline: a purge skipped now is done next time.
                        let left = until.saturating_duration_since(Instant::now());
                        if pooled.since_purge >= PURGE_EVERY && left > PURGE_TIMEOUT {
                            if purge(&cdp, PURGE_TIMEOUT).await {
                                self.purges.fetch_add(1, Ordering::Relaxed);
                            }
                            pooled.since_purge = 0;
                        }
                    }
                    let done = renders.fetch_add(1, Ordering::Relaxed) + 1;
                    let limit = self.settings.recycle_after_renders;
                    if limit > 0
                        && done >= limit
                        && !self.recycle_due[slot].swap(true, Ordering::AcqRel)
                    {
                        self.maintenance.notify_one();
                    }
                    return Ok(captured);
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
            let candidate = lock(&self.idle).pop();
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
                page.in_use.fetch_add(1, Ordering::AcqRel);
                return Ok(page);
            }
        }
        let slot = (self.next_slot.fetch_add(1, Ordering::Relaxed) as usize) % self.slots.len();
        let page = self.new_page(slot).await?;
        page.in_use.fetch_add(1, Ordering::AcqRel);
        Ok(page)
    }

    async fn new_page(&self, slot: usize) -> Result<PooledPage, BrowserError> {
        let mut guard = self.slots[slot].lock().await;
        if guard.as_ref().is_some_and(|h| !h.browser.is_connected())
            && let Some(old) = guard.take()
        {
            self.restarts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(slot, "browser disconnected; relaunching");
            kill_browser(&old);
            close_in_background(old);
        }
        if guard.is_none() {
            if self.closing.load(Ordering::Relaxed) {
                return Err(BrowserError::Failed("the pool is shutting down".into()));
            }
            *guard = Some(self.launch(slot).await?);
            self.unhealthy[slot].store(false, Ordering::Relaxed);
        }
        let handle = guard
            .as_ref()
            .ok_or_else(|| BrowserError::Failed("browser slot empty".into()))?;
        match open_page(handle).await {
            Ok((page, cdp)) => Ok(PooledPage::new(slot, handle, page, cdp)),
            Err(e) => {
                // The driver may not have noticed yet that the browser died (it reports the
                // disconnect asynchronously): a browser that cannot open a page is replaced now.
                tracing::warn!(slot, error = %e, "browser cannot open a page; relaunching");
                if let Some(old) = guard.take() {
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    kill_browser(&old);
                    close_in_background(old);
                }
                let handle = self.launch(slot).await?;
                let (page, cdp) = open_page(&handle).await?;
                let page = PooledPage::new(slot, &handle, page, cdp);
                *guard = Some(handle);
                self.unhealthy[slot].store(false, Ordering::Relaxed);
                Ok(page)
            }
        }
    }

    async fn launch(&self, slot: usize) -> Result<BrowserHandle, BrowserError> {
        let started = Instant::now();
        let timeout = Duration::from_millis(self.settings.launch_timeout_ms);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let marker = format!("--card-service-browser={}-{generation}", self.tag);
        lock(&self.launching).push(marker.clone());
        let launched =
            tokio::time::timeout(timeout, self.launch_inner(generation, marker.clone())).await;
        lock(&self.launching).retain(|m| *m != marker);
        if !matches!(launched, Ok(Ok(_))) {
            // A browser that started but never finished launching (frozen, stuck) is ours to kill,
            // and counts as a restart like any other browser killed to be replaced.
            for pid in procfs::pids_with_arg(&marker) {
                if procfs::kill_tree(pid, &marker) > 0 {
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(slot, pid, "killed a browser stuck in its launch");
                }
            }
        }
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
        if let Some(pid) = handle.pid
            && let Some((ppid, _, _)) = procfs::stat(pid)
        {
            let mut drivers = lock(&self.driver_pids);
            if !drivers.contains(&ppid) {
                drivers.push(ppid);
            }
        }
        tracing::info!(
            slot,
            version = handle.browser.version(),
            pid = handle.pid,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "browser launched"
        );
        *lock(&self.versions) = Some(handle.browser.version().to_string());
        Ok(handle)
    }

    async fn launch_inner(
        &self,
        generation: u64,
        marker: String,
    ) -> Result<BrowserHandle, BrowserError> {
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
        args.push(marker.clone());
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
        // The main process is the one with our marker whose parent has none (its children may
        // inherit the switches).
        let pid = procfs::pids_with_arg(&marker).into_iter().find(|pid| {
            procfs::stat(*pid).is_some_and(|(ppid, _, _)| !procfs::has_arg(ppid, &marker))
        });
        let probe = match browser.new_browser_cdp_session().await {
            Ok(session) => Some(session),
            Err(e) => {
                tracing::warn!(error = %e, "no browser CDP session; the health probe only checks the connection");
                None
            }
        };
        Ok(BrowserHandle {
            browser,
            context,
            generation,
            marker,
            pid,
            probe,
            renders: Arc::new(AtomicU64::new(0)),
            in_use: Arc::new(AtomicUsize::new(0)),
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
            kill_browser(&old);
            close_in_background(old);
        }
    }

    /// Closes every browser and the driver. Bounded: a frozen browser does not hold up shutdown,
    /// and whatever did not exit after its close (frozen, draining) is SIGKILLed with its tree.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.maintenance.notify_one();
        lock(&self.idle).clear();
        for slot in &self.slots {
            if let Some(handle) = slot.lock().await.take() {
                let _ = tokio::time::timeout(Duration::from_secs(2), handle.browser.close()).await;
                kill_browser(&handle);
            }
        }
        let draining: Vec<(u64, Draining)> = lock(&self.draining).drain(..).collect();
        for (_, d) in draining {
            if let Some(pid) = d.pid {
                procfs::kill_tree(pid, &d.marker);
            }
        }
        if let Some(driver) = self.driver.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), driver.shutdown()).await;
        }
        // A driver is Node running `cli.js run-driver`; one still there is stuck, or was replaced
        // after a failed launch and never told to exit.
        let mut waited = false;
        for pid in self.driver_pids() {
            if !procfs::has_arg(pid, "run-driver") {
                continue;
            }
            if !waited {
                tokio::time::sleep(Duration::from_millis(200)).await;
                waited = true;
            }
            if procfs::has_arg(pid, "run-driver") {
                tracing::warn!(pid, "a Playwright driver did not exit; killing it");
                procfs::kill_tree(pid, "run-driver");
            }
        }
        // Last, every process still carrying this pool's tag: a browser whose launch timed out
        // before it existed and that an abandoned driver finished starting, or one whose pid was
        // never learned.
        let killed = self.kill_tagged();
        if killed > 0 {
            tracing::warn!(killed, "browsers outlived their close; killed them");
        }
    }

    /// SIGKILLs every browser carrying this pool's tag, with its process tree, now. The tag is on
    /// each browser's command line, so this misses none of ours and touches nothing else. Returns
    /// how many browsers were killed. Synchronous, for the last resort of a shutdown (and of a
    /// test harness whose runtime is ending).
    pub fn kill_tagged(&self) -> usize {
        let tag = self.process_tag();
        procfs::pids_with_arg(&tag)
            .into_iter()
            .filter(|pid| procfs::kill_tree(*pid, &tag) > 0)
            .count()
    }

    /// Starts the maintenance task: health probes, kills of frozen browsers, recycling. It holds
    /// only a weak reference, and ends with [`BrowserPool::shutdown`] or when the pool is dropped.
    pub fn start_health_probe(self: &Arc<Self>) {
        let pool = Arc::downgrade(self);
        let interval = Duration::from_millis(self.settings.health_interval_ms);
        let wake = self.maintenance.clone();
        tokio::spawn(async move {
            loop {
                // Wait for the next tick or an early wake-up, without keeping the pool alive.
                let notified = wake.notified();
                if interval.is_zero() {
                    notified.await;
                } else {
                    let _ = tokio::time::timeout(interval, notified).await;
                }
                let Some(strong) = pool.upgrade() else { return };
                if strong.closing.load(Ordering::Relaxed) {
                    return;
                }
                let periodic = !interval.is_zero();
                strong.maintain(periodic).await;
            }
        });
    }

    /// One round: recycle what is due, probe (every tick, or now after a missed deadline), and
    /// replace what failed its probe or outgrew the memory ceiling.
    async fn maintain(&self, periodic: bool) {
        let probe = self.probe_now.swap(false, Ordering::Relaxed) || periodic;
        for slot in 0..self.slots.len() {
            if self.closing.load(Ordering::Relaxed) {
                return;
            }
            if self.recycle_due[slot].load(Ordering::Acquire) {
                self.recycle(slot, "render count").await;
                continue;
            }
            if !probe {
                continue;
            }
            let target = {
                let guard = self.slots[slot].lock().await;
                guard.as_ref().map(|h| {
                    (
                        h.generation,
                        h.probe.clone(),
                        h.pid,
                        h.browser.is_connected(),
                    )
                })
            };
            let Some((generation, session, pid, connected)) = target else {
                continue;
            };
            let timeout = Duration::from_millis(self.settings.health_timeout_ms);
            let answered = connected
                && match session {
                    Some(session) => matches!(
                        tokio::time::timeout(timeout, session.send("Browser.getVersion", None))
                            .await,
                        Ok(Ok(_))
                    ),
                    None => true,
                };
            if !answered {
                self.unhealthy[slot].store(true, Ordering::Relaxed);
                tracing::warn!(
                    slot,
                    ?timeout,
                    "browser failed its health probe; killing and relaunching it"
                );
                self.restart(slot, generation).await;
                continue;
            }
            let ceiling = self.settings.recycle_above_mib;
            if ceiling > 0
                && let Some(pid) = pid
            {
                let mib = procfs::tree_pss_kib(pid) / 1024;
                if mib > ceiling {
                    tracing::info!(
                        slot,
                        mib,
                        ceiling,
                        "browser above its memory ceiling; recycling it"
                    );
                    self.recycle_due[slot].store(true, Ordering::Release);
                    self.recycle(slot, "memory ceiling").await;
                }
            }
        }
        if periodic && !self.closing.load(Ordering::Relaxed) {
            self.sweep_strays();
        }
    }

    /// Kills this pool's browsers that belong to no slot, no drain and no launch in progress: one
    /// an abandoned driver finished starting after its launch timed out, which would otherwise
    /// hold its memory until shutdown. A browser must be found astray by two sweeps in a row (one
    /// probe interval apart) before it is killed, so one between its launch and its slot is safe.
    fn sweep_strays(&self) {
        let tagged = procfs::pids_with_arg(&self.process_tag());
        let mut known: Vec<String> = lock(&self.launching).clone();
        known.extend(lock(&self.draining).iter().map(|(_, d)| d.marker.clone()));
        for slot in &self.slots {
            // A slot in use (a checkout, a launch) is looked at next time.
            let Ok(guard) = slot.try_lock() else { return };
            known.extend(guard.as_ref().map(|h| h.marker.clone()));
        }
        let mut suspects = lock(&self.suspects);
        let mut now_suspect = Vec::new();
        for pid in tagged {
            let Some(marker) = procfs::arg_with_prefix(pid, "--card-service-browser=") else {
                continue;
            };
            if known.contains(&marker) {
                continue;
            }
            if !suspects.contains(&marker) {
                now_suspect.push(marker);
            } else if procfs::kill_tree(pid, &marker) > 0 {
                self.strays.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(pid, %marker, "killed a browser that belongs to no slot");
            }
        }
        *suspects = now_suspect;
    }

    /// Replaces a browser that failed its probe: SIGKILL its tree (a frozen browser cannot close),
    /// then launch a fresh one. Pages checked out on it fail and their requests retry or time out.
    async fn restart(&self, slot: usize, generation: u64) {
        let mut guard = self.slots[slot].lock().await;
        if guard.as_ref().is_none_or(|h| h.generation != generation) {
            return;
        }
        if let Some(old) = guard.take() {
            self.restarts.fetch_add(1, Ordering::Relaxed);
            kill_browser(&old);
            close_in_background(old);
        }
        self.purge_idle(generation);
        if self.closing.load(Ordering::Relaxed) {
            return;
        }
        match self.launch(slot).await {
            Ok(handle) => {
                *guard = Some(handle);
                self.unhealthy[slot].store(false, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(slot, error = %e, "relaunch after a failed probe failed; the next checkout retries")
            }
        }
    }

    /// A planned replacement: launch the new browser first (the old one keeps serving meanwhile),
    /// swap it in so new checkouts get it, and close the old one once its pages in use are back.
    async fn recycle(&self, slot: usize, reason: &'static str) {
        let fresh = match self.launch(slot).await {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(slot, error = %e, "recycle: the new browser did not launch; keeping the old one");
                self.recycle_due[slot].store(false, Ordering::Release);
                return;
            }
        };
        let old = {
            let mut guard = self.slots[slot].lock().await;
            if self.closing.load(Ordering::Relaxed) {
                drop(guard);
                kill_browser(&fresh);
                close_in_background(fresh);
                return;
            }
            guard.replace(fresh)
        };
        self.unhealthy[slot].store(false, Ordering::Relaxed);
        self.recycle_due[slot].store(false, Ordering::Release);
        let Some(old) = old else { return };
        self.recycles.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            slot,
            reason,
            renders = old.renders.load(Ordering::Relaxed),
            "browser recycled; the old one drains"
        );
        self.purge_idle(old.generation);
        lock(&self.draining).push((
            old.generation,
            Draining {
                pid: old.pid,
                marker: old.marker.clone(),
            },
        ));
        // Long enough for any capture that was running on it to finish or miss its deadline.
        // In its own task, so the maintenance loop keeps probing the other browsers meanwhile.
        let patience =
            Duration::from_millis(self.settings.browser_timeout_ms) + Duration::from_secs(2);
        let draining = self.draining.clone();
        tokio::spawn(async move {
            let drained = async {
                while old.in_use.load(Ordering::Acquire) > 0 {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            };
            if tokio::time::timeout(patience, drained).await.is_err() {
                tracing::warn!(
                    slot,
                    "a recycled browser still had pages in use; closing it anyway"
                );
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), old.browser.close()).await;
            kill_browser(&old);
            lock(&draining).retain(|(g, _)| *g != old.generation);
        });
    }

    /// Drops idle pages of a replaced browser (they close with it).
    fn purge_idle(&self, generation: u64) {
        lock(&self.idle).retain(|p| p.generation != generation);
    }
}

impl PooledPage {
    /// A page of `handle`, not yet counted as checked out (`checkout` counts it).
    fn new(slot: usize, handle: &BrowserHandle, page: Page, cdp: CDPSession) -> Self {
        Self {
            slot,
            generation: handle.generation,
            page,
            cdp,
            renders: handle.renders.clone(),
            in_use: handle.in_use.clone(),
            since_purge: 0,
        }
    }
}

/// SIGKILL to a browser's process tree, if it is still there (no-op once it exited).
fn kill_browser(handle: &BrowserHandle) {
    if let Some(pid) = handle.pid {
        let killed = procfs::kill_tree(pid, &handle.marker);
        if killed > 0 {
            tracing::debug!(pid, killed, "killed a browser's processes");
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
        page.in_use.fetch_sub(1, Ordering::AcqRel);
        if self.healthy {
            lock(&self.pool.idle).push(page);
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

/// The longest a purge may take; one that takes longer is abandoned (the page stays usable).
const PURGE_TIMEOUT: Duration = Duration::from_millis(500);

/// Tells a page's renderer to free what it can, as under critical memory pressure: decoded
/// images, Blink's caches and V8's garbage. A reused page otherwise grows by ≈ 1 MiB a card
/// (measured: four page renderers at 240–280 MiB of PSS each after 200 cards, 55–90 MiB with a
/// purge). Best effort: whether it completed; a failure is only logged.
async fn purge(cdp: &CDPSession, within: Duration) -> bool {
    let params = serde_json::json!({"level": "critical"});
    let sent = tokio::time::timeout(
        within,
        cdp.send("Memory.simulatePressureNotification", Some(params)),
    )
    .await;
    let done = matches!(sent, Ok(Ok(_)));
    if !done {
        tracing::debug!(?sent, "renderer purge did not complete");
    }
    done
}

/// What a capture returns: the encoded image, and how long the screenshot itself took (the rest of
/// the call was waiting for a page and loading the document into it).
#[derive(Debug)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub screenshot: Duration,
}

/// One render on one page: load the document, wait for `load`, capture through CDP.
async fn render_on(
    page: &Page,
    cdp: &CDPSession,
    html: &str,
    format: ImageFormat,
    quality: u8,
    remaining: Duration,
) -> Result<Captured, String> {
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
    let started = Instant::now();
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
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("capture: bad base64: {e}"))?;
    Ok(Captured {
        bytes,
        screenshot: started.elapsed(),
    })
}

/// Drives every future to completion concurrently on this task (the one place the pool needs a
/// `join_all`; not worth a `futures` dependency).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A std mutex's guard, poisoned or not: what these lists hold stays valid across a panic.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn next_pool_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod join_tests {
    use super::*;

    #[tokio::test]
    async fn join_all_runs_futures_side_by_side_and_keeps_their_order() {
        // The first future can only finish once the second has run: one after the other would
        // never end (the timeout only turns that hang into a failure).
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let tx = std::sync::Mutex::new(Some(tx));
        let futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = u8> + Send>>> = vec![
            Box::pin(async move { rx.await.unwrap_or(0) + 1 }),
            Box::pin(async move {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(41);
                }
                7
            }),
        ];
        let outputs = tokio::time::timeout(Duration::from_secs(10), join_all(futures))
            .await
            .expect("join_all polled one future at a time");
        assert_eq!(outputs, [42, 7]);
    }
}

//! Launching one browser: the Playwright driver (started once, replaced after a failed launch),
//! Chromium with the flags below under its markers, its one context (offline, JavaScript off,
//! every request aborted), its main process found in `/proc`, and a CDP session for the probe.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use playwright_rs::api::LaunchOptions;
use playwright_rs::protocol::CDPSession;
use playwright_rs::{Browser, BrowserContext, BrowserContextOptions, Playwright, Viewport};

use super::processes::{self, Processes};
use super::{BrowserError, Counters, lock};
use crate::render::settings::PlaywrightSettings;
use crate::render::{CARD_SIZE, procfs};

/// Chromium flags that work as root on a closed network (see docs/operations.md). What the
/// memory flags saved is measured in docs/performance.md ("Levers").
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
    // idle spare costs memory in every browser.
    // Nor a WebUI omnibox popup: Chromium preloads one per browser even headless, a whole
    // renderer that never draws anything here.
    "--disable-features=NetworkPrediction,Prerender2,SpeculationRulesPrefetchProxy,SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup",
];

/// One Chromium process and its single context.
pub(super) struct BrowserHandle {
    pub(super) browser: Browser,
    pub(super) context: BrowserContext,
    pub(super) generation: u64,
    /// `--card-service-browser=TAG-GENERATION`: this browser's own marker, to find its pid.
    pub(super) marker: String,
    /// Chromium's main process (the leader of its process group), when found in `/proc`.
    pub(super) pid: Option<i32>,
    /// A browser-level CDP session for the health probe.
    pub(super) probe: Option<CDPSession>,
    /// Captures finished on this browser (for `PLAYWRIGHT__RECYCLE_AFTER_RENDERS`).
    pub(super) renders: Arc<AtomicU64>,
    /// Pages of this browser checked out now; a recycled browser closes when it reaches 0.
    pub(super) in_use: Arc<AtomicUsize>,
}

impl BrowserHandle {
    /// SIGKILL to this browser's process tree, if it is still there.
    pub(super) fn kill(&self) {
        processes::kill_browser(self.pid, &self.marker);
    }

    /// Asks the browser to close, without waiting for it (bounded: a frozen one never answers).
    pub(super) fn close_in_background(self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.close()).await;
            });
        }
    }
}

/// Starts the driver and launches browsers, one at a time per slot.
pub(super) struct Launcher {
    executable: PathBuf,
    headless: bool,
    /// `PLAYWRIGHT__LAUNCH_TIMEOUT_MS`: for the driver and one browser together.
    timeout: Duration,
    driver: tokio::sync::Mutex<Option<Arc<Playwright>>>,
    /// The next browser's generation: tells a replaced browser's pages from the current one's.
    generation: AtomicU64,
    /// Chromium's version, once a browser has launched.
    version: Mutex<Option<String>>,
}

impl Launcher {
    pub(super) fn new(settings: &PlaywrightSettings) -> Self {
        Self {
            executable: settings.executable_path.clone(),
            headless: settings.headless,
            timeout: Duration::from_millis(settings.launch_timeout_ms),
            driver: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(1),
            version: Mutex::new(None),
        }
    }

    pub(super) fn version(&self) -> Option<String> {
        lock(&self.version).clone()
    }

    /// Launches the browser for `slot` within `PLAYWRIGHT__LAUNCH_TIMEOUT_MS`. A browser that
    /// started but never finished launching (frozen, stuck) is killed and counts as a restart,
    /// like any other browser killed to be replaced; after a failure the driver is started
    /// afresh next time (it may be the one that is gone).
    pub(super) async fn launch(
        &self,
        slot: usize,
        processes: &Processes,
        counters: &Counters,
    ) -> Result<BrowserHandle, BrowserError> {
        let started = Instant::now();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let marker = processes.tag().browser_arg(generation);
        processes.launch_started(&marker);
        let launched = tokio::time::timeout(
            self.timeout,
            self.start(generation, marker.clone(), processes.tag().pool_arg()),
        )
        .await;
        processes.launch_ended(&marker);
        if !matches!(launched, Ok(Ok(_))) {
            for pid in procfs::pids_with_arg(&marker) {
                if procfs::kill_tree(pid, &marker) > 0 {
                    counters.restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(slot, pid, "killed a browser stuck in its launch");
                }
            }
        }
        let handle = match launched {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                *self.driver.lock().await = None;
                return Err(e);
            }
            Err(_) => {
                *self.driver.lock().await = None;
                return Err(timed_out(&self.executable, self.timeout));
            }
        };
        if let Some(pid) = handle.pid {
            processes.remember_driver_of(pid);
        }
        tracing::info!(
            slot,
            version = handle.browser.version(),
            pid = handle.pid,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "browser launched"
        );
        *lock(&self.version) = Some(handle.browser.version().to_string());
        Ok(handle)
    }

    /// Launch proper, without the deadline: Chromium, its context and route, its pid, its probe.
    async fn start(
        &self,
        generation: u64,
        marker: String,
        pool_arg: String,
    ) -> Result<BrowserHandle, BrowserError> {
        let playwright = self.driver().await?;
        check_executable(&self.executable)?;
        let path = self.executable.display().to_string();
        let options = LaunchOptions::new()
            .executable_path(path.clone())
            .headless(self.headless)
            .args(chromium_args(pool_arg, marker.clone()))
            .timeout(self.timeout.as_millis() as f64)
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
                width: CARD_SIZE.width,
                height: CARD_SIZE.height,
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
        let pid = processes::main_process(&marker);
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

    /// The driver, started on first use (for the first browser to ask when several launch).
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

    /// Shuts the driver down, if one runs (bounded: 5 s).
    pub(super) async fn shutdown_driver(&self) {
        if let Some(driver) = self.driver.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), driver.shutdown()).await;
        }
    }
}

/// Chromium's command line: our flags, then the pool's tag and the browser's own marker.
fn chromium_args(pool_arg: String, marker: String) -> Vec<String> {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
    args.push(pool_arg);
    args.push(marker);
    args
}

/// Refuses an executable that is not there, saying how to get one.
fn check_executable(path: &Path) -> Result<(), BrowserError> {
    if path.exists() {
        return Ok(());
    }
    Err(BrowserError::Launch {
        path: path.display().to_string(),
        message: "no such file; install Debian's chromium (`cargo xtask dev` does) or set PLAYWRIGHT__EXECUTABLE_PATH".into(),
    })
}

/// The error of a launch that missed `PLAYWRIGHT__LAUNCH_TIMEOUT_MS`: a launch error naming the
/// setting, so an operator knows which one to raise.
fn timed_out(path: &Path, timeout: Duration) -> BrowserError {
    BrowserError::Launch {
        path: path.display().to_string(),
        message: format!("no answer within PLAYWRIGHT__LAUNCH_TIMEOUT_MS ({timeout:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_gets_the_pool_tag_and_its_marker_after_our_flags() {
        let args = chromium_args(
            "--card-service-pool=1-2".into(),
            "--card-service-browser=1-2-3".into(),
        );
        assert_eq!(args.len(), CHROMIUM_ARGS.len() + 2);
        assert_eq!(
            args[CHROMIUM_ARGS.len()..],
            ["--card-service-pool=1-2", "--card-service-browser=1-2-3"]
        );
        // The network invariant's defence in depth: no connection leaves, loopback included.
        assert!(args.contains(&"--proxy-server=http://0.0.0.0:0".to_string()));
        assert!(args.contains(&"--proxy-bypass-list=<-loopback>".to_string()));
    }

    #[test]
    fn a_missing_executable_is_a_launch_error_that_says_how_to_fix_it() {
        let path = Path::new("/nonexistent/chromium");
        match check_executable(path) {
            Err(BrowserError::Launch { path, message }) => {
                assert_eq!(path, "/nonexistent/chromium");
                assert!(message.contains("PLAYWRIGHT__EXECUTABLE_PATH"), "{message}");
            }
            other => panic!("expected a launch error, got {other:?}"),
        }
        let me = std::env::current_exe().expect("the test binary has a path");
        assert!(check_executable(&me).is_ok());
    }

    #[test]
    fn a_launch_past_its_timeout_names_the_setting() {
        let err = timed_out(Path::new("/usr/bin/chromium"), Duration::from_millis(1500));
        assert_eq!(
            err.to_string(),
            "could not launch Chromium at /usr/bin/chromium: no answer within \
             PLAYWRIGHT__LAUNCH_TIMEOUT_MS (1.5s)"
        );
    }
}

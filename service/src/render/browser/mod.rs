//! Headless Chromium through Playwright: a pool of reused pages across a few browsers.
//!
//! Architecture Invariant: pages run with JavaScript off, the context offline, and a route that
//! aborts every request, so nothing a design or a listing writes can make Chromium fetch a URL.
//! Every capture runs under our own deadline (never Playwright's 30 s default). A page that
//! failed or timed out is thrown away; a browser that disconnected (crashed, killed) is
//! relaunched and the render retried once.
//!
//! [`BrowserPool`] is the public face; it is made of parts, each in its own file:
//! - `capture.rs`: the capture path: a page out of the pool, one render on it, the page back or
//!   thrown away; every 8th capture of a page purges its renderer (CDP
//!   `Memory.simulatePressureNotification`), which keeps reused pages from growing.
//! - `launch.rs`: the Playwright driver and one browser's launch: flags, context, network route.
//! - `maintenance.rs`: the maintenance task: health probes, restarts of frozen browsers,
//!   recycling by render count or memory, the stray sweep's rounds.
//! - `inspect.rs`: the render checks' view of a card (layout snapshot, fonts, PNG) on at most
//!   half the pages.
//! - `processes.rs`: the pool's processes in `/proc`: the tag and markers on their command
//!   lines, launches and drains in progress, which tagged browser is a stray, the kills.
//!
//! Here: the slots (one browser each), the counters, warm-up, the deadline of a capture and
//! shutdown.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::render::ImageFormat;
use crate::render::settings::PlaywrightSettings;

mod capture;
mod inspect;
mod launch;
mod maintenance;
mod processes;

use capture::Pages;
pub(crate) use inspect::Inspection;
use launch::{BrowserHandle, Launcher};
use maintenance::Maintenance;
use processes::Processes;

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

/// What a capture returns: the encoded image, and how long the screenshot itself took (the rest of
/// the call was waiting for a page and loading the document into it).
#[derive(Debug)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub(crate) screenshot: Duration,
}

pub struct BrowserPool {
    settings: PlaywrightSettings,
    /// One per browser (`PLAYWRIGHT__MAX_CONCURRENT_BROWSERS`).
    slots: Vec<Slot>,
    /// The idle pages, and one permit per page.
    pages: Pages,
    /// Render checks hold one of these besides a page permit: at most half the pages (at least
    /// one), so an upload's checks leave the rest to live traffic.
    checks: tokio::sync::Semaphore,
    /// Starts the driver and each browser.
    launcher: Launcher,
    /// The pool's processes outside the slots, and the tag that finds all of them.
    processes: Processes,
    /// Wakes the maintenance task early.
    maintenance: Maintenance,
    counters: Counters,
    /// Set by shutdown: the maintenance task stops and nothing is launched any more.
    closing: AtomicBool,
}

/// A place for one browser.
struct Slot {
    /// The browser, while one runs; locked while it is being (re)launched or a page opened on it.
    browser: Mutex<Option<BrowserHandle>>,
    /// The last health probe failed and the browser is not replaced yet.
    unhealthy: AtomicBool,
    /// A recycle is due (render count reached) or running.
    recycle_due: AtomicBool,
    /// The main process of the browser last launched for this slot (0: none yet), readable while
    /// `browser` is locked: a capture stuck on a frozen browser holds that lock.
    pid: AtomicI32,
}

/// What the pool counts since start, for `/metrics`, `/readyz` and the tests.
#[derive(Default)]
struct Counters {
    /// Browsers relaunched after a crash, a kill or a failed health probe, or killed stuck in
    /// their launch.
    restarts: AtomicU64,
    /// Planned replacements (render count, memory ceiling), counted apart from restarts.
    recycles: AtomicU64,
    /// Renderer purges completed.
    purges: AtomicU64,
    /// Stray browsers killed by the sweep.
    strays: AtomicU64,
}

impl BrowserPool {
    pub fn new(settings: PlaywrightSettings) -> Self {
        let browsers = settings.max_concurrent_browsers as usize;
        let pages = browsers * settings.pages_per_browser as usize;
        Self {
            slots: (0..browsers)
                .map(|_| Slot {
                    browser: Mutex::new(None),
                    unhealthy: AtomicBool::new(false),
                    recycle_due: AtomicBool::new(false),
                    pid: AtomicI32::new(0),
                })
                .collect(),
            pages: Pages::new(pages),
            // `check_pages_busy` counts from the same bound.
            checks: tokio::sync::Semaphore::new((pages / 2).max(1)),
            launcher: Launcher::new(&settings),
            processes: Processes::new(),
            maintenance: Maintenance::new(),
            counters: Counters::default(),
            closing: AtomicBool::new(false),
            settings,
        }
    }

    /// The marker on this pool's Chromium command lines, so operators and tests can find them.
    pub fn process_tag(&self) -> String {
        self.processes.tag().pool_arg()
    }

    /// Capacity: pages that can capture at once.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len() * self.settings.pages_per_browser as usize
    }

    /// Pages capturing now (their permits are taken).
    pub(crate) fn pages_busy(&self) -> usize {
        self.capacity()
            .saturating_sub(self.pages.permits.available_permits())
    }

    /// Pages the render checks hold now (of at most half the pool).
    pub(crate) fn check_pages_busy(&self) -> usize {
        (self.capacity() / 2)
            .max(1)
            .saturating_sub(self.checks.available_permits())
    }

    /// Browsers relaunched after a crash, a kill or a failed health probe since start.
    pub fn restarts(&self) -> u64 {
        self.counters.restarts.load(Ordering::Relaxed)
    }

    /// Browsers replaced as planned (render count, memory ceiling) since start.
    pub fn recycles(&self) -> u64 {
        self.counters.recycles.load(Ordering::Relaxed)
    }

    /// Stray browsers (tagged, in no slot) killed by the maintenance task since start.
    pub fn strays(&self) -> u64 {
        self.counters.strays.load(Ordering::Relaxed)
    }

    /// Page renderers purged (every 8th capture of a page) since start.
    pub fn purges(&self) -> u64 {
        self.counters.purges.load(Ordering::Relaxed)
    }

    /// Pids of the browsers' main processes (the last launched for each slot, and draining ones),
    /// for operators and tests; never blocks on a slot in use.
    pub fn browser_pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .slots
            .iter()
            .map(|slot| slot.pid.load(Ordering::Relaxed))
            .filter(|&pid| pid > 0)
            .collect();
        pids.extend(self.processes.draining_pids());
        pids
    }

    /// The Node drivers' pids seen so far (normally one), once a browser has launched.
    pub fn driver_pids(&self) -> Vec<i32> {
        self.processes.driver_pids()
    }

    /// Chromium's version, once a browser has launched.
    pub fn version(&self) -> Option<String> {
        self.launcher.version()
    }

    /// `true` when at least one browser is up, connected, and passed its last health probe.
    pub(crate) async fn is_ready(&self) -> bool {
        for slot in &self.slots {
            if let Ok(guard) = slot.browser.try_lock() {
                if guard.as_ref().is_some_and(|h| h.browser.is_connected())
                    && !slot.unhealthy.load(Ordering::Relaxed)
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
    /// The browsers launch side by side (the driver starts once, for the first to ask), which
    /// makes two browsers ready about as soon as one (docs/performance.md, "Start-up"). A
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
                Ok(pages) => by_browser.push(pages),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        self.pages.put_idle(interleave(by_browser));
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
                self.maintenance.deadline_missed();
                Err(BrowserError::Deadline(deadline))
            }
        }
    }

    /// Closes every browser and the driver. Bounded: a frozen browser does not hold up shutdown,
    /// and whatever did not exit after its close (frozen, draining) is SIGKILLed with its tree.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.maintenance.wake();
        self.pages.clear();
        for slot in &self.slots {
            slot.pid.store(0, Ordering::Relaxed);
            if let Some(handle) = slot.browser.lock().await.take() {
                let _ = tokio::time::timeout(Duration::from_secs(2), handle.browser.close()).await;
                handle.kill();
            }
        }
        self.processes.kill_draining();
        self.launcher.shutdown_driver().await;
        self.processes.kill_leftover_drivers().await;
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
        self.processes.kill_tagged()
    }

    /// Launches the browser for `slot` (it is not in the slot yet).
    async fn launch(&self, slot: usize) -> Result<BrowserHandle, BrowserError> {
        let handle = self
            .launcher
            .launch(slot, &self.processes, &self.counters)
            .await?;
        self.slots[slot]
            .pid
            .store(handle.pid.unwrap_or(0), Ordering::Relaxed);
        Ok(handle)
    }

    /// Gets rid of a browser taken out of its slot to be replaced (crashed, frozen, unusable):
    /// counted as a restart, SIGKILLed with its tree, and asked to close in the background.
    fn discard(&self, old: BrowserHandle) {
        self.counters.restarts.fetch_add(1, Ordering::Relaxed);
        old.kill();
        old.close_in_background();
    }
}

/// The browsers' pages in one list, alternating browsers, so consecutive checkouts (from the end)
/// spread over the browsers.
fn interleave<T>(by_browser: Vec<Vec<T>>) -> Vec<T> {
    let mut by_browser: Vec<_> = by_browser.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    while by_browser.iter().any(|p| !p.as_slice().is_empty()) {
        out.extend(by_browser.iter_mut().filter_map(Iterator::next));
    }
    out
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

/// A std mutex's guard, poisoned or not: what the pool's lists hold stays valid across a panic.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn warmed_pages_alternate_browsers_whatever_their_count() {
        assert_eq!(
            interleave(vec![vec!["a1", "a2"], vec!["b1", "b2"]]),
            ["a1", "b1", "a2", "b2"]
        );
        // A browser that opened fewer pages (or failed: none) leaves the others in order.
        assert_eq!(
            interleave(vec![vec!["a1", "a2", "a3"], vec![], vec!["c1"]]),
            ["a1", "c1", "a2", "a3"]
        );
        assert_eq!(interleave(Vec::<Vec<u8>>::new()), Vec::<u8>::new());
    }

    /// Settings that would launch Chromium if anything tried (nothing here does).
    fn pool() -> BrowserPool {
        BrowserPool::new(PlaywrightSettings::default())
    }

    #[tokio::test]
    async fn a_capture_that_waits_past_its_deadline_is_a_deadline_error_and_asks_for_a_probe() {
        let pool = pool();
        // Every page busy: the capture can only queue.
        let permits = pool.capacity() as u32;
        let _busy = pool.pages.permits().acquire_many(permits).await;
        let deadline = Duration::from_millis(50);
        let err = pool
            .capture("<p>x", ImageFormat::Png, 85, deadline)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BrowserError::Deadline(d) if d == deadline),
            "{err}"
        );
        assert!(pool.maintenance.probe_requested());
    }

    #[tokio::test]
    async fn after_shutdown_a_capture_fails_at_once_without_launching() {
        let pool = pool();
        pool.shutdown().await;
        let err = pool
            .capture("<p>x", ImageFormat::Png, 85, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BrowserError::Failed(m) if m == "the pool is shutting down"),
            "{err}"
        );
        assert_eq!(pool.version(), None, "a browser was launched");
        assert_eq!(pool.restarts(), 0);
    }
}

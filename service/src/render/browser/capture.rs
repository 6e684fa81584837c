//! The capture path: a page out of the pool (an idle one of a current browser, or a new one), one
//! render on it within what is left of the caller's deadline, retried once on another page, and
//! the page back for the next card, or thrown away when it failed or was cut off.
//!
//! Every [`PURGE_EVERY`]th capture of a page tells its renderer to free what it can: a reused
//! page otherwise keeps growing (measured in docs/performance.md, "Levers").

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use playwright_rs::protocol::CDPSession;
use playwright_rs::{GotoOptions, Page, WaitUntil};
use tokio::sync::Semaphore;

use super::launch::BrowserHandle;
use super::{BrowserError, BrowserPool, Captured, lock, maintenance};
use crate::render::{CARD_SIZE, ImageFormat};

/// Every this many captures, a page's renderer is told to free what it can (see [`purge`]).
const PURGE_EVERY: u32 = 8;

/// The longest a purge may take; one that takes longer is abandoned (the page stays usable).
const PURGE_TIMEOUT: Duration = Duration::from_millis(500);

/// The pool's pages: the idle ones, and one permit per page.
pub(super) struct Pages {
    idle: Mutex<Vec<PooledPage>>,
    /// At most browsers × pages captures at once.
    pub(super) permits: Semaphore,
    /// Round robin over the slots for a new page.
    next_slot: AtomicU64,
}

impl Pages {
    pub(super) fn new(count: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(count),
            next_slot: AtomicU64::new(0),
        }
    }

    /// Makes `pages` available to the next checkouts (the last one first).
    pub(super) fn put_idle(&self, pages: impl IntoIterator<Item = PooledPage>) {
        lock(&self.idle).extend(pages);
    }

    /// Drops the idle pages of a replaced browser (they close with it).
    pub(super) fn drop_idle_of(&self, generation: u64) {
        lock(&self.idle).retain(|p| p.generation != generation);
    }

    /// Drops every idle page (shutdown: they close with their browsers).
    pub(super) fn clear(&self) {
        lock(&self.idle).clear();
    }

    #[cfg(test)]
    pub(super) fn permits(&self) -> &Semaphore {
        &self.permits
    }
}

/// A page checked out of the pool, with the CDP session used for capture.
pub(super) struct PooledPage {
    slot: usize,
    generation: u64,
    pub(super) page: Page,
    pub(super) cdp: CDPSession,
    renders: Arc<AtomicU64>,
    in_use: Arc<AtomicUsize>,
    /// Captures since this page's renderer was last purged.
    since_purge: u32,
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

impl BrowserPool {
    /// A capture with a page of the pool, retried once (on another page, a relaunched browser if
    /// this one disconnected); the caller bounds it with the deadline `until`.
    pub(super) async fn capture_with_retry(
        &self,
        html: &str,
        format: ImageFormat,
        quality: u8,
        until: Instant,
    ) -> Result<Captured, BrowserError> {
        let _permit = self
            .pages
            .permits
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
                pages: &self.pages,
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
                        let left = until.saturating_duration_since(Instant::now());
                        if purge_due(pooled.since_purge, left) {
                            if purge(&cdp, PURGE_TIMEOUT).await {
                                self.counters.purges.fetch_add(1, Ordering::Relaxed);
                            }
                            pooled.since_purge = 0;
                        }
                    }
                    let done = renders.fetch_add(1, Ordering::Relaxed) + 1;
                    if maintenance::due_by_count(done, self.settings.recycle_after_renders)
                        && !self.slots[slot].recycle_due.swap(true, Ordering::AcqRel)
                    {
                        self.maintenance.wake();
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
            .browser
            .lock()
            .await
            .as_ref()
            .is_some_and(|h| h.browser.is_connected())
    }

    /// An idle page whose browser is still the current one, or a new page.
    pub(super) async fn checkout(&self) -> Result<PooledPage, BrowserError> {
        loop {
            let candidate = lock(&self.pages.idle).pop();
            let Some(page) = candidate else { break };
            if page.page.is_closed() {
                continue;
            }
            let current = self.slots[page.slot]
                .browser
                .lock()
                .await
                .as_ref()
                .map(|h| (h.generation, h.browser.is_connected()));
            if current == Some((page.generation, true)) {
                page.in_use.fetch_add(1, Ordering::AcqRel);
                return Ok(page);
            }
        }
        let next = self.pages.next_slot.fetch_add(1, Ordering::Relaxed) as usize;
        let slot = next % self.slots.len();
        let page = self.new_page(slot).await?;
        page.in_use.fetch_add(1, Ordering::AcqRel);
        Ok(page)
    }

    /// A new page on `slot`'s browser, launching (or relaunching) the browser when needed.
    pub(super) async fn new_page(&self, slot: usize) -> Result<PooledPage, BrowserError> {
        let mut guard = self.slots[slot].browser.lock().await;
        if guard.as_ref().is_some_and(|h| !h.browser.is_connected())
            && let Some(old) = guard.take()
        {
            tracing::warn!(slot, "browser disconnected; relaunching");
            self.discard(old);
        }
        if guard.is_none() {
            if self.closing.load(Ordering::Relaxed) {
                return Err(BrowserError::Failed("the pool is shutting down".into()));
            }
            *guard = Some(self.launch(slot).await?);
            self.slots[slot].unhealthy.store(false, Ordering::Relaxed);
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
                    self.discard(old);
                }
                let handle = self.launch(slot).await?;
                let (page, cdp) = open_page(&handle).await?;
                let page = PooledPage::new(slot, &handle, page, cdp);
                *guard = Some(handle);
                self.slots[slot].unhealthy.store(false, Ordering::Relaxed);
                Ok(page)
            }
        }
    }

    /// Drops a slot's browser so the next checkout relaunches it.
    async fn retire_slot(&self, slot: usize) {
        let mut guard = self.slots[slot].browser.lock().await;
        if let Some(old) = guard.take() {
            tracing::warn!(slot, "retiring browser");
            self.discard(old);
        }
    }
}

/// Returns a page to the pool when dropped healthy; otherwise closes it in the background.
pub(super) struct PageGuard<'a> {
    pub(super) pages: &'a Pages,
    pub(super) page: Option<PooledPage>,
    pub(super) healthy: bool,
}

impl Drop for PageGuard<'_> {
    fn drop(&mut self) {
        let Some(page) = self.page.take() else { return };
        page.in_use.fetch_sub(1, Ordering::AcqRel);
        if self.healthy {
            lock(&self.pages.idle).push(page);
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

/// Whether a page that has done `since_purge` captures is purged now, with `left` of its
/// deadline: every [`PURGE_EVERY`]th capture, never at the cost of the deadline (a purge
/// skipped now is done after the next capture).
fn purge_due(since_purge: u32, left: Duration) -> bool {
    since_purge >= PURGE_EVERY && left > PURGE_TIMEOUT
}

/// Tells a page's renderer to free what it can, as under critical memory pressure: decoded
/// images, Blink's caches and V8's garbage, which a reused page otherwise keeps
/// (docs/performance.md, "Levers"). Best effort: whether it completed; a failure is only logged.
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

/// One render on one page: load the document, wait for `load`, capture through CDP.
async fn render_on(
    page: &Page,
    cdp: &CDPSession,
    html: &str,
    format: ImageFormat,
    quality: u8,
    remaining: Duration,
) -> Result<Captured, String> {
    load(page, html, remaining).await?;
    let params = screenshot_params(format, quality);
    let started = Instant::now();
    let reply = cdp
        .send("Page.captureScreenshot", Some(params))
        .await
        .map_err(|e| format!("capture: {e}"))?;
    Ok(Captured {
        bytes: screenshot_bytes(&reply)?,
        screenshot: started.elapsed(),
    })
}

/// Loads `html` into `page` and waits for `load`, within `remaining`.
pub(super) async fn load(page: &Page, html: &str, remaining: Duration) -> Result<(), String> {
    let options = GotoOptions::new()
        .timeout(remaining.max(Duration::from_millis(1)))
        .wait_until(WaitUntil::Load);
    page.set_content(html, options)
        .await
        .map_err(|e| format!("set content: {e}"))
}

/// `Page.captureScreenshot`'s parameters: the card's area of the surface, the fast encoder, and
/// a quality for the lossy formats only (CDP refuses one for PNG).
pub(super) fn screenshot_params(format: ImageFormat, quality: u8) -> serde_json::Value {
    let mut params = serde_json::json!({
        "format": format.name(),
        "optimizeForSpeed": true,
        "captureBeyondViewport": false,
        "fromSurface": true,
        "clip": {"x": 0, "y": 0, "width": CARD_SIZE.width, "height": CARD_SIZE.height, "scale": 1},
    });
    if format != ImageFormat::Png {
        params["quality"] = serde_json::json!(quality);
    }
    params
}

/// The image in a `Page.captureScreenshot` reply (its `data`, base64, at the top or under
/// `result` depending on how the driver relays it).
pub(super) fn screenshot_bytes(reply: &serde_json::Value) -> Result<Vec<u8>, String> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_page_is_purged_every_eighth_capture_when_the_deadline_allows() {
        let plenty = Duration::from_secs(5);
        assert!(!purge_due(PURGE_EVERY - 1, plenty));
        assert!(purge_due(PURGE_EVERY, plenty));
        // Skipped when it could eat into the deadline, and done after a later capture instead.
        assert!(!purge_due(PURGE_EVERY, PURGE_TIMEOUT));
        assert!(purge_due(PURGE_EVERY + 1, plenty));
    }

    #[test]
    fn a_png_capture_asks_for_no_quality_and_a_jpeg_one_does() {
        let png = screenshot_params(ImageFormat::Png, 85);
        assert_eq!(png["format"], "png");
        assert!(png.get("quality").is_none(), "{png}");
        assert_eq!(
            png["clip"],
            json!({"x": 0, "y": 0, "width": CARD_SIZE.width, "height": CARD_SIZE.height, "scale": 1})
        );
        let jpeg = screenshot_params(ImageFormat::Jpeg, 85);
        assert_eq!(jpeg["format"], "jpeg");
        assert_eq!(jpeg["quality"], 85);
        assert_eq!(jpeg["optimizeForSpeed"], true);
    }

    #[test]
    fn the_image_is_read_from_either_shape_of_reply() {
        assert_eq!(
            screenshot_bytes(&json!({"data": "aGk="})),
            Ok(b"hi".to_vec())
        );
        assert_eq!(
            screenshot_bytes(&json!({"result": {"data": "aGk="}})),
            Ok(b"hi".to_vec())
        );
        let none = screenshot_bytes(&json!({"result": {}})).unwrap_err();
        assert_eq!(none, "capture: reply has no data");
        let bad = screenshot_bytes(&json!({"data": "not base64!"})).unwrap_err();
        assert!(bad.starts_with("capture: bad base64"), "{bad}");
    }
}

//! The render checks' view of a card (`render/checks.rs`): the page's layout and computed styles
//! (CDP `DOMSnapshot.captureSnapshot`), the platform fonts that drew its text
//! (`CSS.getPlatformFontsForNode`), and a PNG of the card, all with JavaScript still off.
//!
//! Checks take at most half the pool's pages (`checks` permits, taken before a page permit), so
//! an upload never starves live traffic, as warm-cache does.

use std::time::{Duration, Instant};

use playwright_rs::Page;
use playwright_rs::protocol::CDPSession;
use serde_json::{Value, json};

use super::capture::{PageGuard, load, screenshot_bytes, screenshot_params};
use super::{BrowserError, BrowserPool};
use crate::render::ImageFormat;

/// What a card looked like in the browser.
#[derive(Debug, Clone)]
pub(crate) struct Inspection {
    /// The `DOMSnapshot.captureSnapshot` reply.
    pub(crate) snapshot: Value,
    /// The card as a PNG.
    pub(crate) png: Vec<u8>,
    /// Per text-bearing element: its text, its computed `font-family`, and the families of the
    /// platform fonts that drew it.
    pub(crate) fonts: Vec<(String, String, Vec<String>)>,
}

/// Picks, from a snapshot, the elements whose fonts to ask for: (backend node id, text, family).
pub(crate) type SelectText = fn(&Value) -> Vec<(i64, String, String)>;

impl BrowserPool {
    /// Loads `html` on a page of the pool and inspects it, within `deadline`. `styles` are the
    /// computed styles the snapshot carries; `select` picks the elements whose fonts are read.
    pub(crate) async fn inspect(
        &self,
        html: &str,
        deadline: Duration,
        styles: &[&str],
        select: SelectText,
    ) -> Result<Inspection, BrowserError> {
        let until = Instant::now() + deadline;
        let work = async {
            let _check = self
                .checks
                .acquire()
                .await
                .map_err(|_| BrowserError::Failed("pool closed".into()))?;
            let _page_permit = self
                .pages
                .permits
                .acquire()
                .await
                .map_err(|_| BrowserError::Failed("pool closed".into()))?;
            let page = self.checkout().await?;
            let mut guard = PageGuard {
                pages: &self.pages,
                page: Some(page),
                healthy: false,
            };
            let (page, cdp) = guard
                .page
                .as_ref()
                .map(|p| (p.page.clone(), p.cdp.clone()))
                .ok_or_else(|| BrowserError::Failed("no page".into()))?;
            let remaining = until.saturating_duration_since(Instant::now());
            let inspection = inspect_on(&page, &cdp, html, remaining, styles, select)
                .await
                .map_err(BrowserError::Failed)?;
            guard.healthy = true;
            Ok(inspection)
        };
        match tokio::time::timeout_at(until.into(), work).await {
            Ok(result) => result,
            Err(_) => Err(BrowserError::Deadline(deadline)),
        }
    }
}

/// The reply's body: CDP answers arrive at the top or under `result`, as the driver relays them.
fn body(reply: Value) -> Value {
    match reply {
        Value::Object(mut map) if map.contains_key("result") => {
            map.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    }
}

async fn send(cdp: &CDPSession, method: &str, params: Value) -> Result<Value, String> {
    cdp.send(method, Some(params))
        .await
        .map(body)
        .map_err(|e| format!("{method}: {e}"))
}

async fn inspect_on(
    page: &Page,
    cdp: &CDPSession,
    html: &str,
    remaining: Duration,
    styles: &[&str],
    select: SelectText,
) -> Result<Inspection, String> {
    load(page, html, remaining).await?;
    // No styles asked for (the visual diff wants only the pixels): no snapshot either.
    let snapshot = if styles.is_empty() {
        Value::Null
    } else {
        send(
            cdp,
            "DOMSnapshot.captureSnapshot",
            json!({"computedStyles": styles, "includeDOMRects": true}),
        )
        .await?
    };
    let png = screenshot_bytes(
        &send(
            cdp,
            "Page.captureScreenshot",
            screenshot_params(ImageFormat::Png, 0),
        )
        .await?,
    )?;
    let fonts = fonts(cdp, select(&snapshot)).await;
    Ok(Inspection {
        snapshot,
        png,
        fonts,
    })
}

/// The platform fonts of each selected element. The DOM and CSS agents are on only for this and
/// off again after, so a pooled page carries nothing into its next capture. Best effort: an
/// element the protocol cannot resolve is left out.
async fn fonts(
    cdp: &CDPSession,
    elements: Vec<(i64, String, String)>,
) -> Vec<(String, String, Vec<String>)> {
    if elements.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let enabled = async {
        send(cdp, "DOM.enable", json!({})).await?;
        send(cdp, "CSS.enable", json!({})).await?;
        send(cdp, "DOM.getDocument", json!({"depth": 0})).await?;
        let ids: Vec<i64> = elements.iter().map(|(id, ..)| *id).collect();
        let pushed = send(
            cdp,
            "DOM.pushNodesByBackendIdsToFrontend",
            json!({"backendNodeIds": ids}),
        )
        .await?;
        Ok::<_, String>(pushed)
    }
    .await;
    if let Ok(pushed) = enabled {
        let node_ids = pushed["nodeIds"].as_array().cloned().unwrap_or_default();
        for ((_, text, family), node) in elements.into_iter().zip(node_ids) {
            let Some(node) = node.as_i64().filter(|n| *n > 0) else {
                continue;
            };
            let Ok(reply) = send(cdp, "CSS.getPlatformFontsForNode", json!({"nodeId": node})).await
            else {
                continue;
            };
            let used: Vec<String> = reply["fonts"]
                .as_array()
                .map(|fonts| {
                    fonts
                        .iter()
                        .filter(|f| f["glyphCount"].as_u64().unwrap_or(0) > 0)
                        .filter_map(|f| f["familyName"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            out.push((text, family, used));
        }
    }
    let _ = send(cdp, "CSS.disable", json!({})).await;
    let _ = send(cdp, "DOM.disable", json!({})).await;
    out
}

//! Render checks: what a design's cards look like in Chromium before the design goes live.
//!
//! After the WebAssembly checks of an upload pass, the candidate renders the reference listings
//! ([`references`]: typical, very long title, emoji, CJK, right-to-left, hostile markup, bare, no
//! photo) in the browser pool, and each page is inspected through the DevTools protocol with
//! JavaScript still off in the page (`browser/inspect.rs`):
//! - **overflow**: text clipped by an element that hides overflow (without `text-overflow:
//!   ellipsis` or a line clamp, which truncate on purpose), or text running off the card;
//! - **glyphs**: text drawn with a font its element's `font-family` does not name, when that list
//!   names no generic family (`sans-serif`, `system-ui`, …) to fall back on: the design's font
//!   lacks those characters;
//! - **blank**: a card with next to nothing on it (one colour covers ≥ 99.5 % of its pixels).
//!
//! Each check has a level (`DESIGNS__CHECKS`): `refuse` fails the upload (422
//! `design-check-failed`), `warn` reports and lets it go live, `off` skips it. The analysis here
//! is pure functions of the snapshot and the pixels, unit-tested without a browser.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Invalid;
use crate::render::CARD_SIZE;
use crate::render::browser::{BrowserError, BrowserPool, Inspection};
use crate::render::designs::{CardInput, DesignRegistry, LoadedDesign, smoke_inputs};
use crate::render::encode::decode_png;
use crate::render::images::{first_sample_image, sniff};

/// The computed styles the overflow and glyph checks read, in this order.
pub(crate) const STYLES: [&str; 5] = [
    "overflow-x",
    "overflow-y",
    "font-family",
    "text-overflow",
    "-webkit-line-clamp",
];
const OVERFLOW_X: usize = 0;
const OVERFLOW_Y: usize = 1;
const FONT_FAMILY: usize = 2;
const TEXT_OVERFLOW: usize = 3;
const LINE_CLAMP: usize = 4;

/// Slack for sub-pixel layout, in CSS pixels.
const TOLERANCE: f64 = 1.0;
/// The longest offending text quoted in a finding.
const QUOTE_CHARS: usize = 60;
/// At most this many text-bearing elements are asked for their fonts per card.
pub(crate) const MAX_FONT_QUERIES: usize = 64;
/// A card is near-blank when one colour covers at least this share of its pixels.
const BLANK_SHARE: f64 = 0.995;

/// The three checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    Overflow,
    Glyphs,
    Blank,
}

impl Check {
    const ALL: [Check; 3] = [Check::Overflow, Check::Glyphs, Check::Blank];

    pub fn name(self) -> &'static str {
        match self {
            Check::Overflow => "overflow",
            Check::Glyphs => "glyphs",
            Check::Blank => "blank",
        }
    }
}

/// What a failing check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Off,
    Warn,
    Refuse,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Refuse => "refuse",
        }
    }
}

/// The level of each check: `DESIGNS__CHECKS`, e.g. `overflow=refuse,glyphs=warn,blank=refuse`
/// (the default). A check left out keeps its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CheckLevels {
    overflow: Level,
    glyphs: Level,
    blank: Level,
}

impl Default for CheckLevels {
    fn default() -> Self {
        Self {
            overflow: Level::Refuse,
            glyphs: Level::Warn,
            blank: Level::Refuse,
        }
    }
}

impl CheckLevels {
    pub(crate) fn level(&self, check: Check) -> Level {
        match check {
            Check::Overflow => self.overflow,
            Check::Glyphs => self.glyphs,
            Check::Blank => self.blank,
        }
    }

    fn set(&mut self, check: Check, level: Level) {
        match check {
            Check::Overflow => self.overflow = level,
            Check::Glyphs => self.glyphs = level,
            Check::Blank => self.blank = level,
        }
    }
}

impl TryFrom<String> for CheckLevels {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let mut levels = CheckLevels::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, level) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}` is not CHECK=LEVEL"))?;
            let check = Check::ALL
                .into_iter()
                .find(|c| c.name() == name.trim())
                .ok_or_else(|| {
                    format!(
                        "unknown check `{}`; checks: overflow, glyphs, blank",
                        name.trim()
                    )
                })?;
            let level = match level.trim() {
                "off" => Level::Off,
                "warn" => Level::Warn,
                "refuse" => Level::Refuse,
                other => {
                    return Err(format!(
                        "unknown level `{other}`; levels: off, warn, refuse"
                    ));
                }
            };
            levels.set(check, level);
        }
        Ok(levels)
    }
}

impl From<CheckLevels> for String {
    fn from(levels: CheckLevels) -> String {
        levels.to_string()
    }
}

impl fmt::Display for CheckLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Check::ALL
            .iter()
            .map(|c| format!("{}={}", c.name(), self.level(*c).name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// `DESIGNS__*`: the render checks a design upload passes through.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesignCheckSettings {
    /// The level of each check (`overflow`, `glyphs`, `blank`): `off`, `warn` or `refuse`.
    pub checks: CheckLevels,
}

impl DesignCheckSettings {
    pub fn validate(&self) -> Result<(), Invalid> {
        // Parsed (and refused with the variable's name) when the settings are read.
        Ok(())
    }
}

/// One check that failed on one reference listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub listing: &'static str,
    pub check: Check,
    pub level: Level,
    /// The offending text (empty for a blank card).
    pub text: String,
    /// What is wrong with it.
    pub detail: String,
}

/// The checks of one design on every reference listing.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Each reference listing's card as a PNG (for the visual diff).
    pub(crate) cards: Vec<(&'static str, Vec<u8>)>,
    /// Reference listings rendered and inspected.
    pub listings: usize,
    pub took: Duration,
}

impl Report {
    /// `true` when a refusing check failed: the design must not go live.
    pub fn refused(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Refuse)
    }

    pub(crate) fn to_json(&self, levels: &CheckLevels) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "listing": f.listing,
                    "check": f.check.name(),
                    "level": f.level.name(),
                    "text": f.text,
                    "detail": f.detail,
                })
            })
            .collect();
        json!({
            "levels": levels.to_string(),
            "listings": self.listings,
            "ms": self.took.as_millis() as u64,
            "refused": self.refused(),
            "findings": findings,
        })
    }

    /// One line per refusing finding, for the 422 message.
    pub fn summary(&self) -> String {
        let lines: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.level == Level::Refuse)
            .map(|f| {
                if f.text.is_empty() {
                    format!("{} on `{}`: {}", f.check.name(), f.listing, f.detail)
                } else {
                    format!(
                        "{} on `{}`: {} ({:?})",
                        f.check.name(),
                        f.listing,
                        f.detail,
                        f.text
                    )
                }
            })
            .collect();
        lines.join("; ")
    }
}

/// The names of the reference listings, in the order they render: the seven smoke inputs, then
/// the typical one without its photo.
pub(crate) const REFERENCES: [&str; 8] = [
    "typical",
    "long-title",
    "emoji",
    "cjk",
    "rtl",
    "hostile-markup",
    "bare",
    "no-photo",
];

/// The reference listings the checks render: the smoke inputs with a photo on the typical one,
/// and the typical one again without.
pub(crate) fn references() -> Vec<(&'static str, CardInput)> {
    let mut inputs: Vec<_> = REFERENCES[..7]
        .iter()
        .copied()
        .zip(smoke_inputs())
        .collect();
    let photo = first_sample_image().and_then(|bytes| {
        use base64::Engine as _;
        let media = sniff(bytes)?;
        Some(format!(
            "data:{media};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    });
    if let Some((_, typical)) = inputs.first_mut() {
        let mut bare = typical.clone();
        bare.image_data_uri = None;
        typical.image_data_uri = photo;
        inputs.push((REFERENCES[7], bare));
    }
    inputs
}

/// Renders `design` on every reference listing and inspects each card. At most half the pool's
/// pages run checks at once (live traffic keeps the rest), one listing after another.
pub async fn run(
    pool: &BrowserPool,
    registry: &std::sync::Arc<DesignRegistry>,
    design: &std::sync::Arc<LoadedDesign>,
    levels: &CheckLevels,
    deadline: Duration,
) -> Result<Report, BrowserError> {
    let started = Instant::now();
    let mut report = Report::default();
    for (listing, input) in references() {
        let (registry, design) = (registry.clone(), design.clone());
        let html = tokio::task::spawn_blocking(move || registry.render(&design, &input))
            .await
            .map_err(|e| BrowserError::Failed(e.to_string()))?;
        // A listing the design refuses (422 on the request path) has no card to inspect.
        let Ok(html) = html else { continue };
        let inspection = pool
            .inspect(&html, deadline, &STYLES, text_elements)
            .await?;
        report.listings += 1;
        let mut found = Vec::new();
        if levels.level(Check::Overflow) != Level::Off {
            found.extend(
                overflow(&inspection.snapshot)
                    .into_iter()
                    .map(|(t, d)| (Check::Overflow, t, d)),
            );
        }
        if levels.level(Check::Glyphs) != Level::Off {
            found.extend(
                glyphs(&inspection)
                    .into_iter()
                    .map(|(t, d)| (Check::Glyphs, t, d)),
            );
        }
        if levels.level(Check::Blank) != Level::Off
            && let Some(detail) = blank(&inspection.png)
        {
            found.push((Check::Blank, String::new(), detail));
        }
        report.cards.push((listing, inspection.png));
        report
            .findings
            .extend(found.into_iter().map(|(check, text, detail)| Finding {
                listing,
                check,
                level: levels.level(check),
                text,
                detail,
            }));
    }
    report.took = started.elapsed();
    Ok(report)
}

/// The parts of a `DOMSnapshot.captureSnapshot` answer the checks read.
struct Snapshot<'a> {
    strings: Vec<&'a str>,
    parent: Vec<i64>,
    node_type: Vec<i64>,
    node_value: Vec<i64>,
    backend_id: Vec<i64>,
    /// Layout index → node index.
    layout_node: Vec<usize>,
    /// Node index → layout index.
    node_layout: HashMap<usize, usize>,
    bounds: Vec<[f64; 4]>,
    styles: Vec<Vec<i64>>,
    /// Text boxes: layout index, bounds, start and length in the node's text.
    boxes: Vec<(usize, [f64; 4], usize, usize)>,
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_i64().unwrap_or(-1)).collect())
        .unwrap_or_default()
}

fn rects(v: &Value) -> Vec<[f64; 4]> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let n = |i: usize| r.get(i).and_then(Value::as_f64).unwrap_or(0.0);
                    [n(0), n(1), n(2), n(3)]
                })
                .collect()
        })
        .unwrap_or_default()
}

impl<'a> Snapshot<'a> {
    fn parse(reply: &'a Value) -> Option<Self> {
        let reply = reply.get("result").unwrap_or(reply);
        let strings = reply["strings"]
            .as_array()?
            .iter()
            .map(|s| s.as_str().unwrap_or_default())
            .collect();
        let doc = reply["documents"].as_array()?.first()?;
        let nodes = &doc["nodes"];
        let layout = &doc["layout"];
        let layout_node: Vec<usize> = ints(&layout["nodeIndex"])
            .into_iter()
            .map(|i| usize::try_from(i).unwrap_or(usize::MAX))
            .collect();
        let node_layout = layout_node
            .iter()
            .enumerate()
            .map(|(l, n)| (*n, l))
            .collect();
        let styles = layout["styles"]
            .as_array()
            .map(|a| a.iter().map(ints).collect())
            .unwrap_or_default();
        let text_boxes = &doc["textBoxes"];
        let boxes = ints(&text_boxes["layoutIndex"])
            .into_iter()
            .zip(rects(&text_boxes["bounds"]))
            .zip(
                ints(&text_boxes["start"])
                    .into_iter()
                    .zip(ints(&text_boxes["length"])),
            )
            .map(|((l, b), (s, n))| (l.max(0) as usize, b, s.max(0) as usize, n.max(0) as usize))
            .collect();
        Some(Self {
            strings,
            parent: ints(&nodes["parentIndex"]),
            node_type: ints(&nodes["nodeType"]),
            node_value: ints(&nodes["nodeValue"]),
            backend_id: ints(&nodes["backendNodeId"]),
            layout_node,
            node_layout,
            bounds: rects(&layout["bounds"]),
            styles,
            boxes,
        })
    }

    fn string(&self, index: i64) -> &'a str {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.strings.get(i))
            .copied()
            .unwrap_or_default()
    }

    fn style(&self, layout: usize, which: usize) -> &'a str {
        self.styles
            .get(layout)
            .and_then(|s| s.get(which))
            .map_or("", |i| self.string(*i))
    }

    fn parent_of(&self, node: usize) -> Option<usize> {
        self.parent.get(node).and_then(|p| usize::try_from(*p).ok())
    }

    /// A text node's whole text.
    fn text(&self, node: usize) -> &'a str {
        self.node_value.get(node).map_or("", |v| self.string(*v))
    }
}

fn quote(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= QUOTE_CHARS {
        return text;
    }
    let mut out: String = text.chars().take(QUOTE_CHARS - 1).collect();
    out.push('…');
    out
}

/// Text clipped by an ancestor that hides overflow (unless it truncates with an ellipsis), or
/// running off the card: (the text, what happened), once per text node.
pub(crate) fn overflow(reply: &Value) -> Vec<(String, String)> {
    let Some(s) = Snapshot::parse(reply) else {
        return Vec::new();
    };
    let card = [
        0.0,
        0.0,
        f64::from(CARD_SIZE.width),
        f64::from(CARD_SIZE.height),
    ];
    let mut reported = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (layout, b, _, _) in &s.boxes {
        let Some(&node) = s.layout_node.get(*layout) else {
            continue;
        };
        if b[2] <= 0.0 || b[3] <= 0.0 || reported.contains(&node) {
            continue;
        }
        // Clipped first: a box cut by its container is not seen running off the card.
        let problem = clipping_ancestor(&s, node, b).or_else(|| {
            (!inside(b, &card)).then(|| {
                format!(
                    "text runs off the {}×{} card (box at {:.0},{:.0} {:.0}×{:.0})",
                    CARD_SIZE.width, CARD_SIZE.height, b[0], b[1], b[2], b[3]
                )
            })
        });
        if let Some(problem) = problem {
            reported.insert(node);
            out.push((quote(s.text(node)), problem));
        }
    }
    out
}

fn inside(b: &[f64; 4], outer: &[f64; 4]) -> bool {
    b[0] >= outer[0] - TOLERANCE
        && b[1] >= outer[1] - TOLERANCE
        && b[0] + b[2] <= outer[0] + outer[2] + TOLERANCE
        && b[1] + b[3] <= outer[1] + outer[3] + TOLERANCE
}

/// The nearest ancestor of `node` that hides overflow and cuts the text box `b`, unless it
/// truncates on purpose (`text-overflow: ellipsis`, or a `-webkit-line-clamp`).
fn clipping_ancestor(s: &Snapshot<'_>, node: usize, b: &[f64; 4]) -> Option<String> {
    let mut current = s.parent_of(node);
    while let Some(element) = current {
        if let Some(&layout) = s.node_layout.get(&element) {
            let hides_x = !matches!(s.style(layout, OVERFLOW_X), "visible" | "");
            let hides_y = !matches!(s.style(layout, OVERFLOW_Y), "visible" | "");
            let truncates = s.style(layout, TEXT_OVERFLOW) == "ellipsis"
                || !matches!(s.style(layout, LINE_CLAMP), "none" | "");
            if (hides_x || hides_y) && !truncates {
                let r = s.bounds.get(layout).copied().unwrap_or_default();
                let cut_x =
                    hides_x && (b[0] < r[0] - TOLERANCE || b[0] + b[2] > r[0] + r[2] + TOLERANCE);
                let cut_y =
                    hides_y && (b[1] < r[1] - TOLERANCE || b[1] + b[3] > r[1] + r[3] + TOLERANCE);
                if cut_x || cut_y {
                    return Some(format!(
                        "text clipped by an element that hides overflow ({:.0}×{:.0} box; use text-overflow: ellipsis or a line clamp to truncate on purpose)",
                        r[2], r[3]
                    ));
                }
            }
        }
        current = s.parent_of(element);
    }
    None
}

/// Elements whose own text nodes hold visible text: (backend node id, the text, its
/// `font-family`), at most [`MAX_FONT_QUERIES`], for `CSS.getPlatformFontsForNode`.
pub(crate) fn text_elements(reply: &Value) -> Vec<(i64, String, String)> {
    let Some(s) = Snapshot::parse(reply) else {
        return Vec::new();
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (layout, ..) in &s.boxes {
        let Some(&node) = s.layout_node.get(*layout) else {
            continue;
        };
        if s.node_type.get(node) != Some(&3) || s.text(node).trim().is_empty() {
            continue;
        }
        let Some(parent) = s.parent_of(node) else {
            continue;
        };
        if !seen.insert(parent) {
            continue;
        }
        let family = s
            .node_layout
            .get(&parent)
            .map_or("", |l| s.style(*l, FONT_FAMILY));
        if let Some(&id) = s.backend_id.get(parent) {
            out.push((id, s.text(node).to_owned(), family.to_owned()));
        }
        if out.len() == MAX_FONT_QUERIES {
            break;
        }
    }
    out
}

/// Generic families: a list naming one lets Chromium pick a system font for any character.
const GENERIC_FAMILIES: &[&str] = &[
    "serif",
    "sans-serif",
    "monospace",
    "cursive",
    "fantasy",
    "system-ui",
    "ui-serif",
    "ui-sans-serif",
    "ui-monospace",
    "ui-rounded",
    "emoji",
    "math",
    "fangsong",
];

/// Text drawn with a font its `font-family` does not name, when that list names no generic
/// family: the named fonts lack those characters.
pub(crate) fn glyphs(inspection: &Inspection) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (text, family, used) in &inspection.fonts {
        let named: Vec<String> = family
            .split(',')
            .map(|f| f.trim().trim_matches(['"', '\'']).to_ascii_lowercase())
            .filter(|f| !f.is_empty())
            .collect();
        if named.iter().any(|f| GENERIC_FAMILIES.contains(&f.as_str())) {
            continue;
        }
        let foreign: Vec<&str> = used
            .iter()
            .filter(|u| !named.contains(&u.to_ascii_lowercase()))
            .map(String::as_str)
            .collect();
        if !foreign.is_empty() {
            out.push((
                quote(text),
                format!(
                    "drawn with {} because font-family `{family}` lacks some of its characters",
                    foreign.join(", ")
                ),
            ));
        }
    }
    out
}

/// `Some(why)` when one colour (luma within 8 levels) covers at least 99.5 % of the card.
pub(crate) fn blank(png: &[u8]) -> Option<String> {
    let pixels = decode_png(png).ok()?;
    let channels = if pixels.color == png::ColorType::Rgba {
        4
    } else {
        3
    };
    let mut buckets = [0u64; 32];
    let mut total = 0u64;
    // Every 3rd pixel is plenty for a 1200×630 card.
    for px in pixels.data.chunks_exact(channels).step_by(3) {
        let luma =
            (u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114) / 1000;
        buckets[(luma / 8).min(31) as usize] += 1;
        total += 1;
    }
    let top = buckets.iter().max().copied().unwrap_or(0);
    let share = top as f64 / total.max(1) as f64;
    (share >= BLANK_SHARE).then(|| {
        format!(
            "{:.1} % of the card is one colour: nothing on it",
            share * 100.0
        )
    })
}

/// How a candidate's card differs from the live version's on one reference listing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Difference {
    pub(crate) listing: &'static str,
    /// Share of pixels that changed (any channel by more than [`DIFF_THRESHOLD`]).
    pub(crate) changed: f64,
    /// The smallest box holding every changed pixel: x, y, width, height.
    pub(crate) region: Option<[u32; 4]>,
    /// The live version's card (PNG; empty when the live version refused the listing).
    pub(crate) before: Vec<u8>,
}

/// A channel must change by more than this to count (encoder and anti-aliasing noise).
const DIFF_THRESHOLD: u8 = 16;

/// Renders `live` on the reference listings and compares each card with the candidate's
/// (`candidate.cards`), under the same page limit as the checks.
pub(crate) async fn diff(
    pool: &BrowserPool,
    registry: &std::sync::Arc<DesignRegistry>,
    live: &std::sync::Arc<LoadedDesign>,
    candidate: &Report,
    deadline: Duration,
) -> Result<Vec<Difference>, BrowserError> {
    let mut out = Vec::new();
    for (listing, input) in references() {
        let Some((_, after)) = candidate.cards.iter().find(|(l, _)| *l == listing) else {
            continue;
        };
        let (registry, design) = (registry.clone(), live.clone());
        let html = tokio::task::spawn_blocking(move || registry.render(&design, &input))
            .await
            .map_err(|e| BrowserError::Failed(e.to_string()))?;
        let before = match html {
            Ok(html) => {
                pool.inspect(&html, deadline, &[], |_| Vec::new())
                    .await?
                    .png
            }
            // The live version refuses this listing: everything changed.
            Err(_) => Vec::new(),
        };
        let (changed, region) = compare(&before, after);
        out.push(Difference {
            listing,
            changed,
            region,
            before,
        });
    }
    Ok(out)
}

/// The share of pixels that differ between two PNG cards and their bounding box; a card that
/// does not decode, or of another size, differs everywhere.
pub(crate) fn compare(before: &[u8], after: &[u8]) -> (f64, Option<[u32; 4]>) {
    let everything = (1.0, Some([0, 0, CARD_SIZE.width, CARD_SIZE.height]));
    let (Ok(a), Ok(b)) = (decode_png(before), decode_png(after)) else {
        return everything;
    };
    if (a.width, a.height) != (b.width, b.height) {
        return everything;
    }
    let channels = |p: &crate::render::encode::Pixels| {
        if p.color == png::ColorType::Rgba {
            4
        } else {
            3
        }
    };
    let (ca, cb) = (channels(&a), channels(&b));
    let (mut changed, mut min_x, mut min_y, mut max_x, mut max_y) =
        (0u64, u32::MAX, u32::MAX, 0, 0);
    for (i, (pa, pb)) in a
        .data
        .chunks_exact(ca)
        .zip(b.data.chunks_exact(cb))
        .enumerate()
    {
        if pa[..3]
            .iter()
            .zip(&pb[..3])
            .any(|(x, y)| x.abs_diff(*y) > DIFF_THRESHOLD)
        {
            let (x, y) = ((i as u32) % a.width, (i as u32) / a.width);
            changed += 1;
            (min_x, min_y, max_x, max_y) = (min_x.min(x), min_y.min(y), max_x.max(x), max_y.max(y));
        }
    }
    let total = u64::from(a.width) * u64::from(a.height);
    let region = (changed > 0).then(|| [min_x, min_y, max_x - min_x + 1, max_y - min_y + 1]);
    (changed as f64 / total.max(1) as f64, region)
}

/// The diff as the upload answers it; `images(listing)` gives the links to its cards.
pub(crate) fn diff_json(differences: &[Difference], images: impl Fn(&str) -> Value) -> Value {
    let listings: Vec<Value> = differences
        .iter()
        .map(|d| {
            json!({
                "listing": d.listing,
                "changed": (d.changed * 10_000.0).round() / 10_000.0,
                "region": d.region.map(|[x, y, w, h]| json!({"x": x, "y": y, "width": w, "height": h})),
                "images": images(d.listing),
            })
        })
        .collect();
    let most = differences.iter().map(|d| d.changed).fold(0.0, f64::max);
    json!({"listings": listings, "most_changed": (most * 10_000.0).round() / 10_000.0})
}

/// The diff overlay: the candidate's card dimmed, with every changed pixel in red. `None` when
/// either card does not decode or their sizes differ.
pub(crate) fn diff_image(before: &[u8], after: &[u8]) -> Option<Vec<u8>> {
    let (a, b) = (decode_png(before).ok()?, decode_png(after).ok()?);
    if (a.width, a.height) != (b.width, b.height) {
        return None;
    }
    let channels = |p: &crate::render::encode::Pixels| {
        if p.color == png::ColorType::Rgba {
            4
        } else {
            3
        }
    };
    let (ca, cb) = (channels(&a), channels(&b));
    let mut rgb = Vec::with_capacity(b.data.len() / cb * 3);
    for (pa, pb) in a.data.chunks_exact(ca).zip(b.data.chunks_exact(cb)) {
        let changed = pa[..3]
            .iter()
            .zip(&pb[..3])
            .any(|(x, y)| x.abs_diff(*y) > DIFF_THRESHOLD);
        if changed {
            rgb.extend_from_slice(&[255, 32, 32]);
        } else {
            rgb.extend(pb[..3].iter().map(|v| v / 3));
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, b.width, b.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&rgb).ok()?;
    writer.finish().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot with a card (`div` 0..1200×0..630), an element hiding overflow at
    /// (100,100) 200×50 and two text nodes: one inside it, one wherever `free` says.
    fn snapshot(inner: [f64; 4], free: [f64; 4], text_overflow: &str) -> Value {
        // strings: 0 "", 1 "visible", 2 "hidden", 3 "clip", 4 text-overflow, 5 the texts…
        json!({"strings": ["", "visible", "hidden", "Arial, sans-serif", text_overflow, "A long clipped title", "Free text", "DIV", "#text"],
        "documents": [{
            "nodes": {
                "parentIndex": [-1, 0, 1, 0],
                "nodeType": [1, 1, 3, 3],
                "nodeName": [7, 7, 8, 8],
                "nodeValue": [-1, -1, 5, 6],
                "backendNodeId": [10, 11, 12, 13]
            },
            "layout": {
                "nodeIndex": [0, 1, 2, 3],
                "bounds": [[0, 0, 1200, 630], [100, 100, 200, 50], inner, free],
                "styles": [[1, 1, 3, 0], [2, 2, 3, 4], [1, 1, 3, 0], [1, 1, 3, 0]]
            },
            "textBoxes": {"layoutIndex": [2, 3], "bounds": [inner, free], "start": [0, 0], "length": [20, 9]}
        }]})
    }

    #[test]
    fn clipped_and_off_card_text_is_found_and_ellipsis_is_not() {
        let fits = snapshot(
            [110.0, 110.0, 150.0, 30.0],
            [10.0, 10.0, 100.0, 20.0],
            "clip",
        );
        assert_eq!(overflow(&fits), vec![]);
        let clipped = snapshot(
            [110.0, 110.0, 400.0, 30.0],
            [10.0, 10.0, 100.0, 20.0],
            "clip",
        );
        let found = overflow(&clipped);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "A long clipped title");
        assert!(found[0].1.contains("clipped"), "{found:?}");
        let truncated = snapshot(
            [110.0, 110.0, 400.0, 30.0],
            [10.0, 10.0, 100.0, 20.0],
            "ellipsis",
        );
        assert_eq!(overflow(&truncated), vec![]);
        let off = snapshot(
            [110.0, 110.0, 150.0, 30.0],
            [1150.0, 10.0, 100.0, 20.0],
            "clip",
        );
        let found = overflow(&off);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "Free text");
        assert!(found[0].1.contains("off the 1200×630 card"), "{found:?}");
    }

    #[test]
    fn text_elements_name_each_parent_once_with_its_font_family() {
        let s = snapshot(
            [110.0, 110.0, 150.0, 30.0],
            [10.0, 10.0, 100.0, 20.0],
            "clip",
        );
        assert_eq!(
            text_elements(&s),
            vec![
                (
                    11,
                    "A long clipped title".into(),
                    "Arial, sans-serif".into()
                ),
                (10, "Free text".into(), "Arial, sans-serif".into()),
            ]
        );
    }

    #[test]
    fn a_fallback_font_is_a_finding_only_without_a_generic_family() {
        let inspection = Inspection {
            snapshot: Value::Null,
            png: Vec::new(),
            fonts: vec![
                (
                    "ミニPC".into(),
                    "\"DejaVu Sans Mono\"".into(),
                    vec!["DejaVu Sans Mono".into(), "Noto Sans CJK JP".into()],
                ),
                (
                    "ミニPC".into(),
                    "Inter, sans-serif".into(),
                    vec!["Noto Sans CJK JP".into()],
                ),
                (
                    "Mini PC".into(),
                    "'DejaVu Sans Mono'".into(),
                    vec!["DejaVu Sans Mono".into()],
                ),
            ],
        };
        let found = glyphs(&inspection);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("Noto Sans CJK JP"), "{found:?}");
    }

    fn png(pixels: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        let (width, height) = (120, 63);
        let data: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let v = pixels(x, y);
                [v, v, v]
            })
            .collect();
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(&data).expect("pixels");
        writer.finish().expect("finish");
        out
    }

    #[test]
    fn identical_cards_differ_nowhere_and_a_changed_band_is_found_where_it_is() {
        let before = png(|_, _| 200);
        assert_eq!(compare(&before, &before), (0.0, None));
        // Rows 60..63 change (the image is 120×63).
        let after = png(|_, y| if y >= 60 { 20 } else { 200 });
        let (share, region) = compare(&before, &after);
        assert!((share - 3.0 / 63.0).abs() < 1e-9, "{share}");
        assert_eq!(region, Some([0, 60, 120, 3]));
        // Noise below the threshold is not a change.
        assert_eq!(compare(&before, &png(|_, _| 210)), (0.0, None));
        assert_eq!(compare(b"", &before).0, 1.0);
        // The overlay marks the changed rows red and dims the rest.
        let overlay = diff_image(&before, &after).expect("overlay");
        let pixels = decode_png(&overlay).expect("decodes");
        let at = |x: usize, y: usize| &pixels.data[(y * 120 + x) * 3..(y * 120 + x) * 3 + 3];
        assert_eq!(at(5, 61), [255, 32, 32]);
        assert_eq!(at(5, 10), [66, 66, 66]);
    }

    #[test]
    fn a_card_of_one_colour_is_blank_and_one_with_text_is_not() {
        assert!(blank(&png(|_, _| 250)).is_some());
        // A band of text-like pixels over 10 % of the card.
        assert!(blank(&png(|x, y| if y < 6 && x % 2 == 0 { 20 } else { 250 })).is_none());
        assert!(blank(b"not a png").is_none());
    }

    #[test]
    fn levels_parse_with_defaults_and_name_what_is_wrong() {
        let levels = CheckLevels::try_from("glyphs=refuse, blank=off".to_string()).unwrap();
        assert_eq!(
            levels.to_string(),
            "overflow=refuse,glyphs=refuse,blank=off"
        );
        assert_eq!(
            CheckLevels::default().to_string(),
            "overflow=refuse,glyphs=warn,blank=refuse"
        );
        assert!(
            CheckLevels::try_from("tofu=warn".to_string())
                .unwrap_err()
                .contains("unknown check `tofu`")
        );
        assert!(
            CheckLevels::try_from("blank=loud".to_string())
                .unwrap_err()
                .contains("unknown level `loud`")
        );
        assert!(
            CheckLevels::try_from("blank".to_string())
                .unwrap_err()
                .contains("CHECK=LEVEL")
        );
    }

    #[test]
    fn the_references_are_eight_with_one_photo() {
        let refs = references();
        let names: Vec<_> = refs.iter().map(|(n, _)| *n).collect();
        // In the order of REFERENCES, which the card route checks names against.
        assert_eq!(names, REFERENCES);
        assert!(refs[0].1.image_data_uri.is_some() && refs[7].1.image_data_uri.is_none());
    }
}

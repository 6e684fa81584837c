//! `GET /preview`: the designers' gallery. Every live design × a set of sample listings (edge cases
//! included), or one listing with two variants side by side (`?listing=ID&a=NAME&b=NAME`).
//! Server-rendered; the images are ordinary `/api/og-image` URLs, so they exercise the real path.

use std::fmt::Write as _;
use std::time::Instant;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;
use crate::listings::is_valid_id;
use crate::render::CARD_SIZE;
use crate::render::designs::LoadedDesign;
use crate::render::pipeline::card_input;
use crate::routes::share::escape;

/// The gallery's default rows: a typical listing and the edge cases designs must survive, each
/// with the render checks' reference listing it stands for (its cell is marked when the design's
/// latest check run found something there).
const GALLERY_LISTINGS: &[(&str, Option<&str>)] = &[
    ("dl-0001", Some("typical")),
    ("dl_edge-long-title-1000", Some("long-title")),
    ("dl_edge-emoji", Some("emoji")),
    ("dl_edge-cjk-ja", Some("cjk")),
    ("dl_edge-rtl", Some("rtl")),
    ("dl_edge-html-script", Some("hostile-markup")),
    ("dl_edge-null-price", None),
    ("dl_edge-all-null", Some("bare")),
];

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/preview", get(preview))
}

/// A link to the running experiment's results page (admin: it asks a browser to sign in).
fn experiment_link(state: &AppState) -> String {
    if !state.experiments.is_running() || state.settings.admin.token.is_none() {
        return String::new();
    }
    let name = escape(&state.experiments.current().name);
    format!(
        r#"<a href="/admin/experiments/{name}" id="experiment" style="color:#8ab4f8">Experiment {name}: results</a>"#
    )
}

struct PreviewQuery {
    listing: Option<String>,
    a: Option<String>,
    b: Option<String>,
}

fn parse(raw: Option<&str>) -> Result<PreviewQuery, ApiError> {
    let mut q = PreviewQuery {
        listing: None,
        a: None,
        b: None,
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let v = v.trim().to_string();
        match k.as_ref() {
            "listing" if !v.is_empty() => {
                if !is_valid_id(&v) {
                    return Err(ApiError::InvalidListingId);
                }
                q.listing = Some(v);
            }
            "a" if !v.is_empty() => q.a = Some(v),
            "b" if !v.is_empty() => q.b = Some(v),
            "listing" | "a" | "b" => {}
            other => return Err(ApiError::UnknownParameter(other.chars().take(32).collect())),
        }
    }
    Ok(q)
}

async fn preview(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ApiError> {
    let query = parse(raw.as_deref())?;
    let registry = state.cards.designs();
    let live = registry.snapshot();
    let designs: Vec<std::sync::Arc<LoadedDesign>> = match (&query.a, &query.b) {
        (None, None) => live
            .values()
            .filter(|t| !t.name.starts_with("fixture-"))
            .cloned()
            .collect(),
        _ => {
            let mut picked = Vec::new();
            for name in [&query.a, &query.b].into_iter().flatten() {
                let listing = query.listing.as_deref().unwrap_or("dl-0001");
                let pick = state
                    .experiments
                    .pick(state.designs(), listing, Some(name))?;
                picked.push(pick.design);
            }
            picked
        }
    };
    let ids: Vec<String> = match &query.listing {
        Some(id) => vec![id.clone()],
        None => GALLERY_LISTINGS
            .iter()
            .map(|(id, _)| id.to_string())
            .collect(),
    };
    let mut listings = Vec::new();
    for id in &ids {
        match state.listings.get(id).await {
            Ok(Some(l)) => listings.push(l),
            Ok(None) if query.listing.is_some() => {
                return Err(ApiError::ListingNotFound(id.clone()));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(ApiError::ListingSourceUnavailable {
                    detail: e.to_string(),
                });
            }
        }
    }

    // How long each design's `render` takes on the first listing (wasm only; capture is shown by the images).
    let mut timings = Vec::new();
    if let Some(first) = listings.first() {
        for t in &designs {
            let (registry, design) = (registry.clone(), t.clone());
            let input = card_input(first, None, state.brand());
            let micros = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                registry
                    .render(&design, &input)
                    .map(|_| started.elapsed().as_micros())
            })
            .await
            .ok()
            .and_then(Result::ok);
            timings.push(micros);
        }
    }

    // Each design's latest render-check run (any instance's with the control plane); a bucket
    // that does not answer only leaves the links out.
    let mut latest_runs = Vec::new();
    for t in &designs {
        latest_runs.push(state.check_runs.latest(&t.name).await.ok().flatten());
    }

    let mut html = String::from(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Card designs · preview</title>
<style>
body{margin:0;font-family:system-ui,sans-serif;background:#0b1220;color:#dbe4f0}
header{padding:16px 24px;background:#111b2e;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
h1{font-size:18px;margin:0}form{display:flex;gap:8px;align-items:center}
input,select,button{font:inherit;padding:4px 8px;border-radius:6px;border:1px solid #33415c;background:#0b1220;color:inherit}
table{border-collapse:separate;border-spacing:16px}th{font-weight:600;text-align:left;vertical-align:bottom}
td{vertical-align:top}img{width:480px;height:252px;border-radius:8px;background:#1b263b;display:block}
.meta{font-size:12px;color:#8fa3bf}td.id{font-size:12px;color:#8fa3bf;min-width:13em;overflow-wrap:anywhere}
td.warned img{outline:3px solid #d29922}.checks{color:#d29922}
</style></head><body><header><h1>Card designs</h1>"#,
    );
    let options: String = live
        .keys()
        .map(|n| format!("<option value=\"{0}\">{0}</option>", escape(n)))
        .collect();
    let _ = write!(
        html,
        r#"<form method="get" action="/preview" id="compare">
<label>Listing <input name="listing" value="{listing}" placeholder="dl-0001" size="14"></label>
<label>A <select name="a"><option value="">—</option>{options}</select></label>
<label>B <select name="b"><option value="">—</option>{options}</select></label>
<button type="submit">Compare</button></form><a href="/preview" style="color:#8fa3bf">all designs</a>{experiment}</header>"#,
        listing = escape(query.listing.as_deref().unwrap_or_default()),
        experiment = experiment_link(&state),
    );
    html.push_str("<table><thead><tr><th></th>");
    for ((t, micros), run) in designs
        .iter()
        .zip(timings.iter().chain(std::iter::repeat(&None)))
        .zip(&latest_runs)
    {
        let timing = micros.map_or("—".into(), |m| {
            format!("{:.2} ms wasm", m as f64 / 1000.0)
        });
        let checked = run
            .as_ref()
            .map(|run| {
                let what = if run.findings.is_empty() {
                    "checks: nothing found".to_owned()
                } else {
                    format!("⚠ {} check finding(s)", run.findings.len())
                };
                format!(
                    r#"<div class="meta"><a href="/preview/diff?design={}" class="checks">{what}</a></div>"#,
                    escape(&t.name)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            html,
            r#"<th class="design" data-design="{name}">{name}<div class="meta">v{version} · {kb:.1} KB · {timing} · {digest}</div>{checked}</th>"#,
            name = escape(&t.name),
            version = escape(&t.version),
            kb = t.component_bytes as f64 / 1024.0,
            digest = &t.digest[..12],
        );
    }
    html.push_str("</tr></thead><tbody>");
    for listing in &listings {
        let _ = write!(html, r#"<tr><td class="id">{}</td>"#, escape(&listing.id));
        let reference = GALLERY_LISTINGS
            .iter()
            .find(|(id, _)| *id == listing.id)
            .and_then(|(_, r)| *r);
        for (t, run) in designs.iter().zip(&latest_runs) {
            let src = format!("/api/og-image/{}?variant={}", listing.id, t.name);
            // Marked when the design's latest check run found something on the reference
            // listing this row stands for.
            let warned = reference.and_then(|r| {
                let run = run.as_ref()?;
                let found: Vec<String> = run
                    .findings
                    .iter()
                    .filter(|f| f.listing == r)
                    .map(|f| format!("{} ({}): {}", f.check, f.level, f.detail))
                    .collect();
                (!found.is_empty()).then(|| found.join("; "))
            });
            let _ = write!(
                html,
                "{}",
                warned
                    .map(|w| format!(r#"<td class="warned" title="{}">"#, escape(&w)))
                    .unwrap_or_else(|| "<td>".into())
            );
            let _ = write!(
                html,
                r#"<a href="{src}"><img src="{src}" width="{width}" height="{height}" alt="{name} card for {id}" data-design="{name}"></a></td>"#,
                src = escape(&src),
                width = CARD_SIZE.width,
                height = CARD_SIZE.height,
                name = escape(&t.name),
                id = escape(&listing.id),
            );
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></body></html>");
    Ok(Html(html))
}

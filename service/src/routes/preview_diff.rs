//! `GET /preview/diff?design=NAME`: the latest render-check run of a design on this instance (an
//! upload or a dry run): its findings, and per reference listing the live version's card, the
//! candidate's and the diff overlay (changed pixels in red over the dimmed candidate), side by
//! side. `GET /preview/diff/{run}/{listing}/{before|after|diff}.png` serves those cards.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;
use crate::render::checks::diff_image;
use crate::routes::share::escape;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/preview/diff", get(page))
        .route("/preview/diff/{run}/{listing}/{image}", get(image))
}

async fn page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ApiError> {
    let design = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "design")
        .map(|(_, v)| v.into_owned())
        .filter(|d| card_request::is_design_name(d))
        .ok_or_else(|| ApiError::Invalid {
            code: "invalid-parameter",
            message: "`design` must name a design: /preview/diff?design=NAME".into(),
        })?;
    let run = state.recent_checks.latest(&design).ok_or_else(|| ApiError::Invalid {
        code: "no-check-run",
        message: format!(
            "no upload of `{design}` was checked on this instance since it started (the last {} runs are kept); upload it, or dry-run it with PUT /admin/templates/{design}?dry_run=true",
            crate::render::checks::RECENT_RUNS
        ),
    })?;
    let outcome = match (run.refused, run.dry_run) {
        (true, _) => "refused",
        (false, true) => "dry run: not published",
        (false, false) => "published",
    };
    let mut html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{label} against live · checks</title>
<style>body{{margin:0;font-family:system-ui,sans-serif;background:#0b1220;color:#dbe4f0}}main{{padding:24px}}
table{{border-collapse:separate;border-spacing:12px}}td,th{{vertical-align:top;text-align:left}}img{{width:360px;height:189px;border-radius:6px;background:#1b263b;display:block}}
.meta{{font-size:12px;color:#8fa3bf}}.warn{{color:#d29922}}.refuse{{color:#ff7b72}}a{{color:#8ab4f8}}</style></head><body><main>
<h1>{label} <span class="meta">against {against} · {outcome} · run {id} · {at}</span></h1><p class="meta"><a href="/preview">all designs</a></p>"#,
        label = escape(&run.label),
        against = escape(run.against.as_deref().unwrap_or("nothing live")),
        id = run.id,
        at =
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(run.at)),
    );
    if run.findings.is_empty() {
        html.push_str("<p>No check found anything on the reference listings.</p>");
    } else {
        html.push_str("<h2>Findings</h2><ul class=\"findings\">");
        for f in &run.findings {
            let _ = write!(
                html,
                r#"<li class="{level}" data-listing="{listing}">{check} ({level}) on {listing}: {detail} <q>{text}</q></li>"#,
                level = f.level.name(),
                listing = f.listing,
                check = f.check.name(),
                detail = escape(&f.detail),
                text = escape(&f.text),
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("<table><thead><tr><th>listing</th><th>live</th><th>candidate</th><th>changed</th></tr></thead><tbody>");
    for card in &run.cards {
        let (listing, before, changed) = (card.listing, &card.before, &card.changed);
        let src = |kind: &str| format!("/preview/diff/{}/{listing}/{kind}.png", run.id);
        let warned = run.findings.iter().any(|f| f.listing == listing);
        let _ = write!(
            html,
            r#"<tr data-listing="{listing}"{mark}><td>{listing}{flag}</td><td>{before}</td><td><img src="{after}" alt="candidate"></td><td>{diff}</td></tr>"#,
            mark = if warned { r#" class="warned""# } else { "" },
            flag = if warned {
                r#"<div class="warn">⚠ findings</div>"#
            } else {
                ""
            },
            before = before
                .as_ref()
                .map(|_| format!(r#"<img src="{}" alt="live">"#, src("before")))
                .unwrap_or_else(|| "—".into()),
            after = src("after"),
            diff = match (before, changed) {
                (Some(_), Some(share)) => format!(
                    r#"<img src="{}" alt="diff"><div class="meta">{:.2} % of pixels</div>"#,
                    src("diff"),
                    share * 100.0
                ),
                _ => "—".into(),
            },
        );
    }
    html.push_str("</tbody></table></main></body></html>");
    Ok(Html(html))
}

async fn image(
    State(state): State<AppState>,
    Path((run, listing, image)): Path<(u64, String, String)>,
) -> Result<Response, ApiError> {
    let run = state.recent_checks.get(run).ok_or(ApiError::NotFound)?;
    let card = run
        .cards
        .iter()
        .find(|c| c.listing == listing)
        .ok_or(ApiError::NotFound)?;
    let (after, before) = (&card.after, &card.before);
    let bytes = match image.as_str() {
        "after.png" => after.clone(),
        "before.png" => before.clone().ok_or(ApiError::NotFound)?,
        "diff.png" => {
            let before = before.as_ref().ok_or(ApiError::NotFound)?;
            diff_image(before, after).ok_or(ApiError::NotFound)?
        }
        _ => return Err(ApiError::NotFound),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}

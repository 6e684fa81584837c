//! `GET /preview/diff?design=NAME[&run=ID]`: a render-check run of a design (an upload or a dry
//! run; the latest unless `run` names one): its findings, and per reference listing the live
//! version's card, the candidate's and the diff overlay (changed pixels in red over the dimmed
//! candidate), side by side, with links to the design's earlier runs. Runs come from the control
//! plane (any instance's) or this instance (`control/check_runs.rs`).
//! `GET /preview/diff/{design}/{run}/{listing}/{before|after|diff}.png` serves those cards.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::control::check_runs::{Card, is_run_id, run_time};
use crate::error::ApiError;
use crate::render::checks::{REFERENCES, diff_image};
use crate::routes::share::escape;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/preview/diff", get(page))
        .route("/preview/diff/{design}/{run}/{listing}/{image}", get(image))
}

async fn page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, ApiError> {
    let (mut design, mut wanted) = (None, None);
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "design" => design = Some(value.into_owned()),
            "run" => wanted = Some(value.into_owned()),
            _ => {}
        }
    }
    let design = design
        .filter(|d| card_request::is_design_name(d))
        .ok_or_else(|| ApiError::Invalid {
            code: "invalid-parameter",
            message: "`design` must name a design: /preview/diff?design=NAME[&run=ID]".into(),
        })?;
    if wanted.as_deref().is_some_and(|r| !is_run_id(r)) {
        return Err(ApiError::Invalid {
            code: "invalid-parameter",
            message: "`run` must be a run id as the upload's answer gives it (13 digits, `-`, 6 hex digits)".into(),
        });
    }
    let runs = state.check_runs.runs(&design).await?;
    // Only a run still kept (`runs`) is shown, whatever this instance remembers of older ones.
    let run = match wanted.as_ref().or(runs.first()) {
        Some(id) if runs.contains(id) => state.check_runs.get(&design, id).await?,
        _ => None,
    };
    let run = run.ok_or_else(|| ApiError::Invalid {
        code: "no-check-run",
        message: match &wanted {
            Some(id) => format!("no check run `{id}` of `{design}` is kept (the control plane keeps each design's last CONTROL__CHECK_RUNS_KEPT runs)"),
            None => format!(
                "no upload of `{design}` was checked yet (or its runs are gone); upload it, or dry-run it with PUT /admin/templates/{design}?dry_run=true"
            ),
        },
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
<h1>{label} <span class="meta">against {against} · {outcome} · run {id} · {at}{instance}</span></h1><p class="meta"><a href="/preview">all designs</a></p>"#,
        label = escape(&run.label),
        against = escape(run.against.as_deref().unwrap_or("nothing live")),
        id = run.id,
        at = http_date(run.at),
        instance = run
            .instance
            .as_deref()
            .map(|i| format!(" · checked on {}", escape(i)))
            .unwrap_or_default(),
    );
    if run.findings.is_empty() {
        html.push_str("<p>No check found anything on the reference listings.</p>");
    } else {
        html.push_str("<h2>Findings</h2><ul class=\"findings\">");
        for f in &run.findings {
            let _ = write!(
                html,
                r#"<li class="{level}" data-listing="{listing}">{check} ({level}) on {listing}: {detail} <q>{text}</q></li>"#,
                level = escape(&f.level),
                listing = escape(&f.listing),
                check = escape(&f.check),
                detail = escape(&f.detail),
                text = escape(&f.text),
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("<table><thead><tr><th>listing</th><th>live</th><th>candidate</th><th>changed</th></tr></thead><tbody>");
    for card in &run.cards {
        let listing = escape(&card.listing);
        let src = |kind: &str| {
            format!(
                "/preview/diff/{}/{}/{listing}/{kind}.png",
                run.design, run.id
            )
        };
        let warned = run.findings.iter().any(|f| f.listing == card.listing);
        let _ = write!(
            html,
            r#"<tr data-listing="{listing}"{mark}><td>{listing}{flag}</td><td>{before}</td><td><img src="{after}" alt="candidate"></td><td>{diff}</td></tr>"#,
            mark = if warned { r#" class="warned""# } else { "" },
            flag = if warned {
                r#"<div class="warn">⚠ findings</div>"#
            } else {
                ""
            },
            before = if card.before {
                format!(r#"<img src="{}" alt="live">"#, src("before"))
            } else {
                "—".into()
            },
            after = src("after"),
            diff = match (card.before, card.changed) {
                (true, Some(share)) => format!(
                    r#"<img src="{}" alt="diff"><div class="meta">{:.2} % of pixels</div>"#,
                    src("diff"),
                    share * 100.0
                ),
                _ => "—".into(),
            },
        );
    }
    html.push_str("</tbody></table>");
    if runs.len() > 1 {
        html.push_str(r#"<h2>Runs kept</h2><ul class="runs">"#);
        for id in &runs {
            let at = run_time(id).map(http_date).unwrap_or_default();
            if *id == run.id {
                let _ = write!(html, r#"<li>{id} · {at} (shown)</li>"#);
            } else {
                let _ = write!(
                    html,
                    r#"<li><a href="/preview/diff?design={design}&amp;run={id}">{id}</a> · {at}</li>"#,
                    design = run.design
                );
            }
        }
        html.push_str("</ul>");
    }
    html.push_str("</main></body></html>");
    Ok(Html(html))
}

fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}
async fn image(
    State(state): State<AppState>,
    Path((design, run, listing, image)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    // Checked before they name an object in the bucket.
    if !card_request::is_design_name(&design)
        || !is_run_id(&run)
        || !REFERENCES.contains(&listing.as_str())
    {
        return Err(ApiError::NotFound);
    }
    let runs = &state.check_runs;
    let card = |card: Card| runs.card(&design, &run, &listing, card);
    let bytes = match image.as_str() {
        "after.png" => card(Card::After).await?,
        "before.png" => card(Card::Before).await?,
        "diff.png" => match (card(Card::Before).await?, card(Card::After).await?) {
            (Some(before), Some(after)) => diff_image(&before, &after),
            _ => None,
        },
        _ => None,
    };
    let bytes = bytes.ok_or(ApiError::NotFound)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    // A run id names one run forever.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}

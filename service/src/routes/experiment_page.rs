//! `GET /admin/experiments/{name}`: an experiment's results for designers, as one HTML page with no
//! script and no external resource: each variant's card on a sample listing, the click-through
//! rates as bars with their 95 % intervals (inline SVG), the verdict, the numbers, and a Promote
//! button per variant (a form carrying the session's CSRF token).

use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::listings::is_valid_id;
use crate::routes::admin::{Admin, STYLE, form_field};
use crate::routes::experiments::results_document;
use crate::routes::share::escape;

/// The listing the variants' cards are shown on unless `?listing=` names another.
const SAMPLE_LISTING: &str = "dl-0001";

/// The chart's geometry (SVG user units).
const LABEL_WIDTH: f64 = 160.0;
const PLOT_WIDTH: f64 = 520.0;
const ROW_HEIGHT: f64 = 44.0;
const AXIS_HEIGHT: f64 = 28.0;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/admin/experiments/{name}", get(page))
}

async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    Extension(admin): Extension<Admin>,
) -> Result<Response, ApiError> {
    let sample = match raw
        .as_deref()
        .and_then(|q| form_field(q.as_bytes(), "listing"))
    {
        Some(id) if is_valid_id(&id) => id,
        Some(_) => return Err(ApiError::InvalidListingId),
        None => SAMPLE_LISTING.to_owned(),
    };
    let results = results_document(&state, &name).await?;
    let running = results["running"].as_bool().unwrap_or(false);
    let variants = results["variants"].as_array().cloned().unwrap_or_default();
    let verdict = &results["verdict"];
    let can_promote = running && state.control.is_some();

    let mut html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Experiment {name} · results</title>
<meta name="robots" content="noindex"><style>{STYLE}
main{{padding:24px;max-width:1100px}}.status{{font-size:13px;padding:2px 8px;border-radius:10px;background:#1b263b;margin-left:8px}}
.verdict{{font-size:18px;padding:12px 16px;background:#111b2e;border-left:4px solid #1f6feb;border-radius:6px}}
.verdict[data-code=variant-leads]{{border-color:#3fb950}}.verdict[data-code=not-enough-data]{{border-color:#d29922}}
table{{border-collapse:collapse}}td,th{{padding:6px 10px;text-align:right;border-bottom:1px solid #1b263b}}td:first-child,th:first-child{{text-align:left}}
.cards{{display:flex;gap:16px;flex-wrap:wrap}}figure{{margin:0;background:#111b2e;padding:12px;border-radius:8px}}
figure img{{width:360px;height:189px;display:block;border-radius:6px;background:#1b263b}}figcaption{{margin-top:8px;display:flex;justify-content:space-between;align-items:center;gap:8px}}
svg text{{fill:#dbe4f0;font:13px system-ui,sans-serif}}svg .tick{{fill:#8fa3bf;font-size:11px}}
</style></head><body><main>
<h1>Experiment {name}<span class="status">{status}</span></h1>
<p class="meta"><a href="/admin/experiments/{name}/results">results as JSON</a> · <a href="/admin/experiments/history">history (JSON)</a> · <a href="/preview">all designs</a></p>
<p class="verdict" data-code="{code}">{verdict}</p>
"#,
        name = escape(&name),
        status = status(&results),
        code = escape(verdict["code"].as_str().unwrap_or_default()),
        verdict = escape(verdict["text"].as_str().unwrap_or_default()),
    );
    html.push_str("<h2>Click-through rate (clicks per unfurl), with 95 % intervals</h2>");
    html.push_str(&chart(&variants));
    html.push_str(&table(&results, &variants));

    html.push_str("<h2>The variants</h2><div class=\"cards\">");
    let csrf = admin.csrf();
    for v in &variants {
        let variant = v["name"].as_str().unwrap_or_default();
        let design = v["design"].as_str();
        let image = design.map(|d| format!("/api/og-image/{sample}?variant={d}"));
        let _ = write!(
            html,
            r#"<figure data-variant="{variant}">{img}<figcaption><span><strong>{variant}</strong> <span class="meta">design {design}</span></span>"#,
            variant = escape(variant),
            img = image
                .map(|src| format!(
                    r#"<img src="{src}" width="1200" height="630" alt="{variant} on {sample}">"#,
                    src = escape(&src),
                    variant = escape(variant),
                    sample = escape(&sample),
                ))
                .unwrap_or_default(),
            design = escape(design.unwrap_or("—")),
        );
        if can_promote {
            let _ = write!(
                html,
                r#"<form method="post" action="/admin/experiments/{name}/promote">{csrf}<input type="hidden" name="variant" value="{variant}"><button type="submit" name="promote" value="{variant}">Promote {variant}</button></form>"#,
                name = escape(&name),
                variant = escape(variant),
                csrf = csrf
                    .as_deref()
                    .map(|t| format!(r#"<input type="hidden" name="csrf" value="{}">"#, escape(t)))
                    .unwrap_or_default(),
            );
        }
        html.push_str("</figcaption></figure>");
    }
    html.push_str("</div>");
    if running && state.control.is_none() {
        html.push_str("<p class=\"meta\">Promotion needs the control plane (S3__ENABLED and CONTROL__ENABLED).</p>");
    }
    if let Some(token) = csrf {
        let _ = write!(
            html,
            r#"<form method="post" action="/admin/logout" style="margin-top:32px"><input type="hidden" name="csrf" value="{}"><button type="submit">Sign out</button></form>"#,
            escape(&token)
        );
    }
    html.push_str("</main></body></html>");
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

fn status(results: &Value) -> String {
    if results["running"].as_bool() == Some(true) {
        return "running".into();
    }
    match results["promoted"].as_str() {
        Some(variant) => format!("ended · {} promoted", escape(variant)),
        None => "ended".into(),
    }
}

/// A horizontal bar per variant (its CTR) with the Wilson interval drawn as an error bar.
fn chart(variants: &[Value]) -> String {
    let high = variants
        .iter()
        .filter(|v| v["unfurls"].as_u64().unwrap_or(0) > 0)
        .filter_map(|v| v["ctr_interval_95"][1].as_f64())
        .fold(0.0_f64, f64::max);
    let scale_max = nice_ceiling(high.max(0.01));
    let x = |rate: f64| LABEL_WIDTH + PLOT_WIDTH * (rate / scale_max).clamp(0.0, 1.0);
    let height = AXIS_HEIGHT + ROW_HEIGHT * variants.len() as f64;
    let width = LABEL_WIDTH + PLOT_WIDTH + 90.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Click-through rate by variant" viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="ctr-chart">"#
    );
    for i in 0..=4 {
        let rate = scale_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{bottom:.1}" stroke="#1b263b"/><text class="tick" x="{x:.1}" y="{label:.1}" text-anchor="middle">{pct}</text>"##,
            x = x(rate),
            bottom = height - AXIS_HEIGHT + 4.0,
            label = height - 8.0,
            pct = percent(rate, 1),
        );
    }
    for (i, v) in variants.iter().enumerate() {
        let name = escape(v["name"].as_str().unwrap_or_default());
        let top = ROW_HEIGHT * i as f64;
        let middle = top + ROW_HEIGHT / 2.0;
        let _ = write!(
            svg,
            r#"<text x="0" y="{y:.1}" dominant-baseline="middle">{name}</text>"#,
            y = middle
        );
        let Some(ctr) = v["ctr"].as_f64() else {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{x:.1}" y="{middle:.1}" dominant-baseline="middle">no unfurls yet</text>"#,
                x = LABEL_WIDTH + 4.0
            );
            continue;
        };
        let (low, high) = (
            v["ctr_interval_95"][0].as_f64().unwrap_or(0.0),
            v["ctr_interval_95"][1].as_f64().unwrap_or(1.0),
        );
        let colour = if i == 0 { "#8fa3bf" } else { "#1f6feb" };
        let _ = write!(
            svg,
            r##"<rect class="bar" data-variant="{name}" data-ctr="{ctr:.6}" x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}" rx="3"/><g class="interval" data-low="{low:.6}" data-high="{high:.6}" stroke="#f0f6fc" stroke-width="2"><line x1="{lx:.1}" y1="{middle:.1}" x2="{hx:.1}" y2="{middle:.1}"/><line x1="{lx:.1}" y1="{t:.1}" x2="{lx:.1}" y2="{b:.1}"/><line x1="{hx:.1}" y1="{t:.1}" x2="{hx:.1}" y2="{b:.1}"/></g><text x="{label:.1}" y="{middle:.1}" dominant-baseline="middle">{pct}</text>"##,
            x0 = LABEL_WIDTH,
            y = top + 10.0,
            w = x(ctr) - LABEL_WIDTH,
            h = ROW_HEIGHT - 20.0,
            lx = x(low),
            hx = x(high),
            t = middle - 8.0,
            b = middle + 8.0,
            label = LABEL_WIDTH + PLOT_WIDTH + 8.0,
            pct = percent(ctr, 2),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn table(results: &Value, variants: &[Value]) -> String {
    let mut out = String::from(
        "<h2>The numbers</h2><table><thead><tr><th>Variant</th><th>Design</th><th>Unfurls</th><th>Impressions</th><th>Clicks</th><th>CTR</th><th>95 % interval</th><th>Lift</th><th>p</th></tr></thead><tbody>",
    );
    let adjusted = results["correction"].as_str() == Some("holm");
    for v in variants {
        let interval = match (
            v["ctr_interval_95"][0].as_f64(),
            v["ctr_interval_95"][1].as_f64(),
        ) {
            (Some(low), Some(high)) if v["unfurls"].as_u64() > Some(0) => {
                format!("{} – {}", percent(low, 2), percent(high, 2))
            }
            _ => "—".into(),
        };
        let p = if adjusted { &v["p_adjusted"] } else { &v["p"] };
        let _ = write!(
            out,
            "<tr data-variant=\"{name}\"><td>{name}</td><td>{design}</td><td>{unfurls}</td><td>{impressions}</td><td>{clicks}</td><td>{ctr}</td><td>{interval}</td><td>{lift}</td><td>{p}</td></tr>",
            name = escape(v["name"].as_str().unwrap_or_default()),
            design = escape(v["design"].as_str().unwrap_or("—")),
            unfurls = v["unfurls"],
            impressions = v["impressions"],
            clicks = v["clicks"],
            ctr = v["ctr"].as_f64().map_or("—".into(), |c| percent(c, 2)),
            lift = v["lift"]
                .as_f64()
                .map_or("—".into(), |l| format!("{:+.1} %", l * 100.0)),
            p = p.as_f64().map_or("control".into(), |p| format!("{p:.4}")),
        );
    }
    out.push_str("</tbody></table>");
    if adjusted {
        out.push_str("<p class=\"meta\">p-values are Holm-adjusted: more than one variant is compared with the control.</p>");
    }
    let _ = write!(
        out,
        "<p class=\"meta\">Rates are compared once every variant has {} unfurls (EXPERIMENTS__MIN_UNFURLS).</p>",
        results["min_unfurls"]
    );
    out
}

fn percent(rate: f64, decimals: usize) -> String {
    format!("{:.*} %", decimals, rate * 100.0)
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `x`: a readable axis maximum.
fn nice_ceiling(x: f64) -> f64 {
    let magnitude = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= x - 1e-12)
        .unwrap_or(10.0 * magnitude)
        .min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(0.034), 0.05);
        assert_eq!(nice_ceiling(0.05), 0.05);
        assert_eq!(nice_ceiling(0.11), 0.2);
        assert_eq!(nice_ceiling(0.9), 1.0);
        assert!((nice_ceiling(0.0021) - 0.0025).abs() < 1e-12);
    }

    #[test]
    fn the_chart_draws_a_bar_and_an_interval_per_counted_variant() {
        let variants = vec![
            serde_json::json!({"name": "control", "unfurls": 400, "ctr": 0.05, "ctr_interval_95": [0.033, 0.076]}),
            serde_json::json!({"name": "bold", "unfurls": 0, "ctr": null, "ctr_interval_95": [0.0, 1.0]}),
        ];
        let svg = chart(&variants);
        assert_eq!(svg.matches("class=\"bar\"").count(), 1);
        assert_eq!(svg.matches("class=\"interval\"").count(), 1);
        assert!(svg.contains("no unfurls yet"));
        assert!(svg.contains("5.00 %"));
    }
}

//! `GET /metrics`: Prometheus text exposition of what operators and designers watch.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    let cards = &state.cards;
    gauge(
        "card_memory_cache_bytes",
        "Bytes of images in the memory tier.",
        "gauge",
        cards.memory.weighted_size() as f64,
    );
    gauge(
        "card_memory_cache_entries",
        "Images in the memory tier.",
        "gauge",
        cards.memory.entry_count() as f64,
    );
    gauge(
        "card_render_in_flight",
        "Renders running or queued.",
        "gauge",
        cards.renderer.in_flight() as f64,
    );
    if let Some(pool) = cards.renderer.browser() {
        gauge(
            "card_browser_pool_pages",
            "Pages the browser pool can capture with at once.",
            "gauge",
            pool.capacity() as f64,
        );
        gauge(
            "card_browser_restarts_total",
            "Browsers relaunched after a crash, kill or deadline.",
            "counter",
            pool.restarts() as f64,
        );
    }
    gauge(
        "card_templates_live",
        "Designs live in the registry.",
        "gauge",
        cards.renderer.templates().snapshot().len() as f64,
    );
    let _ = writeln!(
        out,
        "# HELP card_variant_impressions_total Image requests served per experiment variant and crawler family.\n# TYPE card_variant_impressions_total counter"
    );
    for (experiment, variant, agent, count) in state.experiments.impressions.rows() {
        let _ = writeln!(
            out,
            "card_variant_impressions_total{{experiment=\"{}\",variant=\"{}\",agent=\"{agent}\"}} {count}",
            label(&experiment),
            label(&variant)
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// Label values escaped as the exposition format asks (names here are `[a-z0-9-]` already).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

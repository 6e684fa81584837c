//! `GET /healthz` (the process answers) and `GET /readyz` (browser, designs and S3 are usable).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut ready = true;
    let browser = match state.cards.browser() {
        None => json!({"status": "disabled"}),
        Some(pool) => {
            let up = pool.is_ready().await;
            ready &= up;
            json!({"status": if up { "ok" } else { "down" }, "version": pool.version(), "restarts": pool.restarts(), "recycles": pool.recycles()})
        }
    };
    let designs = state.cards.designs().snapshot();
    let default_live = designs.contains_key(&state.settings.templates.default);
    ready &= default_live;
    let design_status = json!({
        "status": if default_live { "ok" } else { "missing-default" },
        "default": state.settings.templates.default,
        "live": designs.values().map(|t| t.label()).collect::<Vec<_>>(),
    });
    let s3 = match &state.cards.s3 {
        None => json!({"status": "disabled"}),
        // S3 down degrades caching but images still render and serve: report it, stay ready.
        // An open breaker is reported as it is, without calling S3 (it is the last probe's verdict).
        Some(store) if store.health().is_open() => json!({
            "status": "degraded",
            "breaker": store.health().state().name(),
            "bucket": store.bucket(),
        }),
        Some(store) => {
            let breaker = store.health().state().name();
            match tokio::time::timeout(Duration::from_secs(2), store.health_check()).await {
                Ok(Ok(())) => json!({"status": "ok", "breaker": breaker, "bucket": store.bucket()}),
                Ok(Err(e)) => {
                    json!({"status": "degraded", "breaker": breaker, "error": e.to_string()})
                }
                Err(_) => json!({"status": "degraded", "breaker": breaker, "error": "timed out"}),
            }
        }
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "browser": browser,
            "templates": design_status,
            "s3": s3,
            "control": state.control.as_ref().map_or_else(|| json!({"status": "disabled"}), |c| c.readiness()),
        })),
    )
}

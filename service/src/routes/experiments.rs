//! `/admin/experiments`: the A/B experiment in force, replaced at run time, and its impressions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::experiments::{Experiment, IMPRESSIONS};
use std::collections::BTreeMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/experiments", get(current).put(replace))
        .route("/admin/experiments/{name}/stats", get(stats))
}

async fn current(State(state): State<AppState>) -> Json<Value> {
    Json(json!(*state.experiments.current()))
}

/// Takes JSON, or TOML when the `Content-Type` says `toml`. Every variant's design must be live.
/// Cached images stay valid: keys name designs, not variants, so nothing is re-rendered.
async fn replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let toml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"));
    let text = std::str::from_utf8(&body).map_err(|_| invalid("the body is not UTF-8".into()))?;
    let experiment = Experiment::parse(text, toml).map_err(|e| invalid(e.to_string()))?;
    let registry = state.cards.designs();
    experiment
        .validate(|design| registry.get(design).is_some())
        .map_err(|e| invalid(e.to_string()))?;
    if let Some(control) = &state.control {
        let manifest = control.set_experiment(&experiment).await?;
        tracing::info!(experiment = %experiment.name, variants = experiment.variants.len(), revision = manifest.revision, "experiment put in force fleet-wide");
        let mut body = json!(experiment);
        body["revision"] = json!(manifest.revision);
        return Ok(Json(body));
    }
    state
        .experiments
        .replace(experiment.clone())
        .map_err(|e| ApiError::Internal(format!("TEMPLATES__EXPERIMENTS_FILE: {e}")))?;
    tracing::info!(experiment = %experiment.name, variants = experiment.variants.len(), "experiment replaced");
    Ok(Json(json!(experiment)))
}

async fn stats(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let current = state.experiments.current();
    // With a fleet: every instance's flushed counts plus this instance's running ones.
    let counts = match &state.control {
        Some(control) => control.counts(&name).await?.map(|tally| {
            tally
                .into_iter()
                .map(|(variant, mut kinds)| {
                    (variant, kinds.remove(IMPRESSIONS).unwrap_or_default())
                })
                .collect::<BTreeMap<_, _>>()
        }),
        None => state.experiments.impressions.for_experiment(&name),
    };
    if counts.is_none() && current.name != name {
        return Err(ApiError::NotFound);
    }
    let counts = counts.unwrap_or_default();
    let variants: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(variant, families)| {
            let total: u64 = families.values().sum();
            (
                variant.clone(),
                json!({ "impressions": total, "by_agent": families }),
            )
        })
        .collect();
    Ok(Json(json!({
        "experiment": name,
        "running": current.name == name,
        "weights": if current.name == name { json!(current.variants) } else { Value::Null },
        "fleet": state.control.is_some(),
        "variants": variants,
    })))
}

fn invalid(message: String) -> ApiError {
    ApiError::Invalid {
        code: "experiment-invalid",
        message,
    }
}

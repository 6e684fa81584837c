//! `/admin/experiments`: the A/B experiment in force, replaced at run time, its counts and results.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::experiments::{CLICKS, Experiment, IMPRESSIONS, UNFURLS, stats};
use crate::routes::admin::form_field;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/experiments", get(current).put(replace))
        .route("/admin/experiments/history", get(history))
        .route("/admin/experiments/{name}/stats", get(stats))
        .route("/admin/experiments/{name}/results", get(results))
        .route("/admin/experiments/{name}/promote", post(promote))
}

/// Every count of an experiment: the fleet's (every instance's flushed counts plus this
/// instance's running ones) or this instance's alone.
async fn tally(state: &AppState, name: &str) -> Result<Option<card_control::Tally>, ApiError> {
    Ok(match &state.control {
        Some(control) => control.counts(name).await?,
        None => {
            let tally = state.experiments.events.tally(name);
            (!tally.is_empty()).then_some(tally)
        }
    })
}

/// The variants of `name` in order (the first is the control): the running experiment's, else
/// the ended one's as the control plane kept it, else those that were counted, sorted.
fn variants_of(state: &AppState, name: &str, tally: &card_control::Tally) -> (Vec<String>, bool) {
    let current = state.experiments.current();
    if current.name == name {
        return (
            current.variants.iter().map(|v| v.name.clone()).collect(),
            true,
        );
    }
    let ended = state
        .control
        .as_ref()
        .and_then(|c| c.manifest())
        .and_then(|m| m.ended.iter().rev().find(|e| e.name == name).cloned())
        .and_then(|e| serde_json::from_value::<Experiment>(e.spec).ok());
    match ended {
        Some(e) => (e.variants.into_iter().map(|v| v.name).collect(), false),
        None => (tally.keys().cloned().collect(), false),
    }
}

/// `GET /admin/experiments/{name}/results`: per variant the unfurls (crawlers fetching the share
/// page: the card was shown), impressions (image fetches) and clicks (people opening the link),
/// the click-through rate (clicks per unfurl) with its 95 % Wilson interval, each variant's lift
/// over the control (the first variant) with a two-sided two-proportion z-test (Holm-corrected
/// with more than one comparison), and the verdict in words.
async fn results(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(results_document(&state, &name).await?))
}

/// The results of experiment `name` (running or ended), as `/results` answers them: 404 when
/// it neither runs nor was ever counted or kept.
pub(crate) async fn results_document(state: &AppState, name: &str) -> Result<Value, ApiError> {
    let counted = tally(state, name).await?;
    let (order, running) =
        variants_of(state, name, counted.as_ref().unwrap_or(&Default::default()));
    if !running && counted.is_none() && ended_record(state, name).is_none() {
        return Err(ApiError::NotFound);
    }
    let counted = counted.unwrap_or_default();
    let sum = |variant: &str, kind: &str| -> (u64, BTreeMap<String, u64>) {
        let families = counted
            .get(variant)
            .and_then(|k| k.get(kind))
            .cloned()
            .unwrap_or_default();
        (families.values().sum(), families)
    };
    let arms: Vec<stats::Arm> = order
        .iter()
        .map(|v| stats::Arm {
            name: v.clone(),
            unfurls: sum(v, UNFURLS).0,
            clicks: sum(v, CLICKS).0,
        })
        .collect();
    let min_unfurls = state.settings.experiments.min_unfurls;
    let (comparisons, verdict) = stats::analyse(&arms, min_unfurls, 0.05);
    let designs = designs_of(state, name);
    let variants: Vec<Value> = arms
        .iter()
        .map(|arm| {
            let (impressions, by_agent) = sum(&arm.name, IMPRESSIONS);
            let (_, unfurls_by_agent) = sum(&arm.name, UNFURLS);
            let (low, high) = stats::wilson(arm.clicks, arm.unfurls);
            let compared = comparisons.iter().find(|c| c.variant == arm.name);
            json!({
                "name": arm.name,
                "design": designs.get(&arm.name),
                "unfurls": arm.unfurls,
                "unfurls_by_agent": unfurls_by_agent,
                "impressions": impressions,
                "impressions_by_agent": by_agent,
                "clicks": arm.clicks,
                "ctr": (arm.unfurls > 0).then(|| arm.clicks.min(arm.unfurls) as f64 / arm.unfurls as f64),
                "ctr_interval_95": [low, high],
                "lift": compared.and_then(|c| c.lift),
                "z": compared.map(|c| c.z),
                "p": compared.map(|c| c.p),
                "p_adjusted": compared.map(|c| c.p_adjusted),
            })
        })
        .collect();
    let ended = ended_record(state, name);
    Ok(json!({
        "experiment": name,
        "running": running,
        "control": order.first(),
        "min_unfurls": min_unfurls,
        "correction": if comparisons.len() > 1 { "holm" } else { "none" },
        "fleet": state.control.is_some(),
        "variants": variants,
        "verdict": {"code": verdict.code, "text": verdict.text},
        "ended_at": ended.as_ref().and_then(|e| e.ended_at),
        "promoted": ended.as_ref().and_then(|e| e.promoted.clone()),
    }))
}

/// The newest ended record of `name` the control plane keeps (only while `name` is not running).
fn ended_record(state: &AppState, name: &str) -> Option<card_control::ExperimentRecord> {
    if state.experiments.current().name == name {
        return None;
    }
    let manifest = state.control.as_ref()?.manifest()?;
    manifest.ended.into_iter().rev().find(|e| e.name == name)
}

/// Variant → design of `name`: the running experiment's, else the ended one's.
fn designs_of(state: &AppState, name: &str) -> BTreeMap<String, String> {
    let current = state.experiments.current();
    let experiment = if current.name == name {
        Some((*current).clone())
    } else {
        ended_record(state, name).and_then(|e| serde_json::from_value::<Experiment>(e.spec).ok())
    };
    experiment
        .map(|e| e.variants.into_iter().map(|v| (v.name, v.design)).collect())
        .unwrap_or_default()
}

/// `POST /admin/experiments/{name}/promote` `{"variant": "…"}` (JSON, or a form from the results
/// page, which is sent back to the page): the variant's design becomes the default fleet-wide,
/// the experiment ends and its results are kept in the history.
async fn promote(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let variant = if form {
        form_field(&body, "variant")
    } else {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("variant")?.as_str().map(str::to_owned))
    }
    .filter(|v| !v.is_empty())
    .ok_or_else(|| ApiError::Invalid {
        code: "promote-invalid",
        message: r#"the body must name the variant to promote: {"variant": "NAME"}"#.into(),
    })?;
    let Some(control) = &state.control else {
        return Err(control_plane_disabled("promotion"));
    };
    let current = state.experiments.current();
    if current.name != name || !state.experiments.is_running() {
        return Err(match ended_record(&state, &name) {
            Some(ended) => ApiError::Conflict {
                code: "experiment-not-running",
                message: format!(
                    "experiment `{name}` has ended{}; nothing to promote",
                    ended
                        .promoted
                        .map(|p| format!(" (variant `{p}` was promoted)"))
                        .unwrap_or_default()
                ),
            },
            None => ApiError::NotFound,
        });
    }
    let Some(chosen) = current.variant(&variant) else {
        let known: Vec<&str> = current.variants.iter().map(|v| v.name.as_str()).collect();
        return Err(ApiError::UnknownVariant(
            variant.chars().take(64).collect(),
            known.join(", "),
        ));
    };
    if state.designs().get(&chosen.design).is_none() {
        return Err(ApiError::Conflict {
            code: "design-not-live",
            message: format!(
                "variant `{variant}` serves design `{}`, which is not live here (see /readyz `control`); publish it again or promote another variant",
                chosen.design
            ),
        });
    }
    let results = results_document(&state, &name).await?;
    let (manifest, design) = control.promote(&name, &variant, results.clone()).await?;
    tracing::info!(experiment = %name, %variant, %design, revision = manifest.revision, "experiment promoted: its design is the default fleet-wide");
    if form {
        return Ok(Redirect::to(&format!("/admin/experiments/{name}")).into_response());
    }
    Ok(Json(json!({
        "experiment": name,
        "promoted": variant,
        "default": design,
        "revision": manifest.revision,
        "results": results,
    }))
    .into_response())
}

/// `GET /admin/experiments/history`: ended experiments, newest first, with who ended them, the
/// promoted variant and the results kept at promotion.
async fn history(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let Some(control) = &state.control else {
        return Err(control_plane_disabled("the experiment history"));
    };
    let manifest = control
        .manifest()
        .ok_or_else(|| ApiError::ControlPlaneUnavailable {
            detail: "no manifest read yet".into(),
        })?;
    let experiments: Vec<Value> = manifest.ended.iter().rev().map(|e| json!(e)).collect();
    Ok(Json(
        json!({ "experiments": experiments, "revision": manifest.revision }),
    ))
}

fn control_plane_disabled(what: &str) -> ApiError {
    ApiError::Conflict {
        code: "control-plane-disabled",
        message: format!(
            "{what} needs the control plane (S3__ENABLED=true and CONTROL__ENABLED=true): it is what keeps the default design and the history fleet-wide"
        ),
    }
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
        None => state.experiments.events.for_experiment(&name),
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

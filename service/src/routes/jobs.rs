//! `/admin/jobs` and `/admin/invalidate`: background jobs by hand, their history, and listing invalidation.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::jobs::Variants;
use crate::jobs::cleanup::CleanupOptions;
use crate::jobs::warm_cache::{WarmCacheOptions, designs_to_warm};
use crate::jobs::{RunRequest, StartError, Trigger, rfc3339};
use crate::listings::is_valid_id;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/jobs", get(list))
        .route("/admin/jobs/warm-cache", post(warm_cache))
        .route("/admin/jobs/cleanup", post(cleanup))
        .route("/admin/jobs/{run_id}", get(show))
        .route("/admin/invalidate/{listing_id}", post(invalidate))
}

/// The schedules with their next run and lease, then the runs (in progress first, newest first), then counters.
async fn list(State(state): State<AppState>) -> Json<Value> {
    let jobs = &state.jobs;
    let now = jobs.clock().now();
    let mut scheduled = Vec::new();
    for (job, schedule) in jobs.schedules() {
        let lease = match jobs.leases() {
            Some(store) => match store.read(job.as_str()).await {
                Ok(Some((body, _))) => {
                    let mut lease = json!(body);
                    lease["held"] = json!(!body.is_free(now));
                    lease
                }
                Ok(None) => Value::Null,
                Err(e) => json!({ "error": e.to_string() }),
            },
            None => Value::Null,
        };
        scheduled.push(json!({
            "job": job,
            "schedule": schedule.pattern(),
            "description": format!("{} (UTC)", schedule.describe().trim_end_matches('.')),
            "next_run": jobs.settings().enabled.then(|| schedule.next_after(now).map(rfc3339)).flatten(),
            "lease": lease,
        }));
    }
    Json(json!({
        "instance": jobs.instance(),
        "enabled": jobs.settings().enabled,
        "jobs": scheduled,
        "runs": jobs.runs(),
        "stats": jobs.stats().to_json(),
    }))
}

async fn show(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = state.jobs.find(&run_id).ok_or(ApiError::NotFound)?;
    Ok(Json(json!({ "run": run })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WarmCacheQuery {
    limit: Option<usize>,
    metric: Option<String>,
    variants: Option<String>,
}

/// `?limit=N&metric=M&variants=all|default|a,b`, each defaulting to its `JOBS__WARM_CACHE__*` setting.
async fn warm_cache(
    State(state): State<AppState>,
    query: Result<Query<WarmCacheQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(invalid_query)?;
    let mut options = WarmCacheOptions::from_settings(&state.settings.jobs.warm_cache);
    if let Some(limit) = query.limit {
        if !(1..=10_000).contains(&limit) {
            return Err(invalid(
                "limit must be a whole number from 1 to 10000".into(),
            ));
        }
        options.limit = limit;
    }
    if let Some(metric) = query.metric {
        options.metric = metric.parse().map_err(invalid)?;
    }
    if let Some(variants) = query.variants {
        options.variants =
            Variants::parse(&variants).map_err(|e| invalid(format!("variants: expected {e}")))?;
    }
    designs_to_warm(state.jobs.deps(), &options.variants).map_err(invalid)?;
    start(&state, RunRequest::WarmCache(options)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupQuery {
    #[serde(default)]
    dry_run: bool,
}

/// `?dry_run=true` reports what would be deleted and deletes nothing.
async fn cleanup(
    State(state): State<AppState>,
    query: Result<Query<CleanupQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(invalid_query)?;
    let options = CleanupOptions {
        dry_run: query.dry_run,
        now: None,
    };
    start(&state, RunRequest::Cleanup(options)).await
}

/// Drops the listing's images from the memory tier (with a fleet, of every instance: the
/// invalidation is recorded in the control plane first, and nothing happens when that fails) and
/// renders its current version in the background, so the next crawler fetch is a hit. S3 needs no
/// purge: a changed listing has a new key.
async fn invalidate(
    State(state): State<AppState>,
    Path(listing_id): Path<String>,
) -> Result<Response, ApiError> {
    if !is_valid_id(&listing_id) {
        return Err(ApiError::InvalidListingId);
    }
    let listing = state
        .listings
        .get(&listing_id)
        .await
        .map_err(|e| ApiError::ListingSourceUnavailable {
            detail: e.to_string(),
        })?
        .ok_or_else(|| ApiError::ListingNotFound(listing_id.clone()))?;
    if let Some(control) = &state.control {
        let seq = control.invalidate(&listing_id).await?;
        tracing::info!(listing = %listing_id, seq, "invalidation recorded for the fleet");
    }
    state.cards.memory.invalidate_listing(&listing_id);
    tracing::info!(listing = %listing_id, "memory tier entries invalidated");
    start(&state, RunRequest::Invalidate(listing)).await
}

/// 202 with the run and its `Location`, or why it did not start.
async fn start(state: &AppState, request: RunRequest) -> Result<Response, ApiError> {
    let started = state
        .jobs
        .start(request, Trigger::Manual, None)
        .await
        .map_err(start_error)?;
    let location = format!("/admin/jobs/{}", started.id);
    let run = state.jobs.find(&started.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!({ "run": run })),
    )
        .into_response())
}

fn start_error(e: StartError) -> ApiError {
    let code = match &e {
        StartError::RunningHere { .. } => "job-running",
        StartError::HeldElsewhere { .. } | StartError::SlotTaken { .. } => "job-running-elsewhere",
        StartError::NoBucket => "s3-disabled",
        StartError::ShuttingDown => "shutting-down",
        StartError::Lease(_) | StartError::Task(_) => return ApiError::Internal(e.to_string()),
    };
    ApiError::Conflict {
        code,
        message: e.to_string(),
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::Invalid {
        code: "invalid-job-options",
        message,
    }
}

fn invalid_query(rejection: QueryRejection) -> ApiError {
    invalid(rejection.body_text())
}

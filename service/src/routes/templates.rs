//! `/admin/templates`: list, upload (hot swap), roll back and retire card designs.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::render::designs::{LoadedDesign, RegistryError};
use card_request::is_design_name;

/// Largest component accepted by upload (a QuickJS design is ≈ 2 MB; Python ≈ 20 MB).
const MAX_UPLOAD: usize = 32 << 20;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/templates", get(list))
        .route(
            "/admin/templates/{name}",
            put(upload)
                .delete(retire)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/admin/templates/{name}/rollback", post(rollback))
}

fn describe(t: &LoadedDesign) -> Value {
    json!({
        "name": t.name,
        "version": t.version,
        "digest": t.digest,
        "bytes": t.component_bytes,
        "loaded_at": httpdate::fmt_http_date(t.loaded_at),
    })
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    let registry = state.cards.designs();
    let experiment = state.experiments.current();
    let designs: Vec<Value> = registry
        .snapshot()
        .values()
        .map(|t| {
            let mut d = describe(t);
            d["served_by_experiment"] = json!(experiment.serves(&t.name));
            d["history"] = json!(
                registry
                    .history(&t.name)
                    .iter()
                    .map(|h| describe(h))
                    .collect::<Vec<_>>()
            );
            d
        })
        .collect();
    Json(json!({ "templates": designs }))
}

/// Validates the uploaded component off the async threads, writes it to `TEMPLATES__DIR`, swaps it in.
async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if !is_design_name(&name) {
        return Err(ApiError::Invalid {
            code: "invalid-template-name",
            message: "design names match [a-z0-9-]{1,32}".into(),
        });
    }
    if body.is_empty() {
        return Err(ApiError::Invalid {
            code: "template-invalid",
            message: "the request body must be the component's bytes".into(),
        });
    }
    let registry = state.cards.designs().clone();
    let previous = registry.get(&name);
    let validated = {
        let (registry, name) = (registry.clone(), name.clone());
        tokio::task::spawn_blocking(move || registry.validate(&name, &body))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let design = validated.map_err(|e| ApiError::Invalid {
        code: "template-invalid",
        message: format!("design `{name}` was not swapped in: {e}"),
    })?;
    if previous.as_ref().is_some_and(|p| p.digest == design.digest) {
        return Ok(Json(
            json!({ "template": describe(&design), "changed": false }),
        ));
    }
    // Persist first, so the directory watcher sees bytes it already has and a restart keeps them.
    registry
        .persist(&design)
        .map_err(|e| ApiError::Internal(format!("persist {name}: {e}")))?;
    registry.swap_in(design.clone());
    tracing::info!(template = %design.label(), digest = %&design.digest[..12], "design swapped in by upload");
    Ok(Json(json!({
        "template": describe(&design),
        "changed": true,
        "previous": previous.map(|p| describe(&p)),
    })))
}

async fn rollback(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let registry = state.cards.designs().clone();
    let restored = tokio::task::spawn_blocking(move || registry.rollback(&name))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(registry_error)?;
    tracing::info!(template = %restored.label(), digest = %&restored.digest[..12], "design rolled back");
    Ok(Json(json!({ "template": describe(&restored) })))
}

async fn retire(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let experiment = state.experiments.current();
    if experiment.serves(&name) {
        return Err(ApiError::Conflict {
            code: "template-in-use",
            message: format!(
                "experiment `{}` still serves design `{name}`; change the experiment first",
                experiment.name
            ),
        });
    }
    let registry = state.cards.designs().clone();
    let removed = tokio::task::spawn_blocking(move || registry.remove(&name))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(registry_error)?;
    tracing::info!(template = %removed.label(), "design retired");
    Ok(Json(json!({ "removed": describe(&removed) })))
}

fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::NotLive(_) => ApiError::NotFound,
        RegistryError::NoEarlierVersion(_) => ApiError::Conflict {
            code: "no-earlier-version",
            message: e.to_string(),
        },
        RegistryError::Io(e) => ApiError::Internal(e.to_string()),
    }
}

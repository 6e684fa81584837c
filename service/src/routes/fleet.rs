//! `GET /admin/fleet`: every instance of the fleet, whether it serves what the manifest names,
//! and which stopped reporting.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/fleet", get(fleet))
}

async fn fleet(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let Some(control) = &state.control else {
        return Err(ApiError::Conflict {
            code: "control-plane-disabled",
            message: "this instance runs alone (S3__ENABLED=false or CONTROL__ENABLED=false): there is no fleet to show".into(),
        });
    };
    Ok(Json(control.fleet().await?))
}

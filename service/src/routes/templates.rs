//! `/admin/templates`: list, upload (hot swap, after the render checks), roll back and retire
//! card designs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::control::check_runs::{CheckRun, CheckRuns, Kept, RunCard, RunFinding, RunImages};
use crate::error::ApiError;
use crate::render::checks;
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
        .route("/admin/templates/{name}/default", post(make_default))
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

/// The live designs. With a fleet, each design's history is the manifest's (every version that
/// was live, by whom and when), and the answer names the manifest revision and retired designs.
async fn list(State(state): State<AppState>) -> Json<Value> {
    let registry = state.cards.designs();
    let experiment = state.experiments.current();
    let manifest = state.control.as_ref().and_then(|c| c.manifest());
    let designs: Vec<Value> = registry
        .snapshot()
        .values()
        .map(|t| {
            let mut d = describe(t);
            d["served_by_experiment"] = json!(experiment.serves(&t.name));
            d["history"] = match manifest.as_ref().and_then(|m| m.designs.get(&t.name)) {
                Some(entry) => json!(entry.history),
                None => json!(
                    registry
                        .history(&t.name)
                        .iter()
                        .map(|h| describe(h))
                        .collect::<Vec<_>>()
                ),
            };
            if let Some(entry) = manifest.as_ref().and_then(|m| m.designs.get(&t.name)) {
                d["published"] = json!(entry.live);
            }
            d
        })
        .collect();
    match manifest {
        Some(m) => Json(json!({
            "templates": designs,
            "revision": m.revision,
            "default": m.default_design,
            "retired": m.retired,
        })),
        None => Json(json!({ "templates": designs })),
    }
}

/// Validates the uploaded component off the async threads, writes it to `TEMPLATES__DIR`, swaps it in.
async fn upload(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let dry_run = dry_run(raw.as_deref())?;
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
    let (checks, diff) = render_checks(&state, &design, previous.as_ref(), dry_run).await?;
    if dry_run {
        tracing::info!(template = %design.label(), "design checked, not published (dry run)");
        return Ok(Json(json!({
            "template": describe(&design),
            "dry_run": true,
            "published": false,
            "checks": checks,
            "diff": diff,
        })));
    }
    if let Some(control) = &state.control {
        let (manifest, changed) = control.publish(design.clone(), "upload").await?;
        tracing::info!(template = %design.label(), digest = %&design.digest[..12], revision = manifest.revision, changed, "design published to the fleet by upload");
        return Ok(Json(json!({
            "template": describe(&design),
            "changed": changed,
            "previous": previous.filter(|_| changed).map(|p| describe(&p)),
            "revision": manifest.revision,
            "checks": checks,
            "diff": diff,
        })));
    }
    if previous.as_ref().is_some_and(|p| p.digest == design.digest) {
        return Ok(Json(
            json!({ "template": describe(&design), "changed": false, "checks": checks, "diff": diff }),
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
        "checks": checks,
        "diff": diff,
    })))
}

/// `?dry_run=true`: validate, check and diff, publish nothing.
fn dry_run(raw: Option<&str>) -> Result<bool, ApiError> {
    let mut dry_run = false;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match (key.as_ref(), value.as_ref()) {
            ("dry_run", "true" | "1") => dry_run = true,
            ("dry_run", "false" | "0") => dry_run = false,
            ("dry_run", other) => {
                return Err(ApiError::Invalid {
                    code: "invalid-parameter",
                    message: format!(
                        "dry_run must be true or false, not `{}`",
                        other.chars().take(32).collect::<String>()
                    ),
                });
            }
            (other, _) => {
                return Err(ApiError::Invalid {
                    code: "unknown-parameter",
                    message: format!(
                        "unknown query parameter `{}`; allowed: dry_run",
                        other.chars().take(32).collect::<String>()
                    ),
                });
            }
        }
    }
    Ok(dry_run)
}

/// The render checks (`render/checks.rs`) of a validated candidate and its visual diff against
/// the live version: 422 `design-check-failed` with the report when a refusing check fails
/// (nothing goes live), else the report (its warnings included) and the diff (`null` for a new
/// design). Without a browser on this instance they cannot run: the answer says so rather than
/// pass them.
async fn render_checks(
    state: &AppState,
    design: &Arc<LoadedDesign>,
    live: Option<&Arc<LoadedDesign>>,
    dry_run: bool,
) -> Result<(Value, Value), ApiError> {
    let levels = state.settings.designs.checks;
    let Some(pool) = state.browser() else {
        let skipped = "rendering is disabled on this instance (PLAYWRIGHT__ENABLED=false): the design was not looked at in Chromium";
        return Ok((
            json!({ "levels": levels.to_string(), "skipped": skipped }),
            json!({ "skipped": skipped }),
        ));
    };
    let deadline = Duration::from_millis(state.settings.playwright.browser_timeout_ms);
    let unavailable = |e: crate::render::browser::BrowserError| ApiError::BrowserUnavailable {
        detail: format!("render checks: {e}"),
    };
    let registry = state.cards.designs();
    let report = checks::run(pool, registry, design, &levels, deadline)
        .await
        .map_err(unavailable)?;
    tracing::info!(
        template = %design.label(),
        listings = report.listings,
        findings = report.findings.len(),
        refused = report.refused(),
        ms = report.took.as_millis() as u64,
        "render checks"
    );
    let id = CheckRuns::new_id();
    let page = format!("/preview/diff?design={}&run={id}", design.name);
    let mut run = CheckRun {
        id: id.clone(),
        design: design.name.clone(),
        label: design.label(),
        against: None,
        at: card_control::now(),
        dry_run,
        refused: report.refused(),
        instance: state.control.as_ref().map(|c| c.id().to_owned()),
        findings: report.findings.iter().map(RunFinding::from).collect(),
        cards: report
            .cards
            .iter()
            .map(|(listing, _)| RunCard {
                listing: (*listing).to_owned(),
                changed: None,
                before: false,
            })
            .collect(),
    };
    let mut images: Vec<RunImages> = report
        .cards
        .iter()
        .map(|(listing, png)| RunImages {
            listing: (*listing).to_owned(),
            after: png.clone(),
            before: None,
        })
        .collect();
    let mut checks_json = report.to_json(&levels);
    checks_json["page"] = json!(page);
    if report.refused() {
        checks_json["kept"] = kept(state.check_runs.keep(run, images).await);
        return Err(ApiError::DesignCheckFailed {
            message: format!(
                "design `{}` was not swapped in: {}",
                design.name,
                report.summary()
            ),
            checks: checks_json,
        });
    }
    let diff = match live {
        Some(live) => {
            let started = std::time::Instant::now();
            let differences = checks::diff(pool, registry, live, &report, deadline)
                .await
                .map_err(unavailable)?;
            let mut diff = checks::diff_json(&differences, |listing| {
                let image =
                    |kind: &str| format!("/preview/diff/{}/{id}/{listing}/{kind}.png", design.name);
                json!({"before": image("before"), "after": image("after"), "diff": image("diff")})
            });
            diff["against"] = json!(live.label());
            diff["ms"] = json!(started.elapsed().as_millis() as u64);
            diff["page"] = json!(page);
            run.against = Some(live.label());
            for d in differences {
                if let Some(card) = run.cards.iter_mut().find(|c| c.listing == d.listing) {
                    (card.before, card.changed) = (true, Some(d.changed));
                }
                if let Some(card) = images.iter_mut().find(|c| c.listing == d.listing) {
                    card.before = Some(d.before);
                }
            }
            diff
        }
        None => Value::Null,
    };
    checks_json["kept"] = kept(state.check_runs.keep(run, images).await);
    Ok((checks_json, diff))
}

/// Where the run's cards can be seen: `fleet` (every instance), or `instance` and why.
fn kept(kept: Kept) -> Value {
    match kept {
        Kept::Fleet => json!({"where": "fleet"}),
        Kept::ThisInstance(None) => json!({"where": "instance"}),
        Kept::ThisInstance(Some(why)) => json!({
            "where": "instance",
            "message": format!("the run could not be written to the control plane, so only this instance shows it: {why}"),
        }),
    }
}

async fn rollback(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Some(control) = &state.control {
        let (manifest, version) = control.rollback(&name).await?;
        tracing::info!(template = %name, digest = %&version.digest[..12], revision = manifest.revision, "design rolled back fleet-wide");
        return Ok(Json(served(&state, &name, &version, manifest.revision)));
    }
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
        return Err(in_use(&experiment.name, &name));
    }
    if let Some(control) = &state.control {
        let (manifest, version) = control.retire(&name).await?;
        tracing::info!(template = %name, revision = manifest.revision, "design retired fleet-wide");
        return Ok(Json(json!({
            "removed": {"name": name, "version": version.version, "digest": version.digest},
            "revision": manifest.revision,
        })));
    }
    let registry = state.cards.designs().clone();
    let removed = tokio::task::spawn_blocking(move || registry.remove(&name))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(registry_error)?;
    tracing::info!(template = %removed.label(), "design retired");
    Ok(Json(json!({ "removed": describe(&removed) })))
}

/// `POST /admin/templates/{name}/default`: the design every listing gets without an experiment
/// (fleet-wide; overrides `TEMPLATES__DEFAULT`). Needs the control plane.
async fn make_default(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(control) = &state.control else {
        return Err(ApiError::Conflict {
            code: "control-plane-disabled",
            message: "without the control plane (S3__ENABLED=false or CONTROL__ENABLED=false) the default design is TEMPLATES__DEFAULT".into(),
        });
    };
    let manifest = control.set_default(&name).await?;
    Ok(Json(
        json!({ "default": manifest.default_design, "revision": manifest.revision }),
    ))
}

/// What this instance serves of `name` after a fleet change, and the version the manifest named.
fn served(state: &AppState, name: &str, version: &card_control::Version, revision: u64) -> Value {
    let live = state.cards.designs().get(name);
    json!({
        "template": live.as_deref().map(describe),
        "published": version,
        "serving": live.is_some_and(|d| d.digest == version.digest),
        "revision": revision,
    })
}

fn in_use(experiment: &str, design: &str) -> ApiError {
    ApiError::Conflict {
        code: "template-in-use",
        message: format!(
            "experiment `{experiment}` still serves design `{design}`; change the experiment first"
        ),
    }
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

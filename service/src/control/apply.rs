//! Making this instance serve a manifest: designs, the experiment, invalidations.
//!
//! Each part is applied on its own, so one design that cannot load does not hold up the others
//! or the experiment. A design is swapped in only after the same validation as an upload (compile,
//! describe, smoke renders), so a half-loaded or broken version is never served; what fails is
//! remembered by digest and reported, and retried when the manifest names another version.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use card_control::Manifest;

use super::ControlPlane;
use crate::experiments::Experiment;

pub(super) async fn apply(plane: &Arc<ControlPlane>, manifest: &Manifest) {
    let designs_ok = apply_designs(plane, manifest).await;
    apply_experiment(plane, manifest);
    apply_invalidations(plane, manifest);
    let mut sync = plane.lock();
    if designs_ok && sync.experiment_problem.is_none() {
        if sync.applied != manifest.revision {
            tracing::info!(
                revision = manifest.revision,
                by = %manifest.updated_by,
                "control plane: serving manifest revision"
            );
        }
        sync.applied = manifest.revision;
    }
}

/// Swaps in every live version this instance does not serve yet and drops the designs the
/// manifest retired. Returns `true` when every design the manifest names is served.
async fn apply_designs(plane: &Arc<ControlPlane>, manifest: &Manifest) -> bool {
    let registry = plane.cards.designs().clone();
    let mut all_ok = true;
    for (name, entry) in &manifest.designs {
        let wanted = &entry.live.digest;
        if registry.get(name).is_some_and(|d| d.digest == *wanted) {
            plane.lock().failed.remove(name);
            continue;
        }
        let loaded = load(plane, name, wanted).await;
        let mut sync = plane.lock();
        match loaded {
            Ok(design) => {
                registry.swap_in(design.clone());
                plane.metrics.swaps.fetch_add(1, Relaxed);
                sync.failed.remove(name);
                tracing::info!(design = %design.label(), digest = %&wanted[..12], revision = manifest.revision, "control plane: design swapped in");
            }
            Err(why) => {
                all_ok = false;
                let seen = sync
                    .failed
                    .get(name)
                    .is_some_and(|(d, w)| d == wanted && *w == why);
                if !seen {
                    tracing::error!(design = %name, digest = %&wanted[..12], error = %why, revision = manifest.revision, "control plane: cannot serve the live version; keeping the last good one");
                }
                sync.failed.insert(name.clone(), (wanted.clone(), why));
            }
        }
    }
    for name in registry.snapshot().keys() {
        if manifest.retired.contains_key(name) && registry.unload(name).is_some() {
            tracing::info!(design = %name, "control plane: design retired");
        }
    }
    plane
        .lock()
        .failed
        .retain(|name, _| manifest.designs.contains_key(name));
    all_ok
}

/// Fetches a component by digest (checked against it) and validates it off the async threads.
async fn load(
    plane: &ControlPlane,
    name: &str,
    digest: &str,
) -> Result<Arc<crate::render::designs::LoadedDesign>, String> {
    let bytes = plane
        .store
        .get_component(name, digest)
        .await
        .map_err(|e| e.to_string())?;
    let registry = plane.cards.designs().clone();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || registry.validate(&name, &bytes))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("does not validate: {e}"))
}

/// Puts the manifest's experiment in force (or the default design when none is). Kept as it is
/// when the new one names a design this instance cannot serve, so no request fails on it.
fn apply_experiment(plane: &ControlPlane, manifest: &Manifest) {
    let (revision, wanted) = match &manifest.experiment {
        Some(record) => match serde_json::from_value::<Experiment>(record.spec.clone()) {
            Ok(e) => (record.revision, e),
            Err(e) => {
                report_experiment(
                    plane,
                    Some(format!("experiment `{}` does not parse: {e}", record.name)),
                );
                return;
            }
        },
        None => (
            0,
            Experiment::single(
                manifest
                    .default_design
                    .as_deref()
                    .unwrap_or(&plane.default_design),
            ),
        ),
    };
    let registry = plane.cards.designs();
    if let Err(e) = wanted.validate(|design| registry.get(design).is_some()) {
        report_experiment(
            plane,
            Some(format!(
                "experiment `{}` cannot be served here: {e}",
                wanted.name
            )),
        );
        return;
    }
    report_experiment(plane, None);
    if *plane.experiments.current() != wanted {
        tracing::info!(experiment = %wanted.name, revision, "control plane: experiment in force");
        plane.experiments.set(wanted);
    }
    plane.lock().experiment_revision = revision;
}

fn report_experiment(plane: &ControlPlane, problem: Option<String>) {
    let mut sync = plane.lock();
    if let Some(why) = &problem
        && sync.experiment_problem.as_ref() != Some(why)
    {
        tracing::error!(error = %why, "control plane: keeping the experiment in force");
    }
    sync.experiment_problem = problem;
}

/// Drops the memory-tier entries of listings invalidated since the last manifest applied. On
/// the first manifest nothing is dropped (the tier holds nothing older than the instance).
fn apply_invalidations(plane: &ControlPlane, manifest: &Manifest) {
    let last = plane.lock().invalidation_seq;
    let memory = &plane.cards.memory;
    match last {
        None => {}
        Some(seq) => match manifest.invalidations_after(seq) {
            Some(new) => {
                for i in new {
                    memory.invalidate_listing(&i.listing_id);
                    tracing::info!(listing = %i.listing_id, by = %i.by, "control plane: listing invalidated");
                }
            }
            None => {
                tracing::warn!(
                    "control plane: missed invalidations (more than the manifest keeps); dropping the memory tier"
                );
                memory.clear();
            }
        },
    }
    plane.lock().invalidation_seq = Some(manifest.last_invalidation());
}

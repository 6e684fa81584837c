//! The fleet's control plane, as one instance takes part in it (only with `S3__ENABLED=true`).
//!
//! The bucket's `control/manifest.json` names the live version of every design, the experiment in
//! force and recent invalidations (the `card-control` crate holds its model and its conditional
//! writes). This instance:
//! - follows it: a conditional GET every `CONTROL__POLL_INTERVAL_MS`; a changed manifest is
//!   applied ([`apply`]): components fetched by digest, validated like an upload, swapped in; the
//!   experiment replaced; invalidated listings dropped from the memory tier. What it cannot apply
//!   it keeps serving the last good version of, and reports (`/readyz`, `/admin/fleet`, metrics,
//!   one log line per revision);
//! - changes it on behalf of the admin routes (upload, rollback, retire, default, experiment,
//!   invalidation): the change is written first, then applied here, so the answer is what the
//!   fleet serves;
//! - seeds it at start-up with the designs of its `TEMPLATES__DIR` the manifest does not name
//!   (never overwriting a name the manifest has), and the experiment file when none is in force;
//! - writes its own counters ([`counts`]) and heartbeat (`control/instances/{id}.json`).

mod apply;
pub(crate) mod check_runs;
mod counts;
mod settings;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use card_control::{
    Actor, ControlError, ControlStore, Heartbeat, Manifest, Read, Refused, Version,
};
use serde_json::{Value, json};

pub use settings::ControlSettings;

use crate::cards::CardService;
use crate::experiments::{Experiment, Experiments};
use crate::render::designs::LoadedDesign;

/// How long start-up waits for the bucket before serving what `TEMPLATES__DIR` holds.
const STARTUP_PATIENCE: Duration = Duration::from_secs(10);

/// What the instance knows of the manifest and how far it follows it.
#[derive(Default)]
struct Sync {
    /// ETag and content of the last manifest read that parsed (applied or not).
    etag: Option<String>,
    manifest: Option<Manifest>,
    /// The revision whose designs, experiment and invalidations are all applied.
    applied: u64,
    last_poll_at: u64,
    /// Why the last poll failed (S3 unreachable), until one succeeds.
    poll_error: Option<String>,
    /// A manifest that does not parse: its ETag and why (reported once per ETag).
    corrupt: Option<(String, String)>,
    /// Designs the manifest names that this instance could not load: name → (digest, why).
    failed: BTreeMap<String, (String, String)>,
    /// The experiment revision in force here (0: none from the manifest yet).
    experiment_revision: u64,
    experiment_problem: Option<String>,
    /// The last invalidation applied (`None` until the first manifest is read).
    invalidation_seq: Option<u64>,
}

/// One instance's part in the control plane.
pub struct ControlPlane {
    store: ControlStore,
    id: String,
    address: String,
    settings: ControlSettings,
    default_design: String,
    cards: Arc<CardService>,
    experiments: Arc<Experiments>,
    sync: Mutex<Sync>,
    /// Serialises applying: the poller and an admin change never apply at once.
    applying: tokio::sync::Mutex<()>,
    counts: counts::Counters,
    started_at: u64,
    stopped: AtomicBool,
    metrics: Metrics,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub polls_not_modified: AtomicU64,
    pub polls_changed: AtomicU64,
    pub polls_failed: AtomicU64,
    /// Designs swapped in from the manifest.
    pub swaps: AtomicU64,
}

/// Why an admin change did not happen; the routes turn it into an HTTP answer.
pub type ChangeError = ControlError;

impl ControlPlane {
    /// Joins the fleet: reads the manifest (waiting at most [`STARTUP_PATIENCE`] for the bucket),
    /// seeds it, applies it, and starts polling, flushing and the heartbeat.
    pub(crate) async fn start(
        store: ControlStore,
        settings: ControlSettings,
        address: std::net::SocketAddr,
        default_design: String,
        cards: Arc<CardService>,
        experiments: Arc<Experiments>,
    ) -> Arc<Self> {
        let id = settings.instance_id(address.port());
        let plane = Arc::new(Self {
            store,
            id,
            address: address.to_string(),
            settings,
            default_design,
            cards,
            experiments,
            sync: Mutex::default(),
            applying: tokio::sync::Mutex::new(()),
            counts: counts::Counters::default(),
            started_at: card_control::now(),
            stopped: AtomicBool::new(false),
            metrics: Metrics::default(),
        });
        match tokio::time::timeout(STARTUP_PATIENCE, plane.join()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "control plane: could not join at start-up; serving TEMPLATES__DIR and retrying every poll")
            }
            Err(_) => tracing::error!(
                "control plane: no answer from the bucket within {}s; serving TEMPLATES__DIR and retrying every poll",
                STARTUP_PATIENCE.as_secs()
            ),
        }
        plane.spawn_tasks();
        plane
    }

    /// This instance's id in the fleet.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The first read: seed what the manifest lacks, then apply it.
    async fn join(self: &Arc<Self>) -> Result<(), ControlError> {
        self.seed().await?;
        self.poll().await
    }

    /// Publishes the designs of `TEMPLATES__DIR` the manifest does not name (each decided on the
    /// latest manifest inside the conditional write, so of instances starting together the first
    /// wins and the others change nothing), and the local experiment when none was ever set.
    async fn seed(&self) -> Result<(), ControlError> {
        let local: Vec<Arc<LoadedDesign>> =
            self.cards.designs().snapshot().values().cloned().collect();
        for design in &local {
            self.store
                .put_component(&design.name, design.source())
                .await?;
        }
        let experiment = self.experiments.current();
        let seeded_experiment = self.experiments.is_from_file().then(|| experiment.clone());
        let actor = self.actor();
        let changed = self
            .store
            .change(&actor, |m| {
                let mut seeded = Vec::new();
                for design in &local {
                    if !m.names(&design.name) {
                        m.publish(&design.name, self.version(design, "seed"))?;
                        seeded.push(design.name.clone());
                    }
                }
                if let Some(e) = &seeded_experiment
                    && m.experiment.is_none()
                    && m.ended.is_empty()
                    && m.set_experiment(&e.name, json!(**e), &actor).is_ok()
                {
                    seeded.push(format!("experiment {}", e.name));
                }
                Ok(seeded)
            })
            .await?;
        if !changed.value.is_empty() {
            tracing::info!(seeded = ?changed.value, revision = changed.manifest.revision, "control plane: seeded from this instance");
        }
        Ok(())
    }

    /// One conditional GET of the manifest, and applying it when it changed.
    pub async fn poll(self: &Arc<Self>) -> Result<(), ControlError> {
        let etag = self.lock().etag.clone();
        let read = self.store.read_manifest(etag.as_deref()).await;
        let now = card_control::now();
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                self.metrics.polls_failed.fetch_add(1, Relaxed);
                let mut sync = self.lock();
                if sync.poll_error.is_none() {
                    tracing::warn!(error = %e, "control plane: poll failed; serving what this instance has");
                }
                sync.poll_error = Some(e.to_string());
                return Err(e);
            }
        };
        {
            let mut sync = self.lock();
            sync.last_poll_at = now;
            if sync.poll_error.take().is_some() {
                tracing::info!("control plane: the bucket answers again");
            }
        }
        match read {
            Read::NotModified => {
                self.metrics.polls_not_modified.fetch_add(1, Relaxed);
                // A design that failed for a passing reason (S3 hiccup) is retried each poll.
                if self.lock().failed.is_empty() {
                    return Ok(());
                }
                let manifest = self.lock().manifest.clone();
                if let Some(manifest) = manifest {
                    self.apply(manifest).await;
                }
                Ok(())
            }
            Read::Missing => {
                // A bucket nobody has published to: seed it (next poll applies it).
                self.seed().await
            }
            Read::Corrupt { etag, message } => {
                self.metrics.polls_changed.fetch_add(1, Relaxed);
                let mut sync = self.lock();
                if sync.corrupt.as_ref().is_none_or(|(seen, _)| *seen != etag) {
                    tracing::error!(%message, "control plane: the manifest does not parse; keeping what this instance serves");
                }
                sync.corrupt = Some((etag.clone(), message));
                sync.etag = Some(etag);
                Ok(())
            }
            Read::Found { manifest, etag } => {
                self.metrics.polls_changed.fetch_add(1, Relaxed);
                {
                    let mut sync = self.lock();
                    sync.corrupt = None;
                    sync.etag = Some(etag);
                    sync.manifest = Some((*manifest).clone());
                }
                self.apply(*manifest).await;
                Ok(())
            }
        }
    }

    /// Makes this instance serve `manifest` as far as it can (see [`apply`]).
    async fn apply(self: &Arc<Self>, manifest: Manifest) {
        let _one_at_a_time = self.applying.lock().await;
        apply::apply(self, &manifest).await;
    }

    /// Records a change this instance wrote, so the next poll's 304 means "applied".
    async fn adopt(self: &Arc<Self>, changed: &card_control::Changed<impl Sized>) {
        {
            let mut sync = self.lock();
            sync.corrupt = None;
            sync.etag = Some(changed.etag.clone());
            sync.manifest = Some(changed.manifest.clone());
        }
        self.apply(changed.manifest.clone()).await;
    }

    fn spawn_tasks(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        spawn_every(weak.clone(), self.settings.poll_interval(), Task::Poll);
        spawn_every(weak.clone(), self.settings.flush_interval(), Task::Flush);
        spawn_every(weak, self.settings.heartbeat_interval(), Task::Heartbeat);
    }

    /// Flushes the counters and stops the tasks (graceful shutdown).
    pub async fn shutdown(&self) {
        self.stopped.store(true, Relaxed);
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, "control plane: the last counter flush failed");
        }
    }

    /// `{by, at}` for changes made by this instance.
    fn actor(&self) -> Actor {
        Actor {
            by: self.id.clone(),
            at: card_control::now(),
        }
    }

    fn version(&self, design: &LoadedDesign, action: &str) -> Version {
        Version {
            digest: design.digest.clone(),
            version: design.version.clone(),
            bytes: design.component_bytes as u64,
            action: action.into(),
            by: self.id.clone(),
            at: card_control::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sync> {
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    // --- Changes on behalf of the admin routes --------------------------------------------

    /// Publishes a validated design: component first (immutable), then the manifest.
    pub async fn publish(
        self: &Arc<Self>,
        design: Arc<LoadedDesign>,
        action: &str,
    ) -> Result<(Manifest, bool), ChangeError> {
        self.store
            .put_component(&design.name, design.source())
            .await?;
        let version = self.version(&design, action);
        let changed = self
            .store
            .change(&self.actor(), |m| m.publish(&design.name, version.clone()))
            .await?;
        // Swap in the version validated here rather than fetch it back.
        if changed.value {
            let _one_at_a_time = self.applying.lock().await;
            self.cards.designs().swap_in(design.clone());
        }
        self.adopt(&changed).await;
        Ok((changed.manifest, changed.value))
    }

    pub async fn rollback(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<(Manifest, Version), ChangeError> {
        let actor = self.actor();
        let changed = self
            .store
            .change(&actor, |m| m.rollback(name, &actor))
            .await?;
        self.adopt(&changed).await;
        Ok((changed.manifest, changed.value))
    }

    pub async fn retire(self: &Arc<Self>, name: &str) -> Result<(Manifest, Version), ChangeError> {
        let actor = self.actor();
        let changed = self
            .store
            .change(&actor, |m| m.retire(name, &actor))
            .await?;
        self.adopt(&changed).await;
        Ok((changed.manifest, changed.value))
    }

    pub async fn set_default(self: &Arc<Self>, name: &str) -> Result<Manifest, ChangeError> {
        let changed = self
            .store
            .change(&self.actor(), |m| m.set_default(name))
            .await?;
        self.adopt(&changed).await;
        Ok(changed.manifest)
    }

    /// Puts `experiment` (already validated against the live designs) in force fleet-wide.
    pub async fn set_experiment(
        self: &Arc<Self>,
        experiment: &Experiment,
    ) -> Result<Manifest, ChangeError> {
        let actor = self.actor();
        let spec = json!(experiment);
        let changed = self
            .store
            .change(&actor, |m| {
                m.set_experiment(&experiment.name, spec.clone(), &actor)
            })
            .await?;
        self.adopt(&changed).await;
        Ok(changed.manifest)
    }

    /// Promotes `variant` of the experiment in force: its design becomes the default
    /// fleet-wide and the experiment ends, keeping `results`. Returns the manifest and the design.
    pub async fn promote(
        self: &Arc<Self>,
        experiment: &str,
        variant: &str,
        results: Value,
    ) -> Result<(Manifest, String), ChangeError> {
        let actor = self.actor();
        let changed = self
            .store
            .change(&actor, |m| {
                m.promote(experiment, variant, results.clone(), &actor)
            })
            .await?;
        self.adopt(&changed).await;
        Ok((changed.manifest, changed.value))
    }

    /// Records an invalidation; every instance (this one now) drops the listing's memory entries.
    pub async fn invalidate(self: &Arc<Self>, listing_id: &str) -> Result<u64, ChangeError> {
        let actor = self.actor();
        let changed = self
            .store
            .change(&actor, |m| {
                Ok::<_, Refused>(m.invalidate(listing_id, &actor))
            })
            .await?;
        self.adopt(&changed).await;
        Ok(changed.value)
    }

    /// The manifest as this instance last read it (`None` before the first successful read).
    pub fn manifest(&self) -> Option<Manifest> {
        self.lock().manifest.clone()
    }

    // --- What the instance reports ----------------------------------------------------------

    /// Why this instance does not serve what the manifest names; empty when in sync.
    pub fn problems(&self) -> Vec<String> {
        let sync = self.lock();
        let mut problems: Vec<String> = sync
            .failed
            .iter()
            .map(|(name, (digest, why))| {
                format!(
                    "design `{name}` version {}: {why}",
                    &digest[..12.min(digest.len())]
                )
            })
            .collect();
        if let Some((_, why)) = &sync.corrupt {
            problems.push(format!("the manifest does not parse: {why}"));
        }
        if let Some(why) = &sync.experiment_problem {
            problems.push(why.clone());
        }
        if let Some(why) = &sync.poll_error {
            problems.push(format!("the bucket does not answer: {why}"));
        }
        problems
    }

    /// `/readyz`'s `control` detail. Being out of sync does not make the instance unready: it
    /// serves its last good versions, which is better than no answer.
    pub fn readiness(&self) -> Value {
        let problems = self.problems();
        let sync = self.lock();
        json!({
            "status": if problems.is_empty() { "in-sync" } else { "out-of-sync" },
            "instance": self.id,
            "revision": sync.applied,
            "manifest_revision": sync.manifest.as_ref().map(|m| m.revision),
            "problems": problems,
        })
    }

    /// 1 when the instance serves what the manifest names, else 0; and the revision applied.
    pub fn sync_gauges(&self) -> (u64, u64) {
        let in_sync = u64::from(self.problems().is_empty());
        (in_sync, self.lock().applied)
    }

    fn heartbeat_record(&self) -> Heartbeat {
        let problems = self.problems();
        let sync = self.lock();
        Heartbeat {
            instance: self.id.clone(),
            address: self.address.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_at: self.started_at,
            at: card_control::now(),
            last_poll_at: sync.last_poll_at,
            revision: sync.applied,
            designs: self
                .cards
                .designs()
                .snapshot()
                .values()
                .map(|d| (d.name.clone(), d.digest.clone()))
                .collect(),
            experiment: Some(self.experiments.current().name.clone()),
            experiment_revision: sync.experiment_revision,
            problems,
        }
    }

    async fn heartbeat(&self) -> Result<(), ControlError> {
        let record = self.heartbeat_record();
        self.store
            .put_record(&card_control::keys::instance(&self.id), &record)
            .await
    }

    /// `GET /admin/fleet`: every instance that wrote a heartbeat, whether it is in sync with the
    /// manifest and whether it stopped reporting.
    pub async fn fleet(self: &Arc<Self>) -> Result<Value, ControlError> {
        // Our own heartbeat first, so the answer includes this instance as it is now.
        self.heartbeat().await?;
        let manifest = match self.store.read_manifest(None).await? {
            Read::Found { manifest, .. } => Some(*manifest),
            _ => None,
        };
        let now = card_control::now();
        let stale_after = 3 * self.settings.heartbeat_interval().as_secs().max(1);
        let live: BTreeMap<String, String> = manifest
            .as_ref()
            .map(|m| {
                m.designs
                    .iter()
                    .map(|(n, e)| (n.clone(), e.live.digest.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut instances = Vec::new();
        for (_, beat) in self
            .store
            .records::<Heartbeat>(&card_control::keys::instances_prefix())
            .await?
        {
            let age = now.saturating_sub(beat.at);
            let stale = age > stale_after;
            let in_sync = manifest
                .as_ref()
                .is_some_and(|m| m.revision == beat.revision)
                && beat.designs == live
                && beat.problems.is_empty();
            instances.push(json!({
                "instance": beat.instance,
                "address": beat.address,
                "version": beat.version,
                "started_at": beat.started_at,
                "last_heartbeat_at": beat.at,
                "seconds_since_heartbeat": age,
                "last_poll_at": beat.last_poll_at,
                "stale": stale,
                "in_sync": in_sync && !stale,
                "revision": beat.revision,
                "designs": beat.designs,
                "experiment": beat.experiment,
                "problems": beat.problems,
            }));
        }
        Ok(json!({
            "revision": manifest.as_ref().map(|m| m.revision),
            "updated_by": manifest.as_ref().map(|m| m.updated_by.clone()),
            "updated_at": manifest.as_ref().map(|m| m.updated_at),
            "live": live,
            "stale_after_seconds": stale_after,
            "instances": instances,
        }))
    }
}

/// The instance's periodic work.
#[derive(Clone, Copy)]
enum Task {
    Poll,
    Flush,
    Heartbeat,
}

/// Runs `task` every `interval` while the plane lives and until [`ControlPlane::shutdown`].
fn spawn_every(plane: std::sync::Weak<ControlPlane>, interval: Duration, task: Task) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(plane) = plane.upgrade() else { break };
            if plane.stopped.load(Relaxed) {
                break;
            }
            let _ = match task {
                Task::Poll => plane.poll().await,
                Task::Flush => plane.flush().await,
                Task::Heartbeat => plane.heartbeat().await,
            };
        }
    });
}

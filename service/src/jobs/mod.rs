//! Background jobs: warm-cache and cleanup, on cron schedules, by hand (`/admin/jobs/*`) or from
//! `cargo xtask`, and the re-render after `POST /admin/invalidate/{listing_id}`.
//!
//! Every run goes through [`Jobs::start`]: one run of a job per process, then the S3 lease (one
//! run of a job across instances, see [`lease`]), then the job in a task of its own, with progress,
//! a stop flag it checks between items (shutdown, a lost lease) and a record in the history that
//! `GET /admin/jobs` lists. [`JobStats`] counts runs, durations and items for metrics.

pub(crate) mod cleanup;
pub(crate) mod lease;
pub(crate) mod schedule;
pub(crate) mod settings;
pub(crate) mod warm_cache;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use crate::cache::StoreError;
use crate::cards::CardService;
use crate::listings::{Listing, ListingSource};
use cleanup::{CleanupOptions, CleanupReport};
use lease::{Acquired, Lease, LeaseBody, LeaseStore, secs};
use schedule::{Clock, Schedule, Timetable};
pub(crate) use settings::JobsSettings;
pub use settings::Variants;
use warm_cache::{WarmCacheOptions, WarmCacheReport};

/// The jobs, as named in URLs, lease keys and run records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    WarmCache,
    Cleanup,
    /// The background re-render after `POST /admin/invalidate/{listing_id}`.
    Invalidate,
}

impl JobKind {
    pub(crate) const ALL: [JobKind; 3] =
        [JobKind::WarmCache, JobKind::Cleanup, JobKind::Invalidate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WarmCache => "warm-cache",
            Self::Cleanup => "cleanup",
            Self::Invalidate => "invalidate",
        }
    }

    /// Jobs that take the lease: one run at a time across instances. An invalidation re-renders one
    /// listing, is idempotent, and may run anywhere, several at once.
    pub(crate) fn is_leased(self) -> bool {
        self != Self::Invalidate
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    Schedule,
    /// An admin endpoint.
    Manual,
    /// `cargo xtask warm-cache` / `cleanup`.
    Xtask,
}

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// Finished, but some items failed (each in the report with its reason).
    CompletedWithFailures,
    /// The job could not do its work (listing source or S3 down, nothing to render with).
    Failed,
    /// Not run: another instance holds the lease, or ran this scheduled slot already.
    Skipped,
    /// Stopped between items: shutdown, or the lease was lost.
    Cancelled,
}

/// A run to start.
#[derive(Debug, Clone)]
pub enum RunRequest {
    WarmCache(WarmCacheOptions),
    Cleanup(CleanupOptions),
    Invalidate(Arc<Listing>),
}

impl RunRequest {
    pub fn kind(&self) -> JobKind {
        match self {
            Self::WarmCache(_) => JobKind::WarmCache,
            Self::Cleanup(_) => JobKind::Cleanup,
            Self::Invalidate(_) => JobKind::Invalidate,
        }
    }
}

/// A finished job's own report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RunReport {
    WarmCache(WarmCacheReport),
    Cleanup(CleanupReport),
}

impl RunReport {
    fn failures(&self) -> usize {
        match self {
            Self::WarmCache(r) => r.failed,
            Self::Cleanup(r) => r.failures.len(),
        }
    }
}

/// One item a run could not do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub item: String,
    pub reason: String,
}

/// A run's items so far, shared with whoever watches (the xtask progress line, `GET /admin/jobs`).
#[derive(Debug, Default)]
pub struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProgressSnapshot {
    pub total: usize,
    pub done: usize,
    pub failed: usize,
}

impl Progress {
    pub(crate) fn set_total(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
    }

    pub(crate) fn advance(&self, items: usize) {
        self.done.fetch_add(items, Ordering::Relaxed);
    }

    pub(crate) fn fail(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            total: self.total.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Tells a run to stop between items; the first reason given is the one reported.
#[derive(Debug, Default)]
pub(crate) struct StopFlag {
    set: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl StopFlag {
    pub(crate) fn stop(&self, reason: &str) {
        let mut slot = lock(&self.reason);
        if slot.is_none() {
            *slot = Some(reason.to_string());
        }
        self.set.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Relaxed)
    }

    fn reason(&self) -> Option<String> {
        lock(&self.reason).clone()
    }
}

/// What a job function gets from the runner.
pub(crate) struct RunContext {
    pub(crate) progress: Arc<Progress>,
    stop: Arc<StopFlag>,
    /// Shared by every background render of this instance: half the browser pages.
    background: Arc<Semaphore>,
}

impl RunContext {
    pub(crate) fn stopped(&self) -> bool {
        self.stop.is_set()
    }
}

/// One run, as `GET /admin/jobs` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub(crate) job: JobKind,
    pub(crate) trigger: Trigger,
    pub(crate) instance: String,
    pub(crate) started_at: String,
    pub(crate) finished_at: Option<String>,
    pub(crate) duration_ms: Option<u64>,
    pub status: RunStatus,
    /// Why it failed, was skipped or cancelled.
    pub message: Option<String>,
    pub progress: ProgressSnapshot,
    pub report: Option<RunReport>,
}

/// Counters of one job since start, for metrics (plain atomics a `/metrics` endpoint can read).
#[derive(Debug, Default)]
pub(crate) struct JobCounters {
    /// Runs that did their work (succeeded, with failures, failed or cancelled); skips are apart.
    pub(crate) runs: AtomicU64,
    pub(crate) failed_runs: AtomicU64,
    pub(crate) skipped_runs: AtomicU64,
    pub(crate) run_millis: AtomicU64,
    /// Items done (rendered, found cached, deleted or failed).
    pub(crate) items: AtomicU64,
    pub(crate) failed_items: AtomicU64,
    /// Seconds since the epoch of the last run that ended without failures; 0 before one.
    pub(crate) last_success: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct JobStats {
    counters: [JobCounters; 3],
}

impl JobStats {
    pub(crate) fn get(&self, job: JobKind) -> &JobCounters {
        &self.counters[job.index()]
    }

    /// As JSON: `{"warm-cache": {"runs": …}, …}`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        JobKind::ALL
            .iter()
            .map(|job| {
                let c = self.get(*job);
                (
                    job.as_str().to_string(),
                    serde_json::json!({
                        "runs": load(&c.runs),
                        "failed_runs": load(&c.failed_runs),
                        "skipped_runs": load(&c.skipped_runs),
                        "run_seconds": load(&c.run_millis) as f64 / 1000.0,
                        "items": load(&c.items),
                        "failed_items": load(&c.failed_items),
                        "last_success": load(&c.last_success),
                    }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{} is already running on this instance (run {run})", job.as_str())]
    RunningHere { job: JobKind, run: String },
    #[error(
        "{} is running on instance {} (run {}), lease until {}",
        job.as_str(), lease.instance, lease.holder, rfc3339_secs(lease.expires_at)
    )]
    HeldElsewhere { job: JobKind, lease: LeaseBody },
    #[error("{} already ran for the slot at {}", job.as_str(), rfc3339_secs(*slot))]
    SlotTaken { job: JobKind, slot: u64 },
    #[error("S3__ENABLED=false: there is no bucket to clean")]
    NoBucket,
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("could not take the job lease: {0}")]
    Lease(#[from] StoreError),
    #[error("the run's task ended abnormally: {0}")]
    Task(String),
}

/// A started run: its id, live progress, and the task that ends with its record.
pub struct Started {
    pub id: String,
    pub progress: Arc<Progress>,
    pub finished: JoinHandle<RunRecord>,
}

/// A run in progress.
struct Active {
    record: RunRecord,
    progress: Arc<Progress>,
    stop: Arc<StopFlag>,
}

/// What jobs work with: this instance's cards and listings, shared with the HTTP side.
#[derive(Clone)]
pub(crate) struct Deps {
    pub(crate) cards: Arc<CardService>,
    pub(crate) listings: ListingSource,
    /// `TEMPLATES__DEFAULT`: what `Variants::Default` warms.
    pub(crate) default_design: String,
    /// `CONTROL__COUNTS_RETENTION_DAYS` with the control plane on: cleanup deletes the counters of
    /// experiments ended longer ago. `None`: cleanup never touches `control/`.
    pub(crate) counts_retention: Option<Duration>,
}

/// The job runner of one instance: history, stats, leases, the stop signal.
#[derive(Clone)]
pub struct Jobs(Arc<JobsInner>);

pub struct JobsInner {
    settings: JobsSettings,
    deps: Deps,
    /// Names this instance in leases and records: host name and process id.
    instance: String,
    /// `None` without S3: runs are then exclusive within this process only.
    leases: Option<LeaseStore>,
    clock: Arc<dyn Clock>,
    background: Arc<Semaphore>,
    active: Mutex<Vec<Active>>,
    history: Mutex<HashMap<JobKind, VecDeque<RunRecord>>>,
    stats: JobStats,
    /// Turns true once, at shutdown: the scheduler stops and no run starts.
    shutdown: watch::Sender<bool>,
    /// Runs in progress, for shutdown to wait on.
    running: watch::Sender<usize>,
}

impl std::ops::Deref for Jobs {
    type Target = JobsInner;
    fn deref(&self) -> &JobsInner {
        &self.0
    }
}

impl Jobs {
    /// The runner for these settings; leases live in `s3`'s bucket. Background renders take at
    /// most half of the browser's `pages`.
    pub(crate) fn new(
        settings: JobsSettings,
        pages: usize,
        deps: Deps,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let leases = deps
            .cards
            .s3
            .as_ref()
            .map(|s3| LeaseStore::new(s3.client().clone(), s3.bucket().to_string()));
        Self(Arc::new(JobsInner {
            settings,
            deps,
            instance: instance_name(),
            leases,
            clock,
            background: Arc::new(Semaphore::new((pages / 2).max(1))),
            active: Mutex::new(Vec::new()),
            history: Mutex::new(HashMap::new()),
            stats: JobStats::default(),
            shutdown: watch::Sender::new(false),
            running: watch::Sender::new(0),
        }))
    }

    /// What this instance's jobs work with.
    pub(crate) fn deps(&self) -> &Deps {
        &self.deps
    }

    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    pub(crate) fn stats(&self) -> &JobStats {
        &self.stats
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn settings(&self) -> &JobsSettings {
        &self.settings
    }

    /// The lease store, when S3 is on.
    pub(crate) fn leases(&self) -> Option<&LeaseStore> {
        self.leases.as_ref()
    }

    /// The scheduled run's request for `job`.
    pub(crate) fn scheduled_request(&self, job: JobKind) -> Option<RunRequest> {
        match job {
            JobKind::WarmCache => Some(RunRequest::WarmCache(WarmCacheOptions::from_settings(
                &self.settings.warm_cache,
            ))),
            JobKind::Cleanup => Some(RunRequest::Cleanup(CleanupOptions::default())),
            JobKind::Invalidate => None,
        }
    }

    /// The designs an invalidated listing is re-rendered in: those the warm-up renders.
    pub(crate) fn invalidation_variants(&self) -> Variants {
        self.settings.warm_cache.variants.clone()
    }

    /// The schedules this instance keeps: `(job, schedule)`. An instance that cannot do a job
    /// (warm-cache without a browser, cleanup without S3) does not compete for its lease, so one
    /// that can always gets it.
    pub(crate) fn schedules(&self) -> Vec<(JobKind, Schedule)> {
        let mut out = Vec::new();
        for (job, schedule, able) in [
            (
                JobKind::WarmCache,
                &self.settings.warm_cache.schedule,
                self.deps.cards.browser().is_some(),
            ),
            (
                JobKind::Cleanup,
                &self.settings.cleanup.schedule,
                self.deps.cards.s3.is_some(),
            ),
        ] {
            if able {
                out.push((job, schedule.clone()));
            }
        }
        out
    }

    /// Starts the scheduler (when `JOBS__ENABLED`); it stops at [`Jobs::shutdown`].
    pub(crate) fn start_scheduler(&self) {
        if !self.settings.enabled {
            tracing::info!("JOBS__ENABLED=false: no job runs on a schedule");
            return;
        }
        let schedules = self.schedules();
        for (job, schedule) in &schedules {
            tracing::info!(
                job = job.as_str(),
                schedule = schedule.pattern(),
                next = schedule
                    .next_after(self.clock.now())
                    .map(rfc3339)
                    .unwrap_or_default(),
                "job scheduled (UTC)"
            );
        }
        let table = Timetable::new(schedules, self.clock.now());
        let jobs = self.clone();
        let fire = move |job: JobKind, slot: SystemTime| {
            let jobs = jobs.clone();
            tokio::spawn(async move {
                let Some(request) = jobs.scheduled_request(job) else {
                    return;
                };
                if let Err(e) = jobs.start(request, Trigger::Schedule, Some(slot)).await {
                    tracing::info!(job = job.as_str(), reason = %e, "scheduled run not started here");
                }
            });
        };
        tokio::spawn(schedule::run(
            table,
            self.clock.clone(),
            self.shutdown.subscribe(),
            fire,
        ));
    }

    /// Starts a run: the local check, the lease (for leased jobs), then the job in its own task.
    /// `slot`: the scheduled time a scheduled run is for, so each slot runs once across instances.
    pub async fn start(
        &self,
        request: RunRequest,
        trigger: Trigger,
        slot: Option<SystemTime>,
    ) -> Result<Started, StartError> {
        let job = request.kind();
        if *self.shutdown.borrow() {
            return Err(StartError::ShuttingDown);
        }
        if job == JobKind::Cleanup && self.deps.cards.s3.is_none() {
            return Err(StartError::NoBucket);
        }
        let started_at = self.clock.now();
        let record = RunRecord {
            id: run_id(job, started_at),
            job,
            trigger,
            instance: self.instance.clone(),
            started_at: rfc3339(started_at),
            finished_at: None,
            duration_ms: None,
            status: RunStatus::Running,
            message: None,
            progress: ProgressSnapshot::default(),
            report: None,
        };
        let progress = Arc::new(Progress::default());
        let stop = Arc::new(StopFlag::default());
        // Reserve the job in this process before the lease's network calls, so two local starts
        // cannot both get past this point.
        {
            let mut active = lock(&self.active);
            if job.is_leased()
                && let Some(other) = active.iter().find(|a| a.record.job == job)
            {
                return Err(StartError::RunningHere {
                    job,
                    run: other.record.id.clone(),
                });
            }
            active.push(Active {
                record: record.clone(),
                progress: progress.clone(),
                stop: stop.clone(),
            });
            self.running.send_replace(active.len());
            // A shutdown that began after the check above stopped the runs it saw, not this one.
            if *self.shutdown.borrow() {
                stop.stop("the service is shutting down");
            }
        }
        // The lease and the run in a task of their own, so a caller that goes away (an HTTP
        // client hanging up) cannot leave the reservation behind.
        let (taken, lease_outcome) = oneshot::channel();
        let id = record.id.clone();
        let ctx = RunContext {
            progress: progress.clone(),
            stop,
            background: self.background.clone(),
        };
        let jobs = self.clone();
        let finished = tokio::spawn(async move {
            match jobs.take_lease(&record, slot).await {
                Ok(lease) => {
                    let _ = taken.send(Ok(()));
                    jobs.execute(request, record, lease, ctx).await
                }
                Err(e) => {
                    let status = match e {
                        StartError::HeldElsewhere { .. } | StartError::SlotTaken { .. } => {
                            RunStatus::Skipped
                        }
                        _ => RunStatus::Failed,
                    };
                    // Recorded before the caller hears of it, so the history already shows it.
                    let record =
                        jobs.finish(record, status, Some(e.to_string()), None, Instant::now());
                    let _ = taken.send(Err(e));
                    record
                }
            }
        });
        match lease_outcome.await {
            Ok(Ok(())) => Ok(Started {
                id,
                progress,
                finished,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StartError::Task(
                "the run's task ended before taking the lease".into(),
            )),
        }
    }

    /// Starts a run and waits for its record (xtask, tests).
    pub async fn run(
        &self,
        request: RunRequest,
        trigger: Trigger,
    ) -> Result<RunRecord, StartError> {
        let started = self.start(request, trigger, None).await?;
        started
            .finished
            .await
            .map_err(|e| StartError::Task(e.to_string()))
    }

    /// `None` for unleased jobs or without S3.
    async fn take_lease(
        &self,
        record: &RunRecord,
        slot: Option<SystemTime>,
    ) -> Result<Option<Lease>, StartError> {
        let (Some(store), true) = (&self.leases, record.job.is_leased()) else {
            return Ok(None);
        };
        let holder = format!("{}/{}", self.instance, record.id);
        let acquired = store
            .acquire(
                record.job.as_str(),
                &holder,
                &self.instance,
                self.clock.now(),
                self.lease_ttl(),
                slot,
            )
            .await?;
        let lease = match acquired {
            Acquired::Held(lease) => lease,
            Acquired::Busy(lease) => {
                return Err(StartError::HeldElsewhere {
                    job: record.job,
                    lease,
                });
            }
        };
        if let Some(slot) = slot.map(secs)
            && lease
                .previous
                .as_ref()
                .and_then(|p| p.last_slot)
                .is_some_and(|last| last >= slot)
        {
            if let Err(e) = store.release(&lease, self.clock.now()).await {
                tracing::warn!(error = %e, "could not release the job lease; it expires on its own");
            }
            return Err(StartError::SlotTaken {
                job: record.job,
                slot,
            });
        }
        Ok(Some(lease))
    }

    fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.settings.lease_ttl_seconds)
    }

    /// The run's task: heartbeat, the job, release, the record.
    async fn execute(
        self,
        request: RunRequest,
        record: RunRecord,
        lease: Option<Lease>,
        ctx: RunContext,
    ) -> RunRecord {
        let began = Instant::now();
        tracing::info!(run = %record.id, trigger = ?record.trigger, "jobs.{} started", record.job.as_str());
        let lease = lease.map(|l| Arc::new(tokio::sync::Mutex::new(l)));
        let (done, done_rx) = watch::channel(false);
        let heartbeat = lease.as_ref().map(|lease| {
            tokio::spawn(
                self.clone()
                    .heartbeat(lease.clone(), ctx.stop.clone(), done_rx),
            )
        });
        let result = match &request {
            RunRequest::WarmCache(options) => warm_cache::run(&self.deps, options, &ctx)
                .await
                .map(RunReport::WarmCache),
            RunRequest::Cleanup(options) => {
                let now = options.now.unwrap_or_else(|| self.clock.now());
                cleanup::run(&self.deps, options, now, &ctx)
                    .await
                    .map(RunReport::Cleanup)
            }
            RunRequest::Invalidate(listing) => {
                let variants = self.invalidation_variants();
                warm_cache::warm(&self.deps, vec![listing.clone()], &variants, &ctx)
                    .await
                    .map(RunReport::WarmCache)
            }
        };
        // Stopped between renewals, never during one, so the ETag we release with is current.
        done.send_replace(true);
        if let Some(heartbeat) = heartbeat {
            let _ = heartbeat.await;
        }
        if let (Some(store), Some(lease)) = (&self.leases, &lease) {
            let lease = lease.lock().await;
            match store.release(&lease, self.clock.now()).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(run = %record.id, "the job lease was taken over before the run released it")
                }
                Err(e) => {
                    tracing::warn!(run = %record.id, error = %e, "could not release the job lease; it expires on its own")
                }
            }
        }
        let (status, message, report) = match result {
            Err(message) => (RunStatus::Failed, Some(message), None),
            Ok(report) if ctx.stopped() => (RunStatus::Cancelled, ctx.stop.reason(), Some(report)),
            Ok(report) if report.failures() > 0 => {
                (RunStatus::CompletedWithFailures, None, Some(report))
            }
            Ok(report) => (RunStatus::Succeeded, None, Some(report)),
        };
        let mut record = record;
        record.progress = ctx.progress.snapshot();
        self.finish(record, status, message, report, began)
    }

    /// Renews the lease every third of its TTL; stops the run when it is lost or cannot be renewed in time.
    async fn heartbeat(
        self,
        lease: Arc<tokio::sync::Mutex<Lease>>,
        stop: Arc<StopFlag>,
        mut done: watch::Receiver<bool>,
    ) {
        let Some(store) = self.leases.clone() else {
            return;
        };
        let ttl = self.lease_ttl();
        loop {
            let due = self.clock.now() + ttl / 3;
            while self.clock.now() < due {
                tokio::select! {
                    () = self.clock.sleep_until(due) => {}
                    _ = done.wait_for(|done| *done) => return,
                }
            }
            let mut lease = lease.lock().await;
            match store.renew(&mut lease, self.clock.now(), ttl).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(
                        "jobs: the lease was taken over by another instance; stopping this run"
                    );
                    stop.stop("the lease was taken over by another instance");
                    return;
                }
                Err(e) if secs(self.clock.now()) + ttl.as_secs() / 3 >= lease.body.expires_at => {
                    tracing::error!(error = %e, "jobs: could not renew the lease before it expires; stopping this run");
                    stop.stop("the lease could not be renewed");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "jobs: lease renewal failed; retrying"),
            }
        }
    }

    /// Ends a run: stats, history, and it leaves the active list.
    fn finish(
        &self,
        mut record: RunRecord,
        status: RunStatus,
        message: Option<String>,
        report: Option<RunReport>,
        began: Instant,
    ) -> RunRecord {
        let elapsed = began.elapsed();
        record.status = status;
        record.message = message;
        record.report = report;
        record.finished_at = Some(rfc3339(self.clock.now()));
        record.duration_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
        let counters = self.stats.get(record.job);
        let add = |a: &AtomicU64, n: u64| a.fetch_add(n, Ordering::Relaxed);
        if status == RunStatus::Skipped {
            add(&counters.skipped_runs, 1);
        } else {
            add(&counters.runs, 1);
            add(&counters.run_millis, record.duration_ms.unwrap_or_default());
            add(&counters.items, record.progress.done as u64);
            add(&counters.failed_items, record.progress.failed as u64);
        }
        match status {
            RunStatus::Failed => {
                add(&counters.failed_runs, 1);
            }
            RunStatus::Succeeded => counters
                .last_success
                .store(secs(self.clock.now()), Ordering::Relaxed),
            _ => {}
        }
        tracing::info!(
            run = %record.id,
            status = ?status,
            message = record.message.as_deref().unwrap_or(""),
            done = record.progress.done,
            failed = record.progress.failed,
            elapsed_ms = record.duration_ms.unwrap_or_default(),
            "jobs.{} finished",
            record.job.as_str()
        );
        {
            let mut history = lock(&self.history);
            let runs = history.entry(record.job).or_default();
            runs.push_front(record.clone());
            runs.truncate(self.settings.history);
        }
        let mut active = lock(&self.active);
        active.retain(|a| a.record.id != record.id);
        self.running.send_replace(active.len());
        record
    }

    /// Runs in progress (with live progress) and finished runs, newest first.
    pub(crate) fn runs(&self) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = lock(&self.active)
            .iter()
            .map(|a| RunRecord {
                progress: a.progress.snapshot(),
                ..a.record.clone()
            })
            .collect();
        let mut finished: Vec<RunRecord> =
            lock(&self.history).values().flatten().cloned().collect();
        finished.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        runs.extend(finished);
        runs
    }

    pub(crate) fn find(&self, id: &str) -> Option<RunRecord> {
        self.runs().into_iter().find(|r| r.id == id)
    }

    /// Stops the scheduler, tells running jobs to stop after their current item, and waits up to
    /// `grace` for them (and their lease release) to finish.
    pub async fn shutdown(&self, grace: Duration) {
        self.shutdown.send_replace(true);
        for active in lock(&self.active).iter() {
            active.stop.stop("the service is shutting down");
        }
        let mut running = self.running.subscribe();
        if tokio::time::timeout(grace, running.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::warn!(?grace, "jobs did not stop within the grace period");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `2025-06-15T03:00:00.000Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn rfc3339_secs(secs: u64) -> String {
    rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Unique within the process (and, with the instance name, across instances).
fn run_id(job: JobKind, at: SystemTime) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let at = DateTime::<Utc>::from(at).format("%Y%m%dT%H%M%SZ");
    format!(
        "{}-{at}-{}",
        job.as_str(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The host name and process id; a second runner in one process (tests) gets a suffix.
fn instance_name() -> String {
    static RUNNERS: AtomicU64 = AtomicU64::new(0);
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| {
            std::fs::read_to_string(path)
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let name = format!("{host}-{}", std::process::id());
    match RUNNERS.fetch_add(1, Ordering::Relaxed) {
        0 => name,
        n => format!("{name}-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_unique_and_say_what_and_when() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        let a = run_id(JobKind::WarmCache, at);
        let b = run_id(JobKind::WarmCache, at);
        assert!(a.starts_with("warm-cache-20250615T"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn a_stop_keeps_its_first_reason() {
        let stop = StopFlag::default();
        assert!(!stop.is_set());
        stop.stop("shutdown");
        stop.stop("lease lost");
        assert!(stop.is_set());
        assert_eq!(stop.reason().as_deref(), Some("shutdown"));
    }

    #[test]
    fn stats_serialise_per_job() {
        let stats = JobStats::default();
        stats
            .get(JobKind::Cleanup)
            .runs
            .fetch_add(2, Ordering::Relaxed);
        let json = stats.to_json();
        assert_eq!(json["cleanup"]["runs"], 2);
        assert_eq!(json["warm-cache"]["runs"], 0);
    }
}

//! `GET /metrics`: Prometheus text exposition of what operators and designers watch.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;
use crate::telemetry::label;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    let cards = &state.cards;
    gauge(
        "card_memory_cache_bytes",
        "Bytes of images in the memory tier.",
        "gauge",
        cards.memory.weighted_size() as f64,
    );
    gauge(
        "card_memory_cache_entries",
        "Images in the memory tier.",
        "gauge",
        cards.memory.entry_count() as f64,
    );
    gauge(
        "card_render_in_flight",
        "Renders running or queued.",
        "gauge",
        cards.in_flight() as f64,
    );
    if let Some(pool) = cards.browser() {
        let series = [
            (
                "card_browser_pool_pages",
                "Pages the browser pool can capture with at once.",
                "gauge",
                pool.capacity() as u64,
            ),
            (
                "card_browser_pages_busy",
                "Pages capturing now (live renders, warm-cache and render checks alike).",
                "gauge",
                pool.pages_busy() as u64,
            ),
            (
                "card_browser_check_pages_busy",
                "Pages held by the render checks of design uploads now (at most half the pool).",
                "gauge",
                pool.check_pages_busy() as u64,
            ),
            (
                "card_browser_restarts_total",
                "Browsers relaunched after a crash, kill or deadline.",
                "counter",
                pool.restarts(),
            ),
            (
                "card_browser_recycles_total",
                "Browsers replaced as planned (PLAYWRIGHT__RECYCLE_AFTER_RENDERS, PLAYWRIGHT__RECYCLE_ABOVE_MIB).",
                "counter",
                pool.recycles(),
            ),
            (
                "card_browser_strays_killed_total",
                "Browsers of this pool found in no slot twice in a row and killed (a launch that timed out and finished anyway).",
                "counter",
                pool.strays(),
            ),
            (
                "card_browser_purges_total",
                "Page renderers told to free their caches (every 8 captures of a page).",
                "counter",
                pool.purges(),
            ),
        ];
        for (name, help, kind, value) in series {
            gauge(name, help, kind, value as f64);
        }
        // Read from /proc at scrape time (a few files per Chromium process): the largest
        // browser's process tree, against the ceiling that recycles it.
        let largest_kib = pool
            .browser_pids()
            .into_iter()
            .map(crate::render::procfs::tree_pss_kib)
            .max()
            .unwrap_or(0);
        gauge(
            "card_browser_memory_max_bytes",
            "PSS of the largest browser's process tree (Chromium and its helpers).",
            "gauge",
            (largest_kib * 1024) as f64,
        );
        gauge(
            "card_browser_recycle_threshold_bytes",
            "PLAYWRIGHT__RECYCLE_ABOVE_MIB in bytes: a browser above it is recycled (0: never).",
            "gauge",
            (state.settings.playwright.recycle_above_mib * 1024 * 1024) as f64,
        );
    }
    gauge(
        "card_fallback_served_total",
        "Fallback cards served instead of 503 render-timeout (RENDER__FALLBACK_ON_TIMEOUT).",
        "counter",
        state.fallback.served() as f64,
    );
    gauge(
        "card_templates_live",
        "Designs live in the registry.",
        "gauge",
        cards.designs().snapshot().len() as f64,
    );
    for (metric, kind, help) in [
        (
            "card_variant_impressions_total",
            crate::experiments::IMPRESSIONS,
            "Image requests served per experiment variant and crawler family.",
        ),
        (
            "card_variant_unfurls_total",
            crate::experiments::UNFURLS,
            "Share pages fetched by crawlers (a platform showed the card) per experiment variant and crawler family.",
        ),
        (
            "card_variant_clicks_total",
            crate::experiments::CLICKS,
            "People who opened a share link (deduplicated, no bots, no prefetches) per experiment variant.",
        ),
    ] {
        let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
        for (experiment, variant, agent, count) in state.experiments.events.rows(kind) {
            let _ = writeln!(
                out,
                "{metric}{{experiment=\"{}\",variant=\"{}\",agent=\"{}\"}} {count}",
                label(&experiment),
                label(&variant),
                label(&agent)
            );
        }
    }
    if let Some(control) = &state.control {
        control_metrics(control, &mut out);
    }
    reliability_metrics(&state, &mut out);
    job_metrics(&state, &mut out);
    // Requests, cache outcomes, render stage and S3 latency histograms (process-wide).
    crate::telemetry::metrics().write(&mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// The S3 tier's breaker and error counters.
/// The control plane as this instance follows it (absent without a fleet).
fn control_metrics(control: &crate::control::ControlPlane, out: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;
    let (in_sync, revision) = control.sync_gauges();
    let m = control.metrics();
    let _ = writeln!(
        out,
        "# HELP card_control_in_sync 1 when this instance serves every design and the experiment the manifest names, else 0.\n# TYPE card_control_in_sync gauge\ncard_control_in_sync {in_sync}\n\
         # HELP card_control_revision The manifest revision this instance serves.\n# TYPE card_control_revision gauge\ncard_control_revision {revision}\n\
         # HELP card_control_polls_total Conditional reads of the manifest, by outcome.\n# TYPE card_control_polls_total counter\n\
         card_control_polls_total{{outcome=\"not-modified\"}} {}\ncard_control_polls_total{{outcome=\"changed\"}} {}\ncard_control_polls_total{{outcome=\"failed\"}} {}\n\
         # HELP card_control_swaps_total Designs swapped in from the manifest.\n# TYPE card_control_swaps_total counter\ncard_control_swaps_total {}",
        m.polls_not_modified.load(Relaxed),
        m.polls_changed.load(Relaxed),
        m.polls_failed.load(Relaxed),
        m.swaps.load(Relaxed),
    );
}

fn reliability_metrics(state: &AppState, out: &mut String) {
    let Some(s3) = &state.cards.s3 else { return };
    let health = s3.health();
    let _ = writeln!(
        out,
        "# HELP card_s3_errors_total Failed or timed-out S3 calls of the request path, by operation.\n# TYPE card_s3_errors_total counter"
    );
    for op in crate::cache::breaker::OPERATIONS {
        let _ = writeln!(
            out,
            "card_s3_errors_total{{op=\"{op}\"}} {}",
            health.errors(op)
        );
    }
    let _ = writeln!(
        out,
        "# HELP card_s3_breaker_open 1 while the S3 circuit breaker is open or half-open (S3 is not called).\n# TYPE card_s3_breaker_open gauge\ncard_s3_breaker_open {}",
        u8::from(health.is_open())
    );
}

/// Background job counters (runs, failures, skips, duration, items) per job.
fn job_metrics(state: &AppState, out: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;

    use crate::jobs::{JobCounters, JobKind};
    type Series = (
        &'static str,
        &'static str,
        &'static str,
        fn(&JobCounters) -> f64,
    );
    let series: [Series; 6] = [
        (
            "card_job_runs_total",
            "counter",
            "Job runs that did their work.",
            |c| c.runs.load(Relaxed) as f64,
        ),
        (
            "card_job_failed_runs_total",
            "counter",
            "Job runs that failed.",
            |c| c.failed_runs.load(Relaxed) as f64,
        ),
        (
            "card_job_skipped_runs_total",
            "counter",
            "Job runs skipped (lease held elsewhere, nothing to do).",
            |c| c.skipped_runs.load(Relaxed) as f64,
        ),
        (
            "card_job_run_seconds_total",
            "counter",
            "Time spent in job runs.",
            |c| c.run_millis.load(Relaxed) as f64 / 1000.0,
        ),
        (
            "card_job_items_total",
            "counter",
            "Items jobs handled (rendered, found cached, deleted or failed).",
            |c| c.items.load(Relaxed) as f64,
        ),
        (
            "card_job_failed_items_total",
            "counter",
            "Items that failed.",
            |c| c.failed_items.load(Relaxed) as f64,
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for job in JobKind::ALL {
            let _ = writeln!(
                out,
                "{name}{{job=\"{}\"}} {}",
                job.as_str(),
                value(state.jobs.stats().get(job))
            );
        }
    }
}

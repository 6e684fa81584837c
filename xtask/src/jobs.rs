//! What `warm-cache` and `cleanup` share: the service's own jobs run in this process against the
//! configured bucket, under the same lease as the service's scheduled runs, with a progress line.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use card_service::settings::Settings;
use card_service::{AppState, RunRecord, RunRequest, RunStatus, StartError, Trigger};
use card_service::{LogFormat, LogSettings};

use crate::s3_target::Target;
use crate::util;

/// How often the progress line is redrawn on a terminal, and printed anew elsewhere (CI logs).
const TTY_EVERY: Duration = Duration::from_millis(500);
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How long a run interrupted with Ctrl-C may take to stop after its current item.
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// Builds the service's state from `settings` pointed at `target`, runs `request` to its end and
/// returns its record; Ctrl-C stops the run between items and releases its lease.
pub async fn run(
    mut settings: Settings,
    target: &Target,
    request: RunRequest,
) -> Result<RunRecord> {
    let job = request.kind().as_str();
    // playwright-rs otherwise turns Ctrl-C into exit(130) before the run can stop and release its lease.
    // SAFETY: no thread of ours reads the environment now; the driver, its only reader, starts later.
    unsafe { std::env::set_var("PLAYWRIGHT_NO_SIGNAL_HANDLER", "1") };
    // The service's warnings (an S3 write that failed, a design that did not load) belong on screen.
    card_service::init_logging(
        &LogSettings {
            format: LogFormat::Text,
            level: "warn".into(),
        },
        card_service::settings::rust_log().as_deref(),
    );
    settings.s3 = target.s3.clone();
    settings.s3.enabled = true;
    // A one-shot run needs no hot reload, and is no member of the fleet: it must not seed the
    // manifest or leave a heartbeat. It renders the designs of TEMPLATES__DIR; to warm what a
    // fleet serves, ask an instance (`POST /admin/jobs/warm-cache`), which follows the manifest.
    settings.templates.watch_interval_ms = 0;
    settings.control.enabled = false;
    let state = AppState::build(
        settings,
        "http://localhost".into(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .context("could not set up the service in-process")?;
    let result = run_with(&state, target, request, job).await;
    state.shutdown().await;
    result
}

async fn run_with(
    state: &AppState,
    target: &Target,
    request: RunRequest,
    job: &str,
) -> Result<RunRecord> {
    if let Some(s3) = &state.cards.s3 {
        s3.health_check()
            .await
            .with_context(|| format!("the bucket does not answer: {}", target.fix_hint()))?;
    }
    util::step(format_args!("{job} against {target}"));
    let started = state
        .jobs
        .start(request, Trigger::Xtask, None)
        .await
        .map_err(|e| match e {
            StartError::HeldElsewhere { .. } | StartError::RunningHere { .. } => anyhow::anyhow!(
                "{e}: wait for that run to finish (GET /admin/jobs shows it), or for its lease to \
                 expire (JOBS__LEASE_TTL_SECONDS) if that instance is gone"
            ),
            other => anyhow::Error::new(other),
        })?;
    let began = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut finished = started.finished;
    let mut interrupted = false;
    let record = loop {
        tokio::select! {
            record = &mut finished => break record.context("the run's task failed")?,
            () = tokio::time::sleep(if tty { TTY_EVERY } else { LOG_EVERY }) => {
                let line = progress_line(started.progress.snapshot(), began.elapsed());
                if tty {
                    eprint!("\r    {line}\x1b[K");
                    let _ = std::io::stderr().flush();
                } else {
                    eprintln!("    {line}");
                }
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                eprintln!("\n    interrupted: stopping after the current item and releasing the lease");
                state.jobs.shutdown(STOP_PATIENCE).await;
            }
        }
    };
    if tty {
        eprint!("\r\x1b[K");
    }
    Ok(record)
}

/// `37/100 items, 2.9/s, ETA 22s, 1 failed`.
fn progress_line(p: card_service::ProgressSnapshot, elapsed: Duration) -> String {
    let rate = p.done as f64 / elapsed.as_secs_f64().max(0.001);
    let eta = if p.done == 0 || p.total <= p.done {
        "ETA -".to_string()
    } else {
        let left = (p.total - p.done) as f64 / rate;
        format!(
            "ETA {}",
            util::human_duration(Duration::from_secs_f64(left))
        )
    };
    let failed = if p.failed > 0 {
        format!(", {} failed", p.failed)
    } else {
        String::new()
    };
    format!("{}/{} items, {rate:.1}/s, {eta}{failed}", p.done, p.total)
}

/// Lists the failed items with their reasons (`failed` counts those the report left out too).
pub fn print_failures(failures: &[card_service::Failure], failed: usize) {
    for failure in failures {
        eprintln!("    failed: {}: {}", failure.item, failure.reason);
    }
    if failed > failures.len() {
        eprintln!("    … and {} more", failed - failures.len());
    }
}

/// Fails the command unless the run succeeded, saying why.
pub fn verdict(record: &RunRecord, failed: usize) -> Result<()> {
    let reason = record.message.as_deref().unwrap_or("no reason given");
    match record.status {
        RunStatus::Succeeded => Ok(()),
        RunStatus::CompletedWithFailures => {
            bail!("{failed} item(s) failed, each listed above with its reason")
        }
        RunStatus::Cancelled => bail!("stopped before the end: {reason}"),
        RunStatus::Failed | RunStatus::Skipped | RunStatus::Running => bail!("{reason}"),
    }
}

#[cfg(test)]
mod tests {
    use card_service::ProgressSnapshot;

    use super::*;

    #[test]
    fn the_progress_line_has_items_rate_and_eta() {
        let p = ProgressSnapshot {
            total: 100,
            done: 25,
            failed: 1,
        };
        assert_eq!(
            progress_line(p, Duration::from_secs(10)),
            "25/100 items, 2.5/s, ETA 30.0s, 1 failed"
        );
        let start = ProgressSnapshot {
            total: 100,
            done: 0,
            failed: 0,
        };
        assert_eq!(
            progress_line(start, Duration::from_secs(1)),
            "0/100 items, 0.0/s, ETA -"
        );
    }
}

//! The maintenance task: a round every `PLAYWRIGHT__HEALTH_INTERVAL_MS`, or sooner when woken,
//! recycles the browsers that are due, probes each browser, replaces what failed its probe or
//! outgrew the memory ceiling, and sweeps for stray browsers.
//!
//! A probe is CDP `Browser.getVersion` under `PLAYWRIGHT__HEALTH_TIMEOUT_MS`, on every tick and
//! right after a capture missed its deadline (a frozen browser shows itself no other way): a
//! browser that does not answer (frozen, SIGSTOP) is SIGKILLed with its process tree and replaced
//! (a restart). A browser is recycled after `PLAYWRIGHT__RECYCLE_AFTER_RENDERS` renders or above
//! `PLAYWRIGHT__RECYCLE_ABOVE_MIB` of PSS, the Gotenberg way: the fresh browser takes new
//! checkouts at once, the old one drains (pages in use finish their capture) and is closed after.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use playwright_rs::protocol::CDPSession;
use tokio::sync::Notify;

use super::BrowserPool;
use crate::render::procfs;

/// How the rest of the pool reaches the maintenance task.
pub(super) struct Maintenance {
    /// Wakes the task early (a deadline was missed, a recycle is due, shutdown).
    wake: Arc<Notify>,
    /// Set by a missed deadline: probe every browser now rather than at the next interval.
    probe_now: AtomicBool,
}

impl Maintenance {
    pub(super) fn new() -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            probe_now: AtomicBool::new(false),
        }
    }

    /// Runs a round now (a recycle is due; at shutdown, so the task sees it and ends).
    pub(super) fn wake(&self) {
        self.wake.notify_one();
    }

    /// A capture missed its deadline: a frozen browser shows itself only this way, so every
    /// browser is probed now.
    pub(super) fn deadline_missed(&self) {
        self.probe_now.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    #[cfg(test)]
    pub(super) fn probe_requested(&self) -> bool {
        self.probe_now.load(Ordering::Relaxed)
    }
}

/// What one round does besides the recycles that are due.
#[derive(Debug, PartialEq)]
struct Round {
    /// Probe every browser (and read its memory).
    probe: bool,
    /// Look for stray browsers.
    sweep: bool,
}

impl Round {
    /// `periodic`: the task runs on an interval (`PLAYWRIGHT__HEALTH_INTERVAL_MS` not 0);
    /// `probe_requested`: a capture missed its deadline since the last round. The sweep runs on
    /// ticks only: its two-sightings rule counts probe intervals.
    fn plan(periodic: bool, probe_requested: bool) -> Self {
        Self {
            probe: probe_requested || periodic,
            sweep: periodic,
        }
    }
}

impl BrowserPool {
    /// Starts the maintenance task: health probes, kills of frozen browsers, recycling. It holds
    /// only a weak reference, and ends with [`BrowserPool::shutdown`] or when the pool is dropped.
    pub fn start_health_probe(self: &Arc<Self>) {
        let pool = Arc::downgrade(self);
        let interval = Duration::from_millis(self.settings.health_interval_ms);
        let wake = self.maintenance.wake.clone();
        tokio::spawn(async move {
            loop {
                // Wait for the next tick or an early wake-up, without keeping the pool alive.
                let notified = wake.notified();
                if interval.is_zero() {
                    notified.await;
                } else {
                    let _ = tokio::time::timeout(interval, notified).await;
                }
                let Some(strong) = pool.upgrade() else { return };
                if strong.closing.load(Ordering::Relaxed) {
                    return;
                }
                let periodic = !interval.is_zero();
                strong.maintain(periodic).await;
            }
        });
    }

    /// One round: recycle what is due, probe (every tick, or now after a missed deadline), and
    /// replace what failed its probe or outgrew the memory ceiling.
    async fn maintain(&self, periodic: bool) {
        let requested = self.maintenance.probe_now.swap(false, Ordering::Relaxed);
        let round = Round::plan(periodic, requested);
        for slot in 0..self.slots.len() {
            if self.closing.load(Ordering::Relaxed) {
                return;
            }
            if self.slots[slot].recycle_due.load(Ordering::Acquire) {
                self.recycle(slot, "render count").await;
                continue;
            }
            if !round.probe {
                continue;
            }
            let target = {
                let guard = self.slots[slot].browser.lock().await;
                guard.as_ref().map(|h| {
                    (
                        h.generation,
                        h.probe.clone(),
                        h.pid,
                        h.browser.is_connected(),
                    )
                })
            };
            let Some((generation, session, pid, connected)) = target else {
                continue;
            };
            let timeout = Duration::from_millis(self.settings.health_timeout_ms);
            let answered = connected && answers(session, timeout).await;
            if !answered {
                self.slots[slot].unhealthy.store(true, Ordering::Relaxed);
                tracing::warn!(
                    slot,
                    ?timeout,
                    "browser failed its health probe; killing and relaunching it"
                );
                self.restart(slot, generation).await;
                continue;
            }
            let ceiling = self.settings.recycle_above_mib;
            if let Some(pid) = pid
                && let Some(mib) = above_ceiling(ceiling, || procfs::tree_pss_kib(pid))
            {
                tracing::info!(
                    slot,
                    mib,
                    ceiling,
                    "browser above its memory ceiling; recycling it"
                );
                self.slots[slot].recycle_due.store(true, Ordering::Release);
                self.recycle(slot, "memory ceiling").await;
            }
        }
        if round.sweep && !self.closing.load(Ordering::Relaxed) {
            self.sweep_strays();
        }
    }

    /// Kills tagged browsers in no slot, drain or launch (see `processes.rs`).
    fn sweep_strays(&self) {
        let killed = self.processes.sweep(|| {
            let mut markers = Vec::new();
            for slot in &self.slots {
                // A slot in use (a checkout, a launch) is looked at next time.
                let guard = slot.browser.try_lock().ok()?;
                markers.extend(guard.as_ref().map(|h| h.marker.clone()));
            }
            Some(markers)
        });
        self.counters.strays.fetch_add(killed, Ordering::Relaxed);
    }

    /// Replaces a browser that failed its probe: SIGKILL its tree (a frozen browser cannot close),
    /// then launch a fresh one. Pages checked out on it fail and their requests retry or time out.
    async fn restart(&self, slot: usize, generation: u64) {
        let mut guard = self.slots[slot].browser.lock().await;
        if guard.as_ref().is_none_or(|h| h.generation != generation) {
            return;
        }
        if let Some(old) = guard.take() {
            self.discard(old);
        }
        self.pages.drop_idle_of(generation);
        if self.closing.load(Ordering::Relaxed) {
            return;
        }
        match self.launch(slot).await {
            Ok(handle) => {
                *guard = Some(handle);
                self.slots[slot].unhealthy.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(slot, error = %e, "relaunch after a failed probe failed; the next checkout retries")
            }
        }
    }

    /// A planned replacement: launch the new browser first (the old one keeps serving meanwhile),
    /// swap it in so new checkouts get it, and close the old one once its pages in use are back.
    async fn recycle(&self, slot: usize, reason: &'static str) {
        let fresh = match self.launch(slot).await {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(slot, error = %e, "recycle: the new browser did not launch; keeping the old one");
                self.slots[slot].recycle_due.store(false, Ordering::Release);
                return;
            }
        };
        let old = {
            let mut guard = self.slots[slot].browser.lock().await;
            if self.closing.load(Ordering::Relaxed) {
                drop(guard);
                fresh.kill();
                fresh.close_in_background();
                return;
            }
            guard.replace(fresh)
        };
        self.slots[slot].unhealthy.store(false, Ordering::Relaxed);
        self.slots[slot].recycle_due.store(false, Ordering::Release);
        let Some(old) = old else { return };
        self.counters.recycles.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            slot,
            reason,
            renders = old.renders.load(Ordering::Relaxed),
            "browser recycled; the old one drains"
        );
        self.pages.drop_idle_of(old.generation);
        let drain = self
            .processes
            .drain_started(old.generation, old.pid, &old.marker);
        // Long enough for any capture that was running on it to finish or miss its deadline.
        // In its own task, so the maintenance loop keeps probing the other browsers meanwhile.
        let patience =
            Duration::from_millis(self.settings.browser_timeout_ms) + Duration::from_secs(2);
        tokio::spawn(async move {
            let drained = async {
                while old.in_use.load(Ordering::Acquire) > 0 {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            };
            if tokio::time::timeout(patience, drained).await.is_err() {
                tracing::warn!(
                    slot,
                    "a recycled browser still had pages in use; closing it anyway"
                );
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), old.browser.close()).await;
            old.kill();
            drain.finish();
        });
    }
}

/// Whether a browser answers CDP `Browser.getVersion` within `timeout`. Without a session (none
/// could be opened at launch) the probe only checks the connection, which the caller does.
async fn answers(session: Option<CDPSession>, timeout: Duration) -> bool {
    match session {
        Some(session) => matches!(
            tokio::time::timeout(timeout, session.send("Browser.getVersion", None)).await,
            Ok(Ok(_))
        ),
        None => true,
    }
}

/// Whether a browser that has finished `done` captures is due for a recycle
/// (`PLAYWRIGHT__RECYCLE_AFTER_RENDERS` = `limit`, 0 never).
pub(super) fn due_by_count(done: u64, limit: u64) -> bool {
    limit > 0 && done >= limit
}

/// A browser's memory in MiB when it is above `ceiling_mib` (`PLAYWRIGHT__RECYCLE_ABOVE_MIB`,
/// 0 never, and then its tree is not even read); `pss_kib` reads its tree's PSS.
fn above_ceiling(ceiling_mib: u64, pss_kib: impl FnOnce() -> u64) -> Option<u64> {
    if ceiling_mib == 0 {
        return None;
    }
    let mib = pss_kib() / 1024;
    (mib > ceiling_mib).then_some(mib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_is_due_for_a_recycle_from_its_limitth_render_on() {
        assert!(!due_by_count(1_000_000, 0), "0 means never");
        assert!(!due_by_count(99, 100));
        assert!(due_by_count(100, 100));
        // Still due after a recycle whose new browser did not launch: the next capture asks again.
        assert!(due_by_count(101, 100));
    }

    #[test]
    fn a_browser_is_recycled_only_above_its_memory_ceiling() {
        let mut read = false;
        assert_eq!(
            above_ceiling(0, || {
                read = true;
                u64::MAX
            }),
            None
        );
        assert!(!read, "no ceiling, yet the tree's memory was read");
        assert_eq!(above_ceiling(700, || 700 * 1024), None);
        assert_eq!(
            above_ceiling(700, || 701 * 1024 - 1),
            None,
            "whole MiB only"
        );
        assert_eq!(above_ceiling(700, || 701 * 1024), Some(701));
    }

    #[test]
    fn a_missed_deadline_probes_even_with_the_interval_off_but_never_sweeps() {
        assert_eq!(
            Round::plan(false, true),
            Round {
                probe: true,
                sweep: false
            }
        );
        // Woken for a recycle only.
        assert_eq!(
            Round::plan(false, false),
            Round {
                probe: false,
                sweep: false
            }
        );
        assert_eq!(
            Round::plan(true, false),
            Round {
                probe: true,
                sweep: true
            }
        );
    }

    #[tokio::test]
    async fn a_missed_deadline_wakes_the_task_and_asks_for_a_probe() {
        let maintenance = Maintenance::new();
        let wake = maintenance.wake.clone();
        let woken = tokio::spawn(async move { wake.notified().await });
        tokio::task::yield_now().await;
        maintenance.deadline_missed();
        tokio::time::timeout(Duration::from_secs(10), woken)
            .await
            .expect("the task was not woken")
            .expect("the waiter panicked");
        assert!(maintenance.probe_requested());
    }
}

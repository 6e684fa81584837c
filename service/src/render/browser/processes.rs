//! The pool's processes as the OS sees them: the tag and markers on their command lines, the
//! browsers that are in no slot for a while (launching, draining), the sweep that kills a tagged
//! browser nobody owns, and the kills that end a shutdown.
//!
//! A browser is found by its command line, never by a remembered pid alone:
//! `--card-service-pool=TAG` marks every browser of this pool, `--card-service-browser=TAG-GENERATION`
//! each one, so a kill never hits a recycled pid or another pool's browser (tests run several
//! pools in one process).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::lock;
use crate::render::procfs;

/// What a browser's own marker starts with; `TAG-GENERATION` follows.
const BROWSER_MARKER: &str = "--card-service-browser=";

/// What the Node driver (`cli.js run-driver`) has on its command line.
const DRIVER_ARG: &str = "run-driver";

/// This pool's name on its processes' command lines: `PID-N`, unique on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tag(String);

impl Tag {
    /// A tag no other pool, in this process or another, has.
    pub(super) fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(format!("{}-{n}", std::process::id()))
    }

    /// `--card-service-pool=TAG`, on the command line of every browser of this pool.
    pub(super) fn pool_arg(&self) -> String {
        format!("--card-service-pool={}", self.0)
    }

    /// `--card-service-browser=TAG-GENERATION`: one browser's own marker.
    pub(super) fn browser_arg(&self, generation: u64) -> String {
        format!("{BROWSER_MARKER}{}-{generation}", self.0)
    }
}

/// A browser replaced and still draining (its pages in use finish first).
struct Draining {
    generation: u64,
    pid: Option<i32>,
    marker: String,
}

/// Everything the pool knows of its processes beyond the browsers in its slots.
pub(super) struct Processes {
    tag: Tag,
    /// Markers of launches in progress: their browsers are in no slot yet.
    launching: Mutex<Vec<String>>,
    /// Browsers replaced and still draining: a sweep spares them, shutdown kills them.
    draining: Arc<Mutex<Vec<Draining>>>,
    /// Pids of the Node drivers started (the parents of Chromium's main processes), so shutdown
    /// can make sure none is left (a driver is replaced when a launch through it fails).
    drivers: Mutex<Vec<i32>>,
    /// Markers of tagged browsers the last sweep found in no slot; killed if the next finds them
    /// again (see [`plan_sweep`]).
    suspects: Mutex<Vec<String>>,
}

impl Processes {
    pub(super) fn new() -> Self {
        Self {
            tag: Tag::new(),
            launching: Mutex::new(Vec::new()),
            draining: Arc::default(),
            drivers: Mutex::new(Vec::new()),
            suspects: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn tag(&self) -> &Tag {
        &self.tag
    }

    /// A launch under `marker` began: its browser may show up before it is in a slot.
    pub(super) fn launch_started(&self, marker: &str) {
        lock(&self.launching).push(marker.to_string());
    }

    /// The launch under `marker` ended, launched or not.
    pub(super) fn launch_ended(&self, marker: &str) {
        lock(&self.launching).retain(|m| m != marker);
    }

    /// A replaced browser starts draining; [`Drain::finish`] once it is closed and killed.
    pub(super) fn drain_started(&self, generation: u64, pid: Option<i32>, marker: &str) -> Drain {
        lock(&self.draining).push(Draining {
            generation,
            pid,
            marker: marker.to_string(),
        });
        Drain {
            draining: self.draining.clone(),
            generation,
        }
    }

    /// Main-process pids of the browsers draining now.
    pub(super) fn draining_pids(&self) -> Vec<i32> {
        lock(&self.draining).iter().filter_map(|d| d.pid).collect()
    }

    /// Remembers the driver that started the browser whose main process is `browser_pid` (its
    /// parent).
    pub(super) fn remember_driver_of(&self, browser_pid: i32) {
        if let Some((ppid, _, _)) = procfs::stat(browser_pid) {
            let mut drivers = lock(&self.drivers);
            if !drivers.contains(&ppid) {
                drivers.push(ppid);
            }
        }
    }

    /// The Node drivers' pids seen so far (normally one).
    pub(super) fn driver_pids(&self) -> Vec<i32> {
        lock(&self.drivers).clone()
    }

    /// Kills this pool's browsers that belong to no slot, no drain and no launch in progress: one
    /// an abandoned driver finished starting after its launch timed out, which would otherwise
    /// hold its memory until shutdown. `in_slots` gives the markers of the browsers in the slots,
    /// or `None` when a slot is busy (then the sweep is left for next time). Returns how many
    /// browsers were killed.
    pub(super) fn sweep(&self, in_slots: impl FnOnce() -> Option<Vec<String>>) -> u64 {
        let tagged = procfs::pids_with_arg(&self.tag.pool_arg());
        let mut known: Vec<String> = lock(&self.launching).clone();
        known.extend(lock(&self.draining).iter().map(|d| d.marker.clone()));
        let Some(in_slots) = in_slots() else { return 0 };
        known.extend(in_slots);
        let found = tagged
            .into_iter()
            .filter_map(|pid| Some((pid, procfs::arg_with_prefix(pid, BROWSER_MARKER)?)))
            .collect();
        let mut suspects = lock(&self.suspects);
        let plan = plan_sweep(found, &known, &suspects);
        let mut killed = 0;
        for (pid, marker) in plan.kill {
            if procfs::kill_tree(pid, &marker) > 0 {
                killed += 1;
                tracing::warn!(pid, %marker, "killed a browser that belongs to no slot");
            }
        }
        *suspects = plan.suspects;
        killed
    }

    /// SIGKILLs the browsers still draining (shutdown: they do not get to finish).
    pub(super) fn kill_draining(&self) {
        let draining: Vec<Draining> = lock(&self.draining).drain(..).collect();
        for d in draining {
            if let Some(pid) = d.pid {
                procfs::kill_tree(pid, &d.marker);
            }
        }
    }

    /// SIGKILLs every driver still running after the pool's own was shut down: one that is
    /// stuck, or one replaced after a failed launch and never told to exit. They get 200 ms to
    /// exit first.
    pub(super) async fn kill_leftover_drivers(&self) {
        let mut waited = false;
        for pid in self.driver_pids() {
            if !procfs::has_arg(pid, DRIVER_ARG) {
                continue;
            }
            if !waited {
                tokio::time::sleep(Duration::from_millis(200)).await;
                waited = true;
            }
            if procfs::has_arg(pid, DRIVER_ARG) {
                tracing::warn!(pid, "a Playwright driver did not exit; killing it");
                procfs::kill_tree(pid, DRIVER_ARG);
            }
        }
    }

    /// SIGKILLs every process carrying this pool's tag, with its tree, now; how many were killed.
    pub(super) fn kill_tagged(&self) -> usize {
        let tag = self.tag.pool_arg();
        procfs::pids_with_arg(&tag)
            .into_iter()
            .filter(|pid| procfs::kill_tree(*pid, &tag) > 0)
            .count()
    }
}

/// A browser's place in the draining list, for the task that closes it.
pub(super) struct Drain {
    draining: Arc<Mutex<Vec<Draining>>>,
    generation: u64,
}

impl Drain {
    /// The browser is closed (or killed): it no longer drains.
    pub(super) fn finish(self) {
        lock(&self.draining).retain(|d| d.generation != self.generation);
    }
}

/// SIGKILL to a browser's process tree, if it is still there (no-op once it exited).
pub(super) fn kill_browser(pid: Option<i32>, marker: &str) {
    if let Some(pid) = pid {
        let killed = procfs::kill_tree(pid, marker);
        if killed > 0 {
            tracing::debug!(pid, killed, "killed a browser's processes");
        }
    }
}

/// The main process of the browser launched under `marker`: the process with the marker whose
/// parent has none (its children may inherit the switches).
pub(super) fn main_process(marker: &str) -> Option<i32> {
    pick_main_process(
        procfs::pids_with_arg(marker),
        |pid| procfs::stat(pid).map(|(ppid, _, _)| ppid),
        |pid| procfs::has_arg(pid, marker),
    )
}

/// [`main_process`] over a process table given as functions: the first of `marked` whose
/// parent is known and is not marked.
fn pick_main_process(
    marked: Vec<i32>,
    parent: impl Fn(i32) -> Option<i32>,
    is_marked: impl Fn(i32) -> bool,
) -> Option<i32> {
    marked
        .into_iter()
        .find(|pid| parent(*pid).is_some_and(|ppid| !is_marked(ppid)))
}

/// What one sweep does.
#[derive(Debug, PartialEq)]
struct SweepPlan {
    /// Tagged browsers to kill now, as `(pid, marker)`.
    kill: Vec<(i32, String)>,
    /// Markers to look at again next sweep.
    suspects: Vec<String>,
}

/// Decides one sweep from the tagged processes it found (`(pid, browser marker)`), the markers
/// the pool accounts for (slots, drains, launches) and the last sweep's suspects. A browser must
/// be found astray by two sweeps in a row (one probe interval apart) before it is killed, so one
/// between its launch and its slot is safe.
fn plan_sweep(found: Vec<(i32, String)>, known: &[String], suspects: &[String]) -> SweepPlan {
    let mut plan = SweepPlan {
        kill: Vec::new(),
        suspects: Vec::new(),
    };
    for (pid, marker) in found {
        if known.contains(&marker) {
            continue;
        }
        if suspects.contains(&marker) {
            plan.kill.push((pid, marker));
        } else {
            plan.suspects.push(marker);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_browser_marker_is_the_pool_tag_and_a_generation() {
        let tag = Tag::new();
        // tests/tests/browser.rs builds a stray's marker this way from `process_tag()`.
        let pool_id = tag
            .pool_arg()
            .trim_start_matches("--card-service-pool=")
            .to_string();
        assert_eq!(
            tag.browser_arg(7),
            format!("--card-service-browser={pool_id}-7")
        );
        assert!(pool_id.starts_with(&format!("{}-", std::process::id())));
        assert_ne!(Tag::new(), tag, "two pools share a tag");
    }

    #[test]
    fn a_stray_is_killed_on_its_second_sighting_only() {
        let found = vec![(10, "--card-service-browser=1-9".to_string())];
        let first = plan_sweep(found.clone(), &[], &[]);
        assert!(first.kill.is_empty());
        assert_eq!(first.suspects, markers(&["--card-service-browser=1-9"]));
        let second = plan_sweep(found, &[], &first.suspects);
        assert_eq!(
            second.kill,
            [(10, "--card-service-browser=1-9".to_string())]
        );
        assert!(second.suspects.is_empty());
    }

    #[test]
    fn a_browser_the_pool_knows_is_never_suspected() {
        let found = vec![
            (10, "--card-service-browser=1-1".to_string()),
            (11, "--card-service-browser=1-2".to_string()),
        ];
        // Suspected last time, in a slot now (a launch that finished between the two sweeps).
        let plan = plan_sweep(
            found,
            &markers(&["--card-service-browser=1-1", "--card-service-browser=1-2"]),
            &markers(&["--card-service-browser=1-2"]),
        );
        assert_eq!(
            plan,
            SweepPlan {
                kill: vec![],
                suspects: vec![]
            }
        );
    }

    #[test]
    fn a_suspect_that_went_away_is_forgotten() {
        let plan = plan_sweep(
            vec![(12, "--card-service-browser=1-3".to_string())],
            &[],
            &markers(&["--card-service-browser=1-2"]),
        );
        assert!(plan.kill.is_empty());
        assert_eq!(plan.suspects, markers(&["--card-service-browser=1-3"]));
    }

    #[test]
    fn the_main_process_is_the_marked_one_whose_parent_is_not() {
        // 1 (driver) → 10 (browser) → 11 (zygote) → 12 (renderer); all but the driver marked.
        let parent = |pid| match pid {
            10 => Some(1),
            11 => Some(10),
            12 => Some(11),
            _ => None,
        };
        let is_marked = |pid| (10..=12).contains(&pid);
        assert_eq!(
            pick_main_process(vec![12, 11, 10], parent, is_marked),
            Some(10)
        );
        // The main process exiting (its stat gone): none of its children is taken for it.
        let exiting = |pid| if pid == 10 { None } else { parent(pid) };
        assert_eq!(
            pick_main_process(vec![10, 11, 12], exiting, is_marked),
            None
        );
        assert_eq!(pick_main_process(vec![], parent, is_marked), None);
    }
}

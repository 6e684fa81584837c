//! The service under test as a separate process, and the memory of process trees.
//!
//! Each instance is the release `card-service` binary in its own process group (so Chromium and
//! the Node driver go with it), configured only through the environment, run from a scratch
//! directory (a developer's `.env` cannot change the figures), logging to a file.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use card_service::procfs;

use super::load::Conn;
use crate::util;

/// How long an instance may take to answer `/readyz` with 200.
const READY_PATIENCE: Duration = Duration::from_secs(90);

/// A running `card-service`; dropping it kills its process group.
pub struct Service {
    child: Child,
    pub addr: String,
    pub log: PathBuf,
    /// From exec to the first 200 from `/readyz`.
    pub ready_in: Duration,
}

impl Service {
    /// Starts `binary` with `env` on a free port and waits for `/readyz` 200.
    pub async fn start(
        binary: &Path,
        workdir: &Path,
        name: &str,
        env: &[(String, String)],
    ) -> Result<Service> {
        let port = card_e2e::free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let log = workdir.join(format!("{name}.log"));
        let out = fs::File::create(&log)
            .with_context(|| format!("could not create {}", log.display()))?;
        let mut cmd = Command::new(binary);
        cmd.current_dir(workdir)
            .env("SERVER__BIND", &addr)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut service = Service {
            child,
            addr,
            log,
            ready_in: Duration::ZERO,
        };
        service.wait_ready(started).await?;
        service.ready_in = started.elapsed();
        Ok(service)
    }

    async fn wait_ready(&mut self, started: Instant) -> Result<()> {
        loop {
            let last = match readyz(&self.addr).await {
                Ok(200) => return Ok(()),
                Ok(status) => format!("HTTP {status}"),
                Err(e) => format!("{e:#}"),
            };
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "card-service exited ({status}) before /readyz answered; its log: {}",
                    self.log.display()
                );
            }
            if started.elapsed() > READY_PATIENCE {
                bail!(
                    "card-service did not answer /readyz with 200 within {} (last: {last}); its log: {}",
                    util::human_duration(READY_PATIENCE),
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, a bounded wait for the graceful shutdown, then SIGKILL for whatever is left.
    pub async fn stop(mut self) {
        signal_group(self.child.id(), libc::SIGTERM);
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Drop kills the group and reaps.
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // SAFETY: killpg only sends a signal; a group that is gone gives ESRCH.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

async fn readyz(addr: &str) -> Result<u16> {
    let probe = async {
        let mut conn = Conn::open(addr).await?;
        Ok::<_, anyhow::Error>(conn.request("GET", "/readyz", "").await?.status)
    };
    tokio::time::timeout(Duration::from_secs(3), probe)
        .await
        .context("timed out")?
}

/// Memory of a process tree, from `/proc/PID/smaps_rollup`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Memory {
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub processes: usize,
}

impl Memory {
    pub fn pss_mib(&self) -> f64 {
        self.pss_kib as f64 / 1024.0
    }
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
}

/// `roots` and every descendant, summed (the tree walk is the service's own, `render::procfs`).
pub fn tree_memory(roots: &[u32]) -> Memory {
    let mut pids: Vec<i32> = roots
        .iter()
        .filter_map(|&root| i32::try_from(root).ok())
        .flat_map(procfs::tree)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    let mut memory = Memory::default();
    for pid in pids {
        if let Some((rss, pss)) = procfs::rss_pss_kib(pid) {
            memory.rss_kib += rss;
            memory.pss_kib += pss;
            memory.processes += 1;
        }
    }
    memory
}

/// How often [`Sampler`] reads the tree's memory. Reading `smaps_rollup` walks every page table:
/// ≈ 57 ms of kernel time for the ≈ 24 processes of a service with two browsers, so sampling
/// every 250 ms took ≈ 12 % of two cores from the service it measured. Memory moves slowly next to
/// that; once a second is ≈ 3 %.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Samples a tree's memory every [`SAMPLE_EVERY`] until dropped, keeping the peak PSS; once more
/// when finished.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    peak_pss: Arc<AtomicU64>,
    peak_rss: Arc<AtomicU64>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(roots: Vec<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_pss = Arc::new(AtomicU64::new(0));
        let peak_rss = Arc::new(AtomicU64::new(0));
        let (s, p, r) = (stop.clone(), peak_pss.clone(), peak_rss.clone());
        let task = tokio::task::spawn_blocking(move || {
            let mut last = None::<std::time::Instant>;
            loop {
                let stopping = s.load(Ordering::Relaxed);
                if stopping || last.is_none_or(|t| t.elapsed() >= SAMPLE_EVERY) {
                    let m = tree_memory(&roots);
                    p.fetch_max(m.pss_kib, Ordering::Relaxed);
                    r.fetch_max(m.rss_kib, Ordering::Relaxed);
                    last = Some(std::time::Instant::now());
                }
                if stopping {
                    break;
                }
                // Short sleeps, so a finished case does not wait out a whole interval.
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler {
            stop,
            peak_pss,
            peak_rss,
            task: Some(task),
        }
    }

    /// Stops sampling; the peak PSS and RSS seen.
    pub async fn finish(mut self) -> Memory {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        Memory {
            rss_kib: self.peak_rss.load(Ordering::Relaxed),
            pss_kib: self.peak_pss.load(Ordering::Relaxed),
            processes: 0,
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory() {
        let me = std::process::id();
        let memory = tree_memory(&[me]);
        assert!(
            memory.pss_kib > 0 && memory.rss_kib >= memory.pss_kib,
            "{memory:?}"
        );
        assert!(memory.processes >= 1);
        assert_eq!(tree_memory(&[]), Memory::default());
    }
}

//! The fleet's control plane (`CONTROL__*`): how often an instance follows the bucket, and who it is.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Invalid, check, ms};

/// How an instance takes part in the control plane (only with `S3__ENABLED=true`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlSettings {
    /// Follow and change the bucket's control plane when S3 is enabled. Off: each instance
    /// runs on its own `TEMPLATES__DIR` and experiment file, as without S3.
    pub enabled: bool,
    /// How often the instance asks the bucket whether the manifest changed (a conditional GET).
    pub poll_interval_ms: u64,
    /// This instance's name in the fleet: its counters and heartbeat objects are named after it,
    /// so it must be unique and stable across restarts. Unset: `{hostname}-{port}`.
    pub instance_id: Option<String>,
    /// How often the instance writes its experiment counters to its own object (at most 30 s).
    pub flush_interval_ms: u64,
    /// How often the instance writes its heartbeat; one silent for three intervals is stale.
    pub heartbeat_interval_ms: u64,
    /// Days the counters of an ended experiment are kept before `cleanup` deletes them.
    pub counts_retention_days: u64,
    /// How many render-check runs of each design (an upload's or a dry run's findings and cards,
    /// for `/preview/diff`) the bucket keeps; older ones are deleted after each new run.
    pub check_runs_kept: usize,
}

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval_ms: 2_000,
            instance_id: None,
            flush_interval_ms: 15_000,
            heartbeat_interval_ms: 10_000,
            counts_retention_days: 90,
            check_runs_kept: 10,
        }
    }
}

impl ControlSettings {
    pub fn validate(&self) -> Result<(), Invalid> {
        check(
            (100..=60_000).contains(&self.poll_interval_ms),
            "CONTROL__POLL_INTERVAL_MS",
            "milliseconds between 100 and 60000",
        )?;
        check(
            self.instance_id
                .as_deref()
                .is_none_or(card_request::is_valid_id),
            "CONTROL__INSTANCE_ID",
            "1 to 64 characters of [A-Za-z0-9_-]",
        )?;
        check(
            (1_000..=30_000).contains(&self.flush_interval_ms),
            "CONTROL__FLUSH_INTERVAL_MS",
            "milliseconds between 1000 and 30000 (a restart loses at most one interval)",
        )?;
        check(
            (1_000..=60_000).contains(&self.heartbeat_interval_ms),
            "CONTROL__HEARTBEAT_INTERVAL_MS",
            "milliseconds between 1000 and 60000",
        )?;
        check(
            self.counts_retention_days >= 1,
            "CONTROL__COUNTS_RETENTION_DAYS",
            "at least 1 day",
        )?;
        check(
            (1..=100).contains(&self.check_runs_kept),
            "CONTROL__CHECK_RUNS_KEPT",
            "between 1 and 100 runs per design",
        )
    }

    pub fn poll_interval(&self) -> Duration {
        ms(self.poll_interval_ms)
    }

    pub fn flush_interval(&self) -> Duration {
        ms(self.flush_interval_ms)
    }

    pub fn heartbeat_interval(&self) -> Duration {
        ms(self.heartbeat_interval_ms)
    }

    /// The instance id: the configured one, else `{hostname}-{port}` (stable across restarts).
    pub fn instance_id(&self, port: u16) -> String {
        if let Some(id) = &self.instance_id {
            return id.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "instance".into());
        let id: String = format!("{host}-{port}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        id
    }
}

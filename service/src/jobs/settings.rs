//! The jobs' settings (`JOBS__*`): schedules and the warm-cache selection, parsed once at start-up.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{Invalid, check};
use crate::jobs::schedule::Schedule;
use crate::listings::Metric;

/// Background jobs: cache warm-up and cleanup on cron schedules (UTC), one runner per run across instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSettings {
    /// When false nothing runs on a schedule; manual runs (`/admin/jobs/*`, `cargo xtask warm-cache|cleanup`) still work.
    pub enabled: bool,
    /// How long a run's lease in S3 holds without renewal: a crashed holder blocks the job at most this long.
    pub lease_ttl_seconds: u64,
    /// Finished runs kept per job for `GET /admin/jobs`.
    pub history: usize,
    pub warm_cache: WarmCacheSettings,
    pub cleanup: CleanupSettings,
}

impl Default for JobsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_ttl_seconds: 300,
            history: 20,
            warm_cache: WarmCacheSettings::default(),
            cleanup: CleanupSettings::default(),
        }
    }
}

/// The warm-cache job: render the top listings before crawlers ask for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarmCacheSettings {
    /// Five-field cron expression in UTC (minute hour day-of-month month day-of-week).
    pub schedule: Schedule,
    /// How many listings to warm, best first by `metric`.
    pub limit: usize,
    /// The ranking: `cpu_mark_per_dollar`, `cpu_mark` or `price`.
    pub metric: Metric,
    /// Which designs: `all` (every live design except `fixture-*`), `default` (`TEMPLATES__DEFAULT`),
    /// or a comma-separated list of design names.
    pub variants: Variants,
}

impl Default for WarmCacheSettings {
    fn default() -> Self {
        Self {
            schedule: Schedule::parse("0 3 * * *").expect("a valid default schedule"),
            limit: 100,
            metric: Metric::CpuMarkPerDollar,
            variants: Variants::All,
        }
    }
}

/// The cleanup job: delete expired and superseded images under `card-images/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleanupSettings {
    /// Five-field cron expression in UTC; the default is Sundays at 04:00.
    pub schedule: Schedule,
}

impl Default for CleanupSettings {
    fn default() -> Self {
        Self {
            schedule: Schedule::parse("0 4 * * 0").expect("a valid default schedule"),
        }
    }
}

/// Which designs a warm-up renders (`JOBS__WARM_CACHE__VARIANTS`, `--variants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Variants {
    /// Every live design except test fixtures (`fixture-*`).
    All,
    /// `TEMPLATES__DEFAULT` only.
    Default,
    /// These designs; each must be live.
    Named(Vec<String>),
}

impl Variants {
    /// `all`, `default`, or a comma-separated list of design names; the error says what is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "all" => Ok(Self::All),
            "default" => Ok(Self::Default),
            list => {
                let names: Vec<String> = list
                    .split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect();
                if names.is_empty() || !names.iter().all(|n| card_request::is_design_name(n)) {
                    return Err(
                        "`all`, `default` or a comma-separated list of design names \
                                ([a-z0-9-]{1,32})"
                            .into(),
                    );
                }
                Ok(Self::Named(names))
            }
        }
    }
}

impl fmt::Display for Variants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Default => f.write_str("default"),
            Self::Named(names) => f.write_str(&names.join(",")),
        }
    }
}

impl TryFrom<String> for Variants {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).map_err(|e| format!("expected {e}"))
    }
}

impl From<Variants> for String {
    fn from(variants: Variants) -> String {
        variants.to_string()
    }
}

impl JobsSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            (1..=10_000).contains(&self.warm_cache.limit),
            "JOBS__WARM_CACHE__LIMIT",
            "a whole number from 1 to 10000",
        )?;
        check(
            (10..=86_400).contains(&self.lease_ttl_seconds),
            "JOBS__LEASE_TTL_SECONDS",
            "seconds from 10 to 86400",
        )?;
        check(
            (1..=1_000).contains(&self.history),
            "JOBS__HISTORY",
            "a whole number from 1 to 1000",
        )
    }
}

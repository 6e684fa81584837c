//! `cargo xtask warm-cache`: the service's warm-cache job, run here against the configured bucket.
//!
//! Renders the top listings by a metric in the chosen designs, skipping what the bucket already
//! holds, through the service's own code (designs, Chromium pool, S3 keys), under the same lease
//! as the service's scheduled run. Installs Chromium and the driver and builds the designs if needed.

use std::time::Instant;

use anyhow::{Result, bail};
use card_service::{Metric, RunReport, RunRequest, Variants, WarmCacheOptions};

use crate::s3_target::{Target, TargetArgs};
use crate::{checks, install, jobs, templates, test_playwright, util};

#[derive(Debug, clap::Args)]
pub struct WarmCache {
    /// How many listings, best first [default: JOBS__WARM_CACHE__LIMIT, 100].
    #[arg(long)]
    pub limit: Option<usize>,
    /// Ranking: cpu_mark_per_dollar, cpu_mark or price [default: JOBS__WARM_CACHE__METRIC].
    #[arg(long)]
    pub metric: Option<Metric>,
    /// Designs: `all` (every live design except fixture-*), `default` (TEMPLATES__DEFAULT) or a
    /// comma-separated list [default: JOBS__WARM_CACHE__VARIANTS, all].
    #[arg(long)]
    pub variants: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

impl WarmCache {
    pub async fn run(self) -> Result<()> {
        let started = Instant::now();
        let mut settings = util::load_settings()?;
        let mut options = WarmCacheOptions::from_settings(&settings.jobs.warm_cache);
        if let Some(limit) = self.limit {
            if !(1..=10_000).contains(&limit) {
                bail!("--limit {limit}: expected a whole number from 1 to 10000");
            }
            options.limit = limit;
        }
        if let Some(metric) = self.metric {
            options.metric = metric;
        }
        if let Some(variants) = &self.variants {
            options.variants = Variants::parse(variants)
                .map_err(|e| anyhow::anyhow!("--variants {variants}: expected {e}"))?;
        }
        let target = Target::resolve(&self.target, &settings)?;

        let browser = install::browser()?;
        test_playwright::use_driver(&browser.node, &browser.cli_js);
        settings.playwright.executable_path = browser.chromium.clone();
        settings.playwright.enabled = true;
        if checks::templates(&settings.templates).is_failure() {
            templates::build()?;
        }

        let record = jobs::run(settings, &target, RunRequest::WarmCache(options.clone())).await?;
        let Some(RunReport::WarmCache(report)) = &record.report else {
            return jobs::verdict(&record, 0);
        };
        jobs::print_failures(&report.failures, report.failed);
        println!(
            "warm-cache: top {} listings by {} × {} design(s) ({}): {} rendered, {} already cached, {} failed in {}",
            report.listings,
            options.metric.as_str(),
            report.designs.len(),
            report.designs.join(", "),
            report.rendered,
            report.already_cached,
            report.failed,
            util::human_duration(started.elapsed())
        );
        jobs::verdict(&record, report.failed)
    }
}

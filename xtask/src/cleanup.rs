//! `cargo xtask cleanup`: the service's cleanup job, run here against the configured bucket.
//!
//! Deletes objects under `card-images/` older than `S3__CACHE_TTL_SECONDS` and superseded renders,
//! and nothing outside `card-images/`, under the same lease as the service's scheduled run.
//! `--dry-run` lists what it would delete and deletes nothing.

use std::time::Instant;

use anyhow::Result;
use card_service::{CleanupOptions, RunReport, RunRequest};

use crate::s3_target::{Target, TargetArgs};
use crate::{jobs, util};

#[derive(Debug, clap::Args)]
pub struct Cleanup {
    /// Report what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

impl Cleanup {
    pub async fn run(self) -> Result<()> {
        let started = Instant::now();
        let mut settings = util::load_settings()?;
        let target = Target::resolve(&self.target, &settings)?;
        // Cleanup never renders.
        settings.playwright.enabled = false;
        let ttl = settings.s3.cache_ttl_seconds;
        let options = CleanupOptions {
            dry_run: self.dry_run,
            now: None,
        };
        let record = jobs::run(settings, &target, RunRequest::Cleanup(options)).await?;
        let Some(RunReport::Cleanup(report)) = &record.report else {
            return jobs::verdict(&record, 0);
        };
        if report.dry_run {
            for doomed in &report.sample {
                eprintln!(
                    "    would delete {} ({})",
                    doomed.key,
                    doomed.reason.as_str()
                );
            }
            let planned = report.expired + report.superseded;
            if planned > report.sample.len() {
                eprintln!("    … and {} more", planned - report.sample.len());
            }
        }
        jobs::print_failures(&report.failures, report.failures.len());
        let found = format!(
            "{} objects ({}) under card-images/: {} older than {ttl} s, {} superseded",
            report.scanned,
            util::human_size(report.scanned_bytes),
            report.expired,
            report.superseded
        );
        let done = if report.dry_run {
            "dry run, nothing deleted".to_string()
        } else {
            format!(
                "deleted {} ({})",
                report.deleted,
                util::human_size(report.deleted_bytes)
            )
        };
        println!(
            "cleanup: {found}; {done} in {}",
            util::human_duration(started.elapsed())
        );
        jobs::verdict(&record, report.failures.len())
    }
}

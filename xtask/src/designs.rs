//! `cargo xtask designs push|list|rollback`: the fleet's designs, straight through the control
//! plane in the bucket (for CI pipelines that publish designs without going through HTTP);
//! `cargo xtask designs check`: the render checks of an upload, run here in Chromium.
//!
//! `push` validates the component here first, exactly as an instance does on upload (compile,
//! describe, smoke renders), so a broken design never reaches the manifest; then it stores the
//! component under its digest and makes it live with a conditional write. Every instance picks
//! it up at its next poll.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use card_control::{Actor, ControlError, ControlStore, Manifest, Read, Version};

use crate::s3_target::{Target, TargetArgs};
use crate::util;

#[derive(Debug, clap::Subcommand)]
pub enum Designs {
    /// Validate a component and make it the live version of its design on every instance.
    Push {
        /// The component (`card-templates/dist/NAME.wasm`).
        path: PathBuf,
        /// The design's name [default: the file name without `.wasm`].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Render a component's cards in Chromium on the reference listings and run the render checks
    /// an upload runs (overflow, glyphs, blank): a table of findings; non-zero on a refusing one.
    Check {
        /// The component (`card-templates/dist/NAME.wasm`).
        path: PathBuf,
        /// The design's name [default: the file name without `.wasm`].
        #[arg(long)]
        name: Option<String>,
        /// The level of each check, as `DESIGNS__CHECKS` [default: the settings' value].
        #[arg(long, value_name = "CHECK=LEVEL,...")]
        checks: Option<String>,
    },
    /// The manifest: live version of each design, its history, retired designs, the experiment.
    List {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Put the previous version of a design back, on every instance.
    Rollback {
        name: String,
        #[command(flatten)]
        target: TargetArgs,
    },
}

impl Designs {
    pub async fn run(self) -> Result<()> {
        let settings = util::load_settings()?;
        let started = Instant::now();
        match self {
            Designs::Push { path, name, target } => {
                let target = Target::resolve(&target, &settings)?;
                let name = design_name(&path, name)?;
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                util::step(format_args!(
                    "validating {} as design `{name}`",
                    path.display()
                ));
                let registry = card_service::DesignRegistry::new(settings.templates.clone())
                    .map_err(|e| anyhow::anyhow!("the wasm engine: {e}"))?;
                let design = registry
                    .validate(&name, &bytes)
                    .map_err(|e| anyhow::anyhow!("{}: not pushed: {e}", path.display()))?;
                let store = store(&target).await;
                util::step(format_args!(
                    "publishing to s3://{}/control/",
                    target.bucket()
                ));
                let digest = store
                    .put_component(&name, &bytes)
                    .await
                    .map_err(|e| fail(e, &target))?;
                let version = Version {
                    digest: digest.clone(),
                    version: design.version.clone(),
                    bytes: bytes.len() as u64,
                    action: "push".into(),
                    by: actor().by,
                    at: card_control::now(),
                };
                let changed = store
                    .change(&actor(), |m| m.publish(&name, version.clone()))
                    .await
                    .map_err(|e| fail(e, &target))?;
                let verb = if changed.value {
                    "is live"
                } else {
                    "was already live"
                };
                println!(
                    "designs push: {} ({}) {verb} at manifest revision {} in {}",
                    design.label(),
                    &digest[..12],
                    changed.manifest.revision,
                    util::human_duration(started.elapsed())
                );
            }
            Designs::Check { path, name, checks } => {
                let name = design_name(&path, name)?;
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let levels = match checks {
                    Some(text) => card_service::CheckLevels::try_from(text)
                        .map_err(|e| anyhow::anyhow!("--checks: {e}"))?,
                    None => settings.designs.checks,
                };
                util::step(format_args!(
                    "validating {} as design `{name}`",
                    path.display()
                ));
                let registry = Arc::new(
                    card_service::DesignRegistry::new(settings.templates.clone())
                        .map_err(|e| anyhow::anyhow!("the wasm engine: {e}"))?,
                );
                let design = registry
                    .validate(&name, &bytes)
                    .map_err(|e| anyhow::anyhow!("{}: refused: {e}", path.display()))?;
                util::step(format_args!(
                    "rendering the reference listings in Chromium ({levels})"
                ));
                let (node_check, node) = crate::checks::node();
                let (driver_check, cli_js) = crate::checks::driver();
                let (Some(node), Some(cli_js)) = (node, cli_js) else {
                    bail!(
                        "the render checks need Node and the Playwright driver: {node_check}; {driver_check} (`cargo xtask dev` or `cargo xtask test` installs them)"
                    );
                };
                crate::test_playwright::use_driver(&node, &cli_js);
                let mut playwright = settings.playwright.clone();
                (
                    playwright.max_concurrent_browsers,
                    playwright.pages_per_browser,
                ) = (1, 2);
                let deadline = Duration::from_millis(playwright.browser_timeout_ms);
                let pool = card_service::BrowserPool::new(playwright);
                let report =
                    card_service::check_design(&pool, &registry, &design, &levels, deadline).await;
                pool.shutdown().await;
                let report = report.map_err(|e| anyhow::anyhow!("Chromium: {e}"))?;
                print_findings(&report);
                if report.refused() {
                    bail!(
                        "designs check: {} is refused: {}",
                        path.display(),
                        report.summary()
                    );
                }
                println!(
                    "designs check: {} passes ({} listings, {} warning(s)) in {}",
                    design.label(),
                    report.listings,
                    report.findings.len(),
                    util::human_duration(started.elapsed())
                );
            }
            Designs::List { target } => {
                let target = Target::resolve(&target, &settings)?;
                let store = store(&target).await;
                match store
                    .read_manifest(None)
                    .await
                    .map_err(|e| fail(e, &target))?
                {
                    Read::Found { manifest, .. } => print_manifest(&manifest),
                    Read::Missing => println!(
                        "designs list: s3://{}/control/manifest.json does not exist yet (the first instance to start with S3 creates it)",
                        target.bucket()
                    ),
                    Read::Corrupt { message, .. } => bail!(
                        "s3://{}/control/manifest.json does not parse: {message}; instances keep serving their last good versions. Fix the object, or delete it and restart one instance to seed it again",
                        target.bucket()
                    ),
                    Read::NotModified => unreachable!("an unconditional GET is never 304"),
                }
            }
            Designs::Rollback { name, target } => {
                let target = Target::resolve(&target, &settings)?;
                let store = store(&target).await;
                let by = actor();
                let changed = store
                    .change(&by, |m| m.rollback(&name, &by))
                    .await
                    .map_err(|e| fail(e, &target))?;
                println!(
                    "designs rollback: `{name}` is back to {} ({}) at manifest revision {}",
                    changed.value.version,
                    &changed.value.digest[..12],
                    changed.manifest.revision
                );
            }
        }
        Ok(())
    }
}

/// The design name a component is pushed or checked as: `--name`, else the file name.
fn design_name(path: &std::path::Path, name: Option<String>) -> Result<String> {
    match name {
        Some(name) => Ok(name),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .context("the path names no file"),
    }
}

fn print_findings(report: &card_service::CheckReport) {
    if report.findings.is_empty() {
        println!("no findings on {} reference listings", report.listings);
        return;
    }
    println!(
        "{:<16} {:<9} {:<7} text / detail",
        "listing", "check", "level"
    );
    for f in &report.findings {
        println!(
            "{:<16} {:<9} {:<7} {:?}\n{:<34} {}",
            f.listing,
            f.check.name(),
            f.level.name(),
            f.text,
            "",
            f.detail
        );
    }
}

async fn store(target: &Target) -> ControlStore {
    ControlStore::new(target.client().await, target.bucket())
}

/// Changes made from here are signed `xtask@{hostname}`.
fn actor() -> Actor {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    Actor {
        by: format!("xtask@{host}"),
        at: card_control::now(),
    }
}

fn fail(e: ControlError, target: &Target) -> anyhow::Error {
    match e {
        ControlError::Unavailable(_) => anyhow::anyhow!("{e}; {}", target.fix_hint()),
        other => anyhow::anyhow!("{other}"),
    }
}

fn print_manifest(m: &Manifest) {
    println!(
        "manifest revision {} (last change by {} at {})",
        m.revision,
        m.updated_by,
        util::unix_time(m.updated_at)
    );
    println!(
        "{:<14} {:<10} {:<14} {:<8} {:<22} earlier versions",
        "design", "version", "digest", "action", "by"
    );
    for (name, entry) in &m.designs {
        let v = &entry.live;
        println!(
            "{:<14} {:<10} {:<14} {:<8} {:<22} {}",
            name,
            v.version,
            &v.digest[..12],
            v.action,
            v.by,
            entry.history.len()
        );
    }
    for (name, retired) in &m.retired {
        println!(
            "{name:<14} retired by {} at {}",
            retired.by,
            util::unix_time(retired.at)
        );
    }
    if let Some(default) = &m.default_design {
        println!("default design: {default}");
    }
    match &m.experiment {
        Some(e) => println!(
            "experiment in force: {} (since revision {}, by {})",
            e.name, e.revision, e.started_by
        ),
        None => println!("no experiment in force: every listing gets the default design"),
    }
    println!(
        "designs list: {} live, {} retired, {} invalidations kept",
        m.designs.len(),
        m.retired.len(),
        m.invalidations.len()
    );
}

//! `cargo xtask doctor`: every prerequisite and setting, checked, as a table with a fix per failure.
//!
//! Looks only; installs nothing (`cargo xtask dev` does). Exits non-zero when a required check
//! fails. S3 is checked when the service uses it (`S3__ENABLED=true`), when `--endpoint` or
//! `--aws` is given, or when a local server from `cargo xtask localstack up` answers; otherwise
//! its rows are skipped.

use anyhow::{Result, bail};
use aws_sdk_s3::error::DisplayErrorContext;
use card_service::settings::Settings;

use crate::checks::{self, Check, Outcome};
use crate::s3_target::{Source, Target, TargetArgs};
use crate::util;

#[derive(Debug, clap::Args)]
pub struct Doctor {
    #[command(flatten)]
    pub target: TargetArgs,
}

impl Doctor {
    pub async fn run(self) -> Result<()> {
        util::step("doctor: checking prerequisites and settings");
        let mut rows = Vec::new();
        let settings = match util::load_settings() {
            Ok(settings) => {
                rows.push(Check::ok(
                    "settings",
                    format!(
                        "valid (S3__ENABLED={}, PLAYWRIGHT__ENABLED={})",
                        settings.s3.enabled, settings.playwright.enabled
                    ),
                ));
                settings
            }
            Err(err) => {
                rows.push(Check::failed(
                    "settings",
                    format!("{err:#}"),
                    "fix that variable (.env.example documents each); the rows below use defaults",
                ));
                Settings::default()
            }
        };
        rows.push(checks::chromium(&settings.playwright));
        rows.push(checks::fonts());
        rows.push(checks::node().0);
        rows.push(checks::driver().0);
        rows.push(checks::wasm_target());
        rows.push(checks::templates(&settings.templates));
        rows.extend(s3_rows(&self.target, &settings).await?);

        print_table(&rows);
        let failed = rows.iter().filter(|r| r.is_failure()).count();
        let skipped = rows
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
            .count();
        let summary = format!(
            "{} ok, {failed} failed, {skipped} skipped",
            rows.len() - failed - skipped
        );
        if failed > 0 {
            bail!("doctor: {summary}; apply the fixes in the table above");
        }
        println!("doctor: {summary}; ready to run the service");
        Ok(())
    }
}

/// `S3 reachable` and `bucket configured`.
async fn s3_rows(args: &TargetArgs, settings: &Settings) -> Result<[Check; 2]> {
    const REACHABLE: &str = "S3 reachable";
    const CONFIGURED: &str = "bucket configured";
    let target = Target::resolve(args, settings)?;
    let explicit = args.aws || args.endpoint.is_some();
    if !settings.s3.enabled && !explicit {
        // The service does not use S3; a local server `localstack up` left running is still
        // worth checking (`dev` uses it), a dead one is not worth a failure.
        let local_answers = match (&target.source, &target.s3.endpoint_url) {
            (Source::LocalServer(_), Some(endpoint)) => card_e2e::s3::answers(endpoint).await,
            _ => false,
        };
        if !local_answers {
            let why =
                "S3__ENABLED=false and no local server answers: the service caches in memory only";
            return Ok([
                Check::skipped(REACHABLE, why),
                Check::skipped(CONFIGURED, why),
            ]);
        }
    }
    let client = target.client().await;
    let spec = target.spec();
    let head = client.head_bucket().bucket(target.bucket()).send().await;
    let missing_bucket = match &head {
        Ok(_) => false,
        Err(err) => err
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 404),
    };
    if let Err(err) = &head
        && !missing_bucket
    {
        let problem = format!("HeadBucket on {target}: {}", DisplayErrorContext(err));
        return Ok([
            Check::failed(REACHABLE, problem, target.fix_hint()),
            Check::skipped(CONFIGURED, "S3 does not answer"),
        ]);
    }
    let reachable = Check::ok(REACHABLE, target.to_string());
    if missing_bucket {
        return Ok([
            reachable,
            Check::failed(
                CONFIGURED,
                format!("the bucket {} does not exist", target.bucket()),
                "cargo xtask provision-bucket",
            ),
        ]);
    }
    let configured = match card_bucket::read_state(&client, &spec).await {
        Err(err) => Check::failed(
            CONFIGURED,
            format!("cannot read its configuration: {err}"),
            "use credentials allowed s3:GetBucket* (the service's least-privilege role is not)",
        ),
        Ok(state) => {
            let plan = card_bucket::plan(&spec, &state);
            let off: Vec<String> = plan
                .iter()
                .filter(|step| step.change.is_some())
                .map(|step| step.aspect.to_string())
                .collect();
            if off.is_empty() {
                let aspects: Vec<String> = plan.iter().map(|s| s.aspect.to_string()).collect();
                Check::ok(CONFIGURED, aspects.join(", "))
            } else {
                Check::failed(
                    CONFIGURED,
                    format!("not as the service needs: {}", off.join(", ")),
                    "cargo xtask provision-bucket",
                )
            }
        }
    };
    Ok([reachable, configured])
}

/// `CHECK  STATUS  DETAIL`, with the fix on its own line under a failure.
fn print_table(rows: &[Check]) {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    println!("  {:width$}  {:6}  DETAIL", "CHECK", "STATUS");
    for row in rows {
        let (status, detail, fix) = match &row.outcome {
            Outcome::Ok(detail) => ("ok", detail.as_str(), None),
            Outcome::Skipped(why) => ("skip", why.as_str(), None),
            Outcome::Failed { problem, fix } => ("FAIL", problem.as_str(), Some(fix)),
        };
        println!("  {:width$}  {status:6}  {detail}", row.name);
        if let Some(fix) = fix {
            println!("  {:width$}  {:6}  fix: {fix}", "", "");
        }
    }
}

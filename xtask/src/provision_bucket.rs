//! `cargo xtask provision-bucket`: the card bucket as the service needs it, idempotently.
//!
//! The logic lives in the `card-bucket` crate (so the end-to-end tests run the same code); this
//! module picks the target, prints each step and, with `--dry-run`, the AWS CLI line of each call
//! it would make. `cargo xtask dev` and `localstack up` provision through [`provision`] too.

use std::time::Instant;

use anyhow::{Context, Result};
use card_bucket::{AccessLog, BucketSpec, BucketState};
use card_service::settings::Settings;

use crate::s3_server::Running;
use crate::s3_target::{Target, TargetArgs};
use crate::util;

#[derive(Debug, clap::Args)]
pub struct ProvisionBucket {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print each call it would make (as AWS CLI lines, a runnable script on stdout) and make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the least-privilege IAM policy the service needs, and do nothing else.
    #[arg(long)]
    pub print_iam_policy: bool,
    /// Origins allowed to GET card images cross-origin (repeat or comma-separate).
    #[arg(long = "cors-origin", value_delimiter = ',', default_value = "*")]
    pub cors_origins: Vec<String>,
    /// Log access to the bucket into this second bucket (created if missing, same region).
    #[arg(long)]
    pub log_bucket: Option<String>,
    /// Prefix of the access logs in the log bucket [default: BUCKET/].
    #[arg(long, requires = "log_bucket")]
    pub log_prefix: Option<String>,
}

impl ProvisionBucket {
    pub async fn run(self) -> Result<()> {
        let settings = util::load_settings()?;
        let target = Target::resolve(&self.target, &settings)?;
        if self.print_iam_policy {
            println!("{}", iam_policy_text(target.bucket()));
            eprintln!(
                "provision-bucket: least-privilege IAM policy for the service on {} printed",
                target.bucket()
            );
            return Ok(());
        }
        let mut spec = target.spec();
        spec.cors_origins = self.cors_origins;
        if let Some(log_bucket) = &self.log_bucket {
            let mut log = AccessLog::for_bucket(log_bucket, &spec.bucket);
            if let Some(prefix) = self.log_prefix {
                log.prefix = prefix;
            }
            spec.access_log = Some(log);
        }
        let started = Instant::now();
        let mode = if self.dry_run {
            Mode::DryRun
        } else {
            Mode::Apply
        };
        let changes = provision(&target, &spec, mode).await?;
        let elapsed = util::human_duration(started.elapsed());
        match (mode, changes) {
            (Mode::DryRun, 0) => {
                println!("# provision-bucket --dry-run: {target} is provisioned; no call needed")
            }
            (Mode::DryRun, n) => println!(
                "# provision-bucket --dry-run: {n} call(s) would be made to {target}; nothing changed"
            ),
            (Mode::Apply, 0) => println!(
                "provision-bucket: {target} was already provisioned; nothing changed ({elapsed})"
            ),
            (Mode::Apply, n) => {
                println!("provision-bucket: {target} provisioned, {n} change(s) in {elapsed}")
            }
        }
        Ok(())
    }
}

/// The `--print-iam-policy` output, which docs/setup-aws.md shows verbatim.
pub fn iam_policy_text(bucket: &str) -> String {
    serde_json::to_string_pretty(&card_bucket::iam_policy(bucket))
        .unwrap_or_else(|e| format!("could not print the policy: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    DryRun,
}

/// Reads the bucket, prints each aspect as ok or changed (or, in a dry run, the call it would
/// make), and applies the changes; returns how many calls were (or would be) made.
pub async fn provision(target: &Target, spec: &BucketSpec, mode: Mode) -> Result<usize> {
    util::step(format_args!(
        "{} {target}",
        match mode {
            Mode::Apply => "provisioning",
            Mode::DryRun => "planning (dry run) for",
        }
    ));
    let client = target.client().await;
    let state = match card_bucket::read_state(&client, spec).await {
        Ok(state) => state,
        Err(err) if mode == Mode::DryRun => {
            eprintln!(
                "    could not read the current configuration ({err}); showing every call for a new bucket"
            );
            BucketState::missing()
        }
        Err(err) => {
            return Err(err).with_context(|| {
                format!("could not read the bucket {target}: {}", target.fix_hint())
            });
        }
    };
    let steps = card_bucket::plan(spec, &state);
    let mut changes = 0;
    for step in &steps {
        let Some(change) = &step.change else {
            eprintln!("    ok       {}: {}", step.aspect, step.wanted);
            continue;
        };
        changes += 1;
        if mode == Mode::DryRun {
            eprintln!("    would    {}: {}", step.aspect, step.wanted);
            println!("{}", change.cli());
            continue;
        }
        let started = Instant::now();
        change.apply(&client).await.with_context(|| {
            format!(
                "could not set the {} of {target}: {}",
                step.aspect,
                target.fix_hint()
            )
        })?;
        eprintln!(
            "    changed  {}: {} ({}, {} ms)",
            step.aspect,
            step.wanted,
            change.operation(),
            started.elapsed().as_millis()
        );
    }
    Ok(changes)
}

/// The local server's bucket, provisioned like `provision-bucket` does (for `dev` and `localstack up`).
pub async fn provision_local(running: &Running, settings: &Settings) -> Result<()> {
    let target = Target::local(running, settings);
    let changes = provision(&target, &target.spec(), Mode::Apply).await?;
    eprintln!(
        "    bucket {}: {}",
        target.bucket(),
        if changes == 0 {
            "already provisioned".to_string()
        } else {
            format!("{changes} change(s)")
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use card_bucket::{Change, plan};
    use card_service::S3Settings;
    use serde_json::Value;

    use super::*;
    use crate::s3_target;
    use crate::util::project_root;

    fn default_spec() -> BucketSpec {
        s3_target::spec(&S3Settings::default())
    }

    /// The fenced block after the line containing `marker` in docs/setup-aws.md.
    fn doc_block(marker: &str) -> String {
        let doc = fs::read_to_string(project_root().join("docs/setup-aws.md")).unwrap();
        let after = &doc[doc
            .find(marker)
            .unwrap_or_else(|| panic!("no `{marker}` in the doc"))..];
        let start = after.find("```").unwrap();
        let body = &after[start..];
        let body = &body[body.find('\n').unwrap() + 1..];
        body[..body.find("```").unwrap()].trim_end().to_string()
    }

    #[test]
    fn the_guide_shows_the_iam_policy_that_print_iam_policy_prints() {
        assert_eq!(
            doc_block("<!-- xtask provision-bucket --print-iam-policy -->"),
            iam_policy_text("dealbrain-card-images"),
            "docs/setup-aws.md is out of date: paste `cargo xtask provision-bucket --print-iam-policy`"
        );
    }

    #[test]
    fn the_guide_shows_the_calls_that_dry_run_prints_for_a_new_bucket() {
        let calls: Vec<String> = plan(&default_spec(), &BucketState::missing())
            .iter()
            .filter_map(|step| step.change.as_ref().map(|c| c.cli()))
            .collect();
        assert_eq!(
            doc_block("<!-- xtask provision-bucket --dry-run -->"),
            calls.join("\n"),
            "docs/setup-aws.md is out of date: paste `cargo xtask provision-bucket --dry-run --bucket dealbrain-card-images`"
        );
    }

    /// The LocalStack init hook sets the same CORS, lifecycle, policy and public access block.
    #[test]
    fn the_localstack_hook_provisions_like_provision_bucket() {
        let script = fs::read_to_string(
            project_root().join("localstack/init/ready.d/10-provision-bucket.sh"),
        )
        .unwrap();
        // The hook writes its JSON in single quotes with __BUCKET__ and __TTL_DAYS__ placeholders.
        let json = |name: &str| -> Value {
            let start = script
                .find(&format!("{name}='"))
                .unwrap_or_else(|| panic!("no {name}='…' in the hook"))
                + name.len()
                + 2;
            let text = &script[start..start + script[start..].find('\'').unwrap()];
            let text = text
                .replace("__BUCKET__", "dealbrain-card-images")
                .replace("__TTL_DAYS__", "30");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
        };
        // The JSON argument of an AWS CLI line, between its single quotes.
        let cli_json = |cli: &str| -> Value {
            let text = &cli[cli.find('\'').unwrap() + 1..cli.rfind('\'').unwrap()];
            serde_json::from_str(text).unwrap()
        };
        for step in plan(&default_spec(), &BucketState::missing()) {
            let Some(change) = step.change else { continue };
            let cli = change.cli();
            match change {
                Change::CreateBucket { .. } => assert!(script.contains("create-bucket")),
                Change::PutPublicAccessBlock { .. } => {
                    let wanted = cli.rsplit(' ').next().unwrap();
                    assert!(script.contains(wanted), "the hook lacks {wanted}");
                }
                Change::PutCors { .. } => assert_eq!(json("cors"), cli_json(&cli)),
                Change::PutLifecycle { .. } => {
                    assert_eq!(json("lifecycle"), cli_json(&cli))
                }
                Change::PutPolicy { policy, .. } => assert_eq!(json("policy"), policy),
                Change::PutLogging { .. } => {}
            }
        }
        // A TTL that is not whole days rounds up, as ttl_days does.
        assert!(script.contains("(ttl_seconds + 86399) / 86400"));
    }
}

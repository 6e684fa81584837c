//! `cargo xtask test-s3`: the configured bucket works the way the service and crawlers use it.
//!
//! Uploads a test object under `card-images/` with the service's own client, reads it back
//! anonymously over plain HTTP at its public URL, checks that an object outside `card-images/`
//! is denied (where the server enforces bucket policies: moto and AWS do, LocalStack does not),
//! checks that CORS, lifecycle and the policy are set, and deletes what it wrote. Each step prints
//! pass/fail and its time; any failure exits non-zero with a fix.

use std::{
    future::Future,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Result, bail};
use aws_sdk_s3::{Client, primitives::ByteStream};
use card_bucket::layout::CARD_IMAGES as PREFIX;
use card_bucket::{Aspect, BucketSpec, BucketState};

use crate::s3_target::{Target, TargetArgs};
use crate::util;

/// Objects outside `card-images/` go here; the test deletes them.
const PRIVATE_PREFIX: &str = "xtask-test-s3/";

#[derive(Debug, clap::Args)]
pub struct TestS3 {
    #[command(flatten)]
    pub target: TargetArgs,
}

/// How one step ended.
enum Verdict {
    Pass(String),
    Skip(String),
}

/// Runs steps in order, printing each with its time, and counts them.
#[derive(Default)]
struct Steps {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Steps {
    /// Runs one step; a failure is printed with its fix and counted, and `None` returned.
    async fn run<T>(
        &mut self,
        name: &str,
        step: impl Future<Output = Result<(T, Verdict)>>,
    ) -> Option<T> {
        let started = Instant::now();
        let result = step.await;
        let ms = started.elapsed().as_millis();
        match result {
            Ok((value, Verdict::Pass(detail))) => {
                self.passed += 1;
                eprintln!("    PASS  {name}: {detail} ({ms} ms)");
                Some(value)
            }
            Ok((value, Verdict::Skip(why))) => {
                self.skipped += 1;
                eprintln!("    SKIP  {name}: {why}");
                Some(value)
            }
            Err(err) => {
                self.failed += 1;
                eprintln!("    FAIL  {name}: {err:#} ({ms} ms)");
                None
            }
        }
    }
}

impl TestS3 {
    pub async fn run(self) -> Result<()> {
        let started = Instant::now();
        let settings = util::load_settings()?;
        let target = Target::resolve(&self.target, &settings)?;
        util::step(format_args!("test-s3 against {target}"));
        let client = target.client().await;
        let spec = target.spec();
        let id = format!(
            "{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        );
        let public_key = format!("{PREFIX}xtask-test-s3/{id}.txt");
        let private_key = format!("{PRIVATE_PREFIX}{id}.txt");
        let body = format!("card-service test-s3 {id}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut steps = Steps::default();

        let reachable = steps
            .run("bucket reachable", async {
                client
                    .head_bucket()
                    .bucket(target.bucket())
                    .send()
                    .await
                    .map_err(|e| describe(e.into(), &target))?;
                Ok(((), Verdict::Pass(format!("HeadBucket {}", target.bucket()))))
            })
            .await;
        if reachable.is_some() {
            let uploaded = steps
                .run("upload under card-images/", async {
                    put(&client, &target, &public_key, &body).await?;
                    Ok(((), Verdict::Pass(public_key.clone())))
                })
                .await;
            if uploaded.is_some() {
                let url = target.public_url(&public_key);
                steps
                    .run("anonymous public read", async {
                        let response = http.get(&url).send().await?;
                        let status = response.status();
                        let text = response.text().await?;
                        if !status.is_success() {
                            bail!(
                                "GET {url} answered {status}: the bucket policy does not make \
                                 {PREFIX}* public (fix: cargo xtask provision-bucket)"
                            );
                        }
                        if text != body {
                            bail!("GET {url} returned other bytes than were uploaded");
                        }
                        Ok(((), Verdict::Pass(format!("GET {url} → {status}"))))
                    })
                    .await;
            }
            steps
                .run("private key denied", async {
                    put(&client, &target, &private_key, &body).await?;
                    let url = target.public_url(&private_key);
                    let status = http.get(&url).send().await?.status();
                    let verdict = match (status.as_u16(), target.enforces_policies()) {
                        (403, _) => Verdict::Pass(format!("GET {url} → {status}")),
                        (200, Some(false)) => Verdict::Skip(format!(
                            "this server does not enforce bucket policies (LocalStack never \
                             does; moto and AWS do): GET {url} → {status}"
                        )),
                        (200, None) => Verdict::Skip(format!(
                            "GET {url} → {status}: this server served a private object \
                             anonymously; it does not enforce bucket policies (on AWS this \
                             would be a failure)"
                        )),
                        _ => bail!(
                            "GET {url} answered {status}, expected 403: objects outside {PREFIX} \
                             must stay private (fix: remove other public statements from the \
                             bucket policy, then cargo xtask provision-bucket)"
                        ),
                    };
                    Ok(((), verdict))
                })
                .await;
            let state = steps
                .run("read bucket configuration", async {
                    let state = card_bucket::read_state(&client, &spec)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e} (fix: {})", target.fix_hint()))?;
                    Ok((state, Verdict::Pass("CORS, lifecycle, policy".into())))
                })
                .await;
            if let Some(state) = state {
                for aspect in [Aspect::Cors, Aspect::Lifecycle, Aspect::Policy] {
                    steps
                        .run(&aspect.to_string(), async {
                            Ok(((), configured(&spec, &state, aspect)?))
                        })
                        .await;
                }
            }
            steps
                .run("delete test objects", async {
                    for key in [&public_key, &private_key] {
                        client
                            .delete_object()
                            .bucket(target.bucket())
                            .key(key)
                            .send()
                            .await
                            .map_err(|e| describe(e.into(), &target))?;
                    }
                    Ok(((), Verdict::Pass(format!("{public_key}, {private_key}"))))
                })
                .await;
        }

        let summary = format!(
            "{} passed, {} failed, {} skipped against {target} in {}",
            steps.passed,
            steps.failed,
            steps.skipped,
            util::human_duration(started.elapsed())
        );
        if steps.failed > 0 {
            bail!("test-s3: {summary}; fix the FAIL lines above");
        }
        println!("test-s3: {summary}");
        Ok(())
    }
}

/// Pass when `aspect` of the bucket is as `provision-bucket` sets it.
fn configured(spec: &BucketSpec, state: &BucketState, aspect: Aspect) -> Result<Verdict> {
    let step = card_bucket::plan(spec, state)
        .into_iter()
        .find(|step| step.aspect == aspect)
        .ok_or_else(|| anyhow::anyhow!("no {aspect} step in the plan"))?;
    match step.change {
        None => Ok(Verdict::Pass(step.wanted)),
        Some(_) => bail!(
            "not set as wanted ({}) (fix: cargo xtask provision-bucket)",
            step.wanted
        ),
    }
}

async fn put(client: &Client, target: &Target, key: &str, body: &str) -> Result<()> {
    client
        .put_object()
        .bucket(target.bucket())
        .key(key)
        .content_type("text/plain")
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| describe(e.into(), target))?;
    Ok(())
}

/// An SDK error with the fix for this target.
fn describe(err: aws_sdk_s3::Error, target: &Target) -> anyhow::Error {
    let text = match &err {
        aws_sdk_s3::Error::NotFound(_) => format!(
            "the bucket {} does not exist (fix: cargo xtask provision-bucket)",
            target.bucket()
        ),
        other => format!("{} (fix: {})", error_chain(other), target.fix_hint()),
    };
    anyhow::anyhow!(text)
}

/// The whole cause chain of an SDK error on one line (its `Display` says only "service error").
fn error_chain(err: &aws_sdk_s3::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

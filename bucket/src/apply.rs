//! The S3 side of provisioning: reading the bucket's configuration and making the planned calls.

use std::fmt;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus, CorsConfiguration,
    CreateBucketConfiguration, LoggingEnabled, PublicAccessBlockConfiguration,
};
use serde_json::Value;

use crate::error::ProvisionError;
use crate::plan::{BucketState, Change, LogBucketState, Step, plan};
use crate::spec::{AccessLog, BucketSpec, CorsRule, DEFAULT_REGION, PublicAccessBlock};

impl Change {
    /// Makes the call.
    pub async fn apply(&self, client: &Client) -> Result<(), ProvisionError> {
        let op = self.operation();
        match self {
            Change::CreateBucket { bucket, region } => {
                let mut request = client.create_bucket().bucket(bucket);
                if region != DEFAULT_REGION {
                    request = request.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(region.as_str()))
                            .build(),
                    );
                }
                match request.send().await {
                    Ok(_) => Ok(()),
                    // Created by a concurrent run between our read and this call.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(ProvisionError::call(op, &e)),
                }
            }
            Change::PutPublicAccessBlock { bucket, config } => client
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(config.block_public_acls)
                        .ignore_public_acls(config.ignore_public_acls)
                        .block_public_policy(config.block_public_policy)
                        .restrict_public_buckets(config.restrict_public_buckets)
                        .build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| ProvisionError::call(op, &e)),
            Change::PutCors { bucket, rules } => {
                let rules = rules
                    .iter()
                    .map(CorsRule::to_sdk)
                    .collect::<Result<Vec<_>, _>>()?;
                let config = CorsConfiguration::builder()
                    .set_cors_rules(Some(rules))
                    .build()
                    .map_err(|e| ProvisionError::build(op, e))?;
                client
                    .put_bucket_cors()
                    .bucket(bucket)
                    .cors_configuration(config)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| ProvisionError::call(op, &e))
            }
            Change::PutLifecycle { bucket, ours, kept } => {
                let mut rules = kept.clone();
                rules.push(ours.to_sdk()?);
                let config = BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .map_err(|e| ProvisionError::build(op, e))?;
                client
                    .put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(config)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| ProvisionError::call(op, &e))
            }
            Change::PutPolicy { bucket, policy } => client
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy.to_string())
                .send()
                .await
                .map(drop)
                .map_err(|e| ProvisionError::call(op, &e)),
            Change::PutLogging { bucket, target } => {
                let enabled = LoggingEnabled::builder()
                    .target_bucket(&target.bucket)
                    .target_prefix(&target.prefix)
                    .build()
                    .map_err(|e| ProvisionError::build(op, e))?;
                client
                    .put_bucket_logging()
                    .bucket(bucket)
                    .bucket_logging_status(
                        BucketLoggingStatus::builder()
                            .logging_enabled(enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| ProvisionError::call(op, &e))
            }
        }
    }
}

/// Reads what the bucket (and the spec's log bucket) hold now. A bucket that does not exist is a
/// state, not an error; anything else S3 refuses (access denied, unreachable) is an error.
pub async fn read_state(client: &Client, spec: &BucketSpec) -> Result<BucketState, ProvisionError> {
    let mut state = BucketState {
        exists: bucket_exists(client, &spec.bucket).await?,
        ..BucketState::default()
    };
    if state.exists {
        let bucket = &spec.bucket;
        state.public_access_block = absent_if(
            client.get_public_access_block().bucket(bucket).send().await,
            "GetPublicAccessBlock",
            &["NoSuchPublicAccessBlockConfiguration"],
        )?
        .and_then(|out| out.public_access_block_configuration)
        .map(|c| PublicAccessBlock {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        });
        state.cors = absent_if(
            client.get_bucket_cors().bucket(bucket).send().await,
            "GetBucketCors",
            &["NoSuchCORSConfiguration"],
        )?
        .map(|out| out.cors_rules().iter().map(CorsRule::from_sdk).collect())
        .unwrap_or_default();
        state.lifecycle = absent_if(
            client
                .get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
                .await,
            "GetBucketLifecycleConfiguration",
            &["NoSuchLifecycleConfiguration"],
        )?
        .map(|out| out.rules().to_vec())
        .unwrap_or_default();
        state.policy = read_policy(client, bucket).await?;
        state.logging = client
            .get_bucket_logging()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| ProvisionError::call("GetBucketLogging", &e))?
            .logging_enabled
            .map(|l| AccessLog {
                bucket: l.target_bucket,
                prefix: l.target_prefix,
            });
    }
    if let Some(log) = &spec.access_log {
        let exists = bucket_exists(client, &log.bucket).await?;
        let policy = if exists {
            read_policy(client, &log.bucket).await?
        } else {
            None
        };
        state.log_bucket = Some(LogBucketState { exists, policy });
    }
    Ok(state)
}

/// Reads, plans and applies every change, calling `progress` before each call. Returns the steps.
pub async fn ensure(
    client: &Client,
    spec: &BucketSpec,
    mut progress: impl FnMut(&Step),
) -> Result<Vec<Step>, ProvisionError> {
    let state = read_state(client, spec).await?;
    let steps = plan(spec, &state);
    for step in &steps {
        progress(step);
        if let Some(change) = &step.change {
            change.apply(client).await?;
        }
    }
    Ok(steps)
}

async fn bucket_exists(client: &Client, bucket: &str) -> Result<bool, ProvisionError> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            Err(ProvisionError::Call {
                operation: "HeadBucket",
                message: format!(
                    "403 for bucket {bucket}: another account owns this name, or these \
                     credentials lack s3:ListBucket on it"
                ),
            })
        }
        Err(e) => Err(ProvisionError::call("HeadBucket", &e)),
    }
}

async fn read_policy(client: &Client, bucket: &str) -> Result<Option<Value>, ProvisionError> {
    let output = absent_if(
        client.get_bucket_policy().bucket(bucket).send().await,
        "GetBucketPolicy",
        &["NoSuchBucketPolicy"],
    )?;
    match output.and_then(|out| out.policy) {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ProvisionError::Call {
                operation: "GetBucketPolicy",
                message: format!("the stored policy is not JSON: {e}"),
            }),
    }
}

/// The call's output, `None` when S3 answers with one of `absent` (a configuration never set).
fn absent_if<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    operation: &'static str,
    absent: &[&str],
) -> Result<Option<T>, ProvisionError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(SdkError::ServiceError(e)) if e.err().code().is_some_and(|c| absent.contains(&c)) => {
            Ok(None)
        }
        Err(e) => Err(ProvisionError::call(operation, &e)),
    }
}

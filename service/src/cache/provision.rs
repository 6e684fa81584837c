//! Bucket provisioning: what the card bucket needs, read back, compared and applied idempotently.
//!
//! The bucket needs a public access block that allows a public bucket policy (AWS blocks one by
//! default), CORS for cross-origin `GET`/`HEAD`, a lifecycle rule that expires `card-images/`
//! after `S3__CACHE_TTL_SECONDS` (rounded up to days), a policy that makes only `card-images/*`
//! publicly readable, and optionally server access logging to a second bucket.
//!
//! Provisioning is read → [`plan`] → apply: [`plan`] is a pure function of the wanted
//! [`BucketSpec`] and the observed [`BucketState`], so a second run plans nothing. Our rules are
//! found by their IDs and Sids; anything else already in the bucket's CORS, lifecycle or policy
//! is kept. `cargo xtask provision-bucket`, `cargo xtask dev`, `localstack up`, `test-s3` and
//! `doctor` all go through here; docs/setup-aws.md and the LocalStack init hook are tested
//! against it.

use std::fmt;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus, CorsConfiguration,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRuleFilter,
    LoggingEnabled, PublicAccessBlockConfiguration,
};
use serde_json::{Value, json};

use super::PREFIX;
use crate::cache::S3Settings;

/// The ID of our CORS rule; other rules in the bucket are left alone.
pub const CORS_RULE_ID: &str = "card-images-read";
/// The ID of our lifecycle rule.
pub const LIFECYCLE_RULE_ID: &str = "expire-card-images";
/// The Sid of the public-read statement in the card bucket's policy.
pub const PUBLIC_READ_SID: &str = "PublicReadCardImages";
/// The Sid of the statement that lets S3's logging service write to the log bucket.
pub const LOG_DELIVERY_SID: &str = "S3ServerAccessLogs";
/// Where job leases live (the service's only objects outside `card-images/`, never public).
pub const LEASE_PREFIX: &str = "jobs/";
/// The only region that rejects an explicit `LocationConstraint`.
const DEFAULT_REGION: &str = "us-east-1";
const SECONDS_PER_DAY: u64 = 86_400;

/// What the card bucket should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    pub bucket: String,
    pub region: String,
    /// Origins allowed to fetch card images cross-origin; `*` by default.
    pub cors_origins: Vec<String>,
    /// Days after which `card-images/` objects expire.
    pub expire_after_days: i32,
    /// Server access logging, when wanted.
    pub access_log: Option<AccessLog>,
}

/// Where server access logs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    pub bucket: String,
    pub prefix: String,
}

impl AccessLog {
    /// Logs of `source` go to `bucket` under `source/`.
    pub fn for_bucket(bucket: &str, source: &str) -> Self {
        Self {
            bucket: bucket.to_string(),
            prefix: format!("{source}/"),
        }
    }
}

impl BucketSpec {
    /// The bucket of these settings, with CORS from any origin, expiry after `S3__CACHE_TTL_SECONDS` and no access log.
    pub fn from_settings(s3: &S3Settings) -> Self {
        Self {
            bucket: s3.bucket_name.clone(),
            region: s3.region.clone(),
            cors_origins: vec!["*".into()],
            expire_after_days: ttl_days(s3.cache_ttl_seconds),
            access_log: None,
        }
    }

    /// Our CORS rule: reads from the configured origins, with the headers a browser needs for caching.
    pub fn cors_rule(&self) -> CorsRule {
        CorsRule {
            id: Some(CORS_RULE_ID.into()),
            allowed_origins: self.cors_origins.clone(),
            allowed_methods: vec!["GET".into(), "HEAD".into()],
            allowed_headers: vec!["*".into()],
            expose_headers: vec![
                "ETag".into(),
                "Content-Length".into(),
                "Content-Type".into(),
            ],
            max_age_seconds: Some(3600),
        }
    }

    /// Our lifecycle rule.
    pub fn lifecycle_rule(&self) -> LifecycleRule {
        LifecycleRule {
            id: LIFECYCLE_RULE_ID.into(),
            prefix: PREFIX.into(),
            days: self.expire_after_days,
        }
    }

    /// The statement that makes `card-images/*`, and nothing else, publicly readable.
    pub fn public_read_statement(&self) -> Value {
        json!({
            "Sid": PUBLIC_READ_SID,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{}/{PREFIX}*", self.bucket),
        })
    }
}

/// The statement that lets S3's logging service write `source`'s access logs into the log bucket.
pub fn log_delivery_statement(log: &AccessLog, source: &str) -> Value {
    json!({
        "Sid": LOG_DELIVERY_SID,
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{}/{}*", log.bucket, log.prefix),
        "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{source}")}},
    })
}

/// `S3__CACHE_TTL_SECONDS` as lifecycle days: rounded up (an object never expires early), at least 1.
pub fn ttl_days(seconds: u64) -> i32 {
    let days = seconds.div_ceil(SECONDS_PER_DAY).max(1);
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// The least-privilege IAM policy the service needs: objects under `card-images/` and the job
/// leases, listing (cleanup) and `HeadBucket` (`/readyz`, authorised by `s3:ListBucket`).
pub fn iam_policy(bucket: &str) -> Value {
    let objects = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CardObjects",
                "Effect": "Allow",
                "Action": objects,
                "Resource": format!("arn:aws:s3:::{bucket}/{PREFIX}*"),
            },
            {
                "Sid": "JobLease",
                "Effect": "Allow",
                "Action": objects,
                "Resource": format!("arn:aws:s3:::{bucket}/{LEASE_PREFIX}*"),
            },
            {
                "Sid": "ListAndHealth",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": format!("arn:aws:s3:::{bucket}"),
            },
        ],
    })
}

/// A CORS rule, as S3 stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

impl CorsRule {
    fn to_json(&self) -> Value {
        let mut rule = json!({
            "AllowedOrigins": self.allowed_origins,
            "AllowedMethods": self.allowed_methods,
            "AllowedHeaders": self.allowed_headers,
            "ExposeHeaders": self.expose_headers,
        });
        if let Some(id) = &self.id {
            rule["ID"] = json!(id);
        }
        if let Some(max_age) = self.max_age_seconds {
            rule["MaxAgeSeconds"] = json!(max_age);
        }
        rule
    }

    /// The same rule, order of lists aside (servers may reorder them).
    fn same_as(&self, other: &CorsRule) -> bool {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        self.id == other.id
            && sorted(&self.allowed_origins) == sorted(&other.allowed_origins)
            && sorted(&self.allowed_methods) == sorted(&other.allowed_methods)
            && sorted(&self.allowed_headers) == sorted(&other.allowed_headers)
            && sorted(&self.expose_headers) == sorted(&other.expose_headers)
            && self.max_age_seconds == other.max_age_seconds
    }

    fn from_sdk(rule: &aws_sdk_s3::types::CorsRule) -> Self {
        Self {
            id: rule.id().map(str::to_string),
            allowed_origins: rule.allowed_origins().to_vec(),
            allowed_methods: rule.allowed_methods().to_vec(),
            allowed_headers: rule.allowed_headers().to_vec(),
            expose_headers: rule.expose_headers().to_vec(),
            max_age_seconds: rule.max_age_seconds(),
        }
    }

    fn to_sdk(&self) -> Result<aws_sdk_s3::types::CorsRule, ProvisionError> {
        aws_sdk_s3::types::CorsRule::builder()
            .set_id(self.id.clone())
            .set_allowed_origins(Some(self.allowed_origins.clone()))
            .set_allowed_methods(Some(self.allowed_methods.clone()))
            .set_allowed_headers(Some(self.allowed_headers.clone()))
            .set_expose_headers(Some(self.expose_headers.clone()))
            .set_max_age_seconds(self.max_age_seconds)
            .build()
            .map_err(|e| ProvisionError::build("PutBucketCors", e))
    }
}

/// Our lifecycle rule: expire everything under `prefix` after `days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    pub prefix: String,
    pub days: i32,
}

impl LifecycleRule {
    fn to_json(&self) -> Value {
        json!({
            "ID": self.id,
            "Status": "Enabled",
            "Filter": {"Prefix": self.prefix},
            "Expiration": {"Days": self.days},
        })
    }

    fn to_sdk(&self) -> Result<aws_sdk_s3::types::LifecycleRule, ProvisionError> {
        aws_sdk_s3::types::LifecycleRule::builder()
            .id(&self.id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(&self.prefix).build())
            .expiration(LifecycleExpiration::builder().days(self.days).build())
            .build()
            .map_err(|e| ProvisionError::build("PutBucketLifecycleConfiguration", e))
    }

    /// Whether a stored rule is this one: same ID, enabled, same prefix (new or legacy form), same days.
    fn matches(&self, rule: &aws_sdk_s3::types::LifecycleRule) -> bool {
        // Servers may still answer with the legacy top-level `Prefix` instead of a `Filter`.
        #[allow(deprecated)]
        let prefix = rule
            .filter()
            .and_then(|f| f.prefix())
            .or(rule.prefix())
            .unwrap_or_default();
        rule.id() == Some(self.id.as_str())
            && *rule.status() == ExpirationStatus::Enabled
            && prefix == self.prefix
            && rule.expiration().and_then(|e| e.days()) == Some(self.days)
    }
}

/// The bucket-level public access block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Public policies allowed (ours makes `card-images/*` readable); ACLs stay blocked.
    pub const WANTED: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: false,
        restrict_public_buckets: false,
    };

    fn allows_public_policy(self) -> bool {
        !self.block_public_policy && !self.restrict_public_buckets
    }

    fn cli(self) -> String {
        format!(
            "BlockPublicAcls={},IgnorePublicAcls={},BlockPublicPolicy={},RestrictPublicBuckets={}",
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets
        )
    }
}

/// What the bucket (and the log bucket) hold now.
#[derive(Debug, Clone, Default)]
pub struct BucketState {
    pub exists: bool,
    pub public_access_block: Option<PublicAccessBlock>,
    pub cors: Vec<CorsRule>,
    pub lifecycle: Vec<aws_sdk_s3::types::LifecycleRule>,
    pub policy: Option<Value>,
    pub logging: Option<AccessLog>,
    /// The log bucket, when the spec asks for access logging.
    pub log_bucket: Option<LogBucketState>,
}

#[derive(Debug, Clone, Default)]
pub struct LogBucketState {
    pub exists: bool,
    pub policy: Option<Value>,
}

impl BucketState {
    /// A bucket that does not exist yet (what `--dry-run` plans against when it cannot read).
    pub fn missing() -> Self {
        Self::default()
    }
}

/// One aspect of the bucket's configuration, in the order provisioning handles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    Bucket,
    PublicAccessBlock,
    Cors,
    Lifecycle,
    Policy,
    LogBucket,
    LogBucketPolicy,
    Logging,
}

impl fmt::Display for Aspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Aspect::Bucket => "bucket",
            Aspect::PublicAccessBlock => "public access block",
            Aspect::Cors => "CORS",
            Aspect::Lifecycle => "lifecycle",
            Aspect::Policy => "bucket policy",
            Aspect::LogBucket => "log bucket",
            Aspect::LogBucketPolicy => "log bucket policy",
            Aspect::Logging => "access logging",
        })
    }
}

/// One aspect and what has to change for it, if anything.
#[derive(Debug, Clone)]
pub struct Step {
    pub aspect: Aspect,
    /// What is wanted, in words (`GET, HEAD from *`).
    pub wanted: String,
    pub change: Option<Change>,
}

/// An S3 call that brings one aspect to what the spec wants.
#[derive(Debug, Clone)]
pub enum Change {
    CreateBucket {
        bucket: String,
        region: String,
    },
    PutPublicAccessBlock {
        bucket: String,
        config: PublicAccessBlock,
    },
    PutCors {
        bucket: String,
        rules: Vec<CorsRule>,
    },
    PutLifecycle {
        bucket: String,
        ours: LifecycleRule,
        /// Other rules already in the bucket, written back unchanged.
        kept: Vec<aws_sdk_s3::types::LifecycleRule>,
    },
    PutPolicy {
        bucket: String,
        policy: Value,
    },
    PutLogging {
        bucket: String,
        target: AccessLog,
    },
}

impl Change {
    /// The S3 operation's name.
    pub fn operation(&self) -> &'static str {
        match self {
            Change::CreateBucket { .. } => "CreateBucket",
            Change::PutPublicAccessBlock { .. } => "PutPublicAccessBlock",
            Change::PutCors { .. } => "PutBucketCors",
            Change::PutLifecycle { .. } => "PutBucketLifecycleConfiguration",
            Change::PutPolicy { .. } => "PutBucketPolicy",
            Change::PutLogging { .. } => "PutBucketLogging",
        }
    }

    /// The same call as an AWS CLI command line (what `--dry-run` prints and docs/setup-aws.md shows).
    pub fn cli(&self) -> String {
        match self {
            Change::CreateBucket { bucket, region } if region == DEFAULT_REGION => {
                format!("aws s3api create-bucket --bucket {bucket} --region {region}")
            }
            Change::CreateBucket { bucket, region } => format!(
                "aws s3api create-bucket --bucket {bucket} --region {region} \
                 --create-bucket-configuration LocationConstraint={region}"
            ),
            Change::PutPublicAccessBlock { bucket, config } => format!(
                "aws s3api put-public-access-block --bucket {bucket} \
                 --public-access-block-configuration {}",
                config.cli()
            ),
            Change::PutCors { bucket, rules } => {
                let rules: Vec<Value> = rules.iter().map(CorsRule::to_json).collect();
                format!(
                    "aws s3api put-bucket-cors --bucket {bucket} --cors-configuration {}",
                    shell_quote(&json!({ "CORSRules": rules }).to_string())
                )
            }
            Change::PutLifecycle { bucket, ours, kept } => {
                let mut line = format!(
                    "aws s3api put-bucket-lifecycle-configuration --bucket {bucket} \
                     --lifecycle-configuration {}",
                    shell_quote(&json!({ "Rules": [ours.to_json()] }).to_string())
                );
                if !kept.is_empty() {
                    line.push_str(&format!(
                        "  # plus the {} rule(s) already there, unchanged",
                        kept.len()
                    ));
                }
                line
            }
            Change::PutPolicy { bucket, policy } => format!(
                "aws s3api put-bucket-policy --bucket {bucket} --policy {}",
                shell_quote(&policy.to_string())
            ),
            Change::PutLogging { bucket, target } => format!(
                "aws s3api put-bucket-logging --bucket {bucket} --bucket-logging-status {}",
                shell_quote(
                    &json!({"LoggingEnabled": {"TargetBucket": target.bucket, "TargetPrefix": target.prefix}})
                        .to_string()
                )
            ),
        }
    }

    /// Makes the call.
    pub async fn apply(&self, client: &Client) -> Result<(), ProvisionError> {
        let op = self.operation();
        let failed = |e| ProvisionError::call(op, e);
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
                    Err(e) => Err(failed(ErrorText::from(e))),
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
                .map_err(|e| failed(e.into())),
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
                    .map_err(|e| failed(e.into()))
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
                    .map_err(|e| failed(e.into()))
            }
            Change::PutPolicy { bucket, policy } => client
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy.to_string())
                .send()
                .await
                .map(drop)
                .map_err(|e| failed(e.into())),
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
                    .map_err(|e| failed(e.into()))
            }
        }
    }
}

/// The steps that take `state` to `spec`, in the order they must run (the public access block
/// before the policy, the log bucket and its policy before logging). A step whose aspect is
/// already as wanted has no change, so a second run plans nothing.
pub fn plan(spec: &BucketSpec, state: &BucketState) -> Vec<Step> {
    let bucket = &spec.bucket;
    let mut steps = Vec::new();
    let mut step = |aspect, wanted: String, change| {
        steps.push(Step {
            aspect,
            wanted,
            change,
        })
    };

    step(
        Aspect::Bucket,
        format!("{bucket} in {}", spec.region),
        (!state.exists).then(|| Change::CreateBucket {
            bucket: bucket.clone(),
            region: spec.region.clone(),
        }),
    );

    // Keep the ACL flags someone chose; a bucket without a block gets ACLs blocked.
    let block = match state.public_access_block {
        Some(current) if current.allows_public_policy() => None,
        Some(current) => Some(PublicAccessBlock {
            block_public_policy: false,
            restrict_public_buckets: false,
            ..current
        }),
        None => Some(PublicAccessBlock::WANTED),
    };
    step(
        Aspect::PublicAccessBlock,
        "public bucket policies allowed (BlockPublicPolicy=false, RestrictPublicBuckets=false)"
            .into(),
        block.map(|config| Change::PutPublicAccessBlock {
            bucket: bucket.clone(),
            config,
        }),
    );

    let ours = spec.cors_rule();
    let cors_in_place = state.cors.iter().any(|rule| rule.same_as(&ours));
    step(
        Aspect::Cors,
        format!(
            "{} from {}",
            ours.allowed_methods.join(", "),
            ours.allowed_origins.join(", ")
        ),
        (!cors_in_place).then(|| {
            let mut rules: Vec<CorsRule> = state
                .cors
                .iter()
                .filter(|rule| rule.id.as_deref() != Some(CORS_RULE_ID))
                .cloned()
                .collect();
            rules.push(ours);
            Change::PutCors {
                bucket: bucket.clone(),
                rules,
            }
        }),
    );

    let ours = spec.lifecycle_rule();
    let lifecycle_in_place = state.lifecycle.iter().any(|rule| ours.matches(rule));
    step(
        Aspect::Lifecycle,
        format!("expire {} after {} day(s)", ours.prefix, ours.days),
        (!lifecycle_in_place).then(|| Change::PutLifecycle {
            bucket: bucket.clone(),
            kept: state
                .lifecycle
                .iter()
                .filter(|rule| rule.id() != Some(LIFECYCLE_RULE_ID))
                .cloned()
                .collect(),
            ours,
        }),
    );

    step(
        Aspect::Policy,
        format!("public read of {PREFIX}* only"),
        with_statement(state.policy.as_ref(), spec.public_read_statement()).map(|policy| {
            Change::PutPolicy {
                bucket: bucket.clone(),
                policy,
            }
        }),
    );

    if let Some(log) = &spec.access_log {
        let log_state = state.log_bucket.clone().unwrap_or_default();
        step(
            Aspect::LogBucket,
            format!("{} in {}", log.bucket, spec.region),
            (!log_state.exists).then(|| Change::CreateBucket {
                bucket: log.bucket.clone(),
                region: spec.region.clone(),
            }),
        );
        step(
            Aspect::LogBucketPolicy,
            format!("S3 log delivery may write {}/{}*", log.bucket, log.prefix),
            with_statement(
                log_state.policy.as_ref(),
                log_delivery_statement(log, bucket),
            )
            .map(|policy| Change::PutPolicy {
                bucket: log.bucket.clone(),
                policy,
            }),
        );
        step(
            Aspect::Logging,
            format!("to {}/{}", log.bucket, log.prefix),
            (state.logging.as_ref() != Some(log)).then(|| Change::PutLogging {
                bucket: bucket.clone(),
                target: log.clone(),
            }),
        );
    }
    steps
}

/// `policy` with `statement` in it (replacing one with the same Sid, keeping every other),
/// or `None` when it is there already.
fn with_statement(policy: Option<&Value>, statement: Value) -> Option<Value> {
    let sid = &statement["Sid"];
    let current: Vec<Value> = policy
        .and_then(|p| p.get("Statement"))
        .map(|s| match s {
            // A policy may hold a single statement as an object.
            Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        })
        .unwrap_or_default();
    if current.iter().any(|s| same_statement(s, &statement)) {
        return None;
    }
    let mut statements: Vec<Value> = current.into_iter().filter(|s| &s["Sid"] != sid).collect();
    statements.push(statement);
    Some(json!({"Version": "2012-10-17", "Statement": statements}))
}

/// Statement equality that tolerates how servers echo policies back: a one-element list for a
/// single action or resource.
fn same_statement(a: &Value, b: &Value) -> bool {
    fn normal(v: &Value) -> Value {
        match v {
            Value::Array(list) if list.len() == 1 => normal(&list[0]),
            Value::Array(list) => Value::Array(list.iter().map(normal).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), normal(v))).collect())
            }
            other => other.clone(),
        }
    }
    normal(a) == normal(b)
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
            .map_err(|e| ProvisionError::call("GetBucketLogging", e.into()))?
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
        Err(e) => Err(ProvisionError::call("HeadBucket", e.into())),
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
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(SdkError::ServiceError(e)) if e.err().code().is_some_and(|c| absent.contains(&c)) => {
            Ok(None)
        }
        Err(e) => Err(ProvisionError::call(operation, e.into())),
    }
}

/// Why provisioning stopped; the message names the S3 operation and, where we know it, the fix.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{operation}: {message}")]
    Call {
        operation: &'static str,
        message: String,
    },
}

impl ProvisionError {
    fn call(operation: &'static str, error: ErrorText) -> Self {
        let mut message = error.0;
        if operation == "PutBucketPolicy" && message.contains("BlockPublicPolicy") {
            message.push_str(
                "; the account-level Block Public Access setting blocks public bucket policies: \
                 allow them for the account (`aws s3control put-public-access-block`) or serve \
                 cards through a CDN with origin access instead",
            );
        }
        Self::Call { operation, message }
    }

    fn build(operation: &'static str, error: impl fmt::Display) -> Self {
        Self::Call {
            operation,
            message: format!("invalid request: {error}"),
        }
    }
}

/// An SDK error as one line: the S3 code and message, or the transport failure.
struct ErrorText(String);

impl<E, R> From<SdkError<E, R>> for ErrorText
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug,
{
    fn from(e: SdkError<E, R>) -> Self {
        ErrorText(match &e {
            SdkError::ServiceError(service) => {
                let err = service.err();
                format!(
                    "{}: {}",
                    err.code().unwrap_or("error"),
                    err.message().unwrap_or("no message")
                )
            }
            // The cause chain, without the SDK's debug dump of the raw response.
            other => {
                let mut text = other.to_string();
                let mut source = std::error::Error::source(other);
                while let Some(cause) = source {
                    let line = cause.to_string();
                    if !text.contains(&line) {
                        text.push_str(": ");
                        text.push_str(&line);
                    }
                    source = cause.source();
                }
                text
            }
        })
    }
}

/// Single-quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BucketSpec {
        BucketSpec::from_settings(&S3Settings::default())
    }

    /// The state a fully provisioned bucket reads back as.
    fn provisioned(spec: &BucketSpec) -> BucketState {
        let mut state = BucketState {
            exists: true,
            public_access_block: Some(PublicAccessBlock::WANTED),
            cors: vec![spec.cors_rule()],
            lifecycle: vec![spec.lifecycle_rule().to_sdk().unwrap()],
            policy: Some(
                json!({"Version": "2012-10-17", "Statement": [spec.public_read_statement()]}),
            ),
            ..BucketState::default()
        };
        if let Some(log) = &spec.access_log {
            state.logging = Some(log.clone());
            state.log_bucket = Some(LogBucketState {
                exists: true,
                policy: Some(
                    json!({"Version": "2012-10-17", "Statement": [log_delivery_statement(log, &spec.bucket)]}),
                ),
            });
        }
        state
    }

    fn changes(steps: &[Step]) -> Vec<&'static str> {
        steps
            .iter()
            .filter_map(|s| s.change.as_ref().map(Change::operation))
            .collect()
    }

    #[test]
    fn ttl_rounds_up_to_whole_days() {
        assert_eq!(ttl_days(2_592_000), 30);
        assert_eq!(ttl_days(2_592_001), 31);
        assert_eq!(ttl_days(86_399), 1);
        assert_eq!(ttl_days(60), 1);
        assert_eq!(ttl_days(0), 1);
        assert_eq!(ttl_days(u64::MAX), i32::MAX);
    }

    #[test]
    fn a_new_bucket_gets_every_call_in_order() {
        let steps = plan(&spec(), &BucketState::missing());
        assert_eq!(
            changes(&steps),
            [
                "CreateBucket",
                "PutPublicAccessBlock",
                "PutBucketCors",
                "PutBucketLifecycleConfiguration",
                "PutBucketPolicy"
            ]
        );
    }

    #[test]
    fn a_provisioned_bucket_plans_nothing() {
        let spec = spec();
        assert!(changes(&plan(&spec, &provisioned(&spec))).is_empty());
        let mut logged = spec;
        logged.access_log = Some(AccessLog::for_bucket("card-logs", &logged.bucket));
        assert!(changes(&plan(&logged, &provisioned(&logged))).is_empty());
    }

    #[test]
    fn only_what_differs_changes() {
        let spec = spec();
        let mut state = provisioned(&spec);
        state.lifecycle = vec![
            LifecycleRule {
                days: 7,
                ..spec.lifecycle_rule()
            }
            .to_sdk()
            .unwrap(),
        ];
        state.public_access_block = Some(PublicAccessBlock {
            block_public_policy: true,
            block_public_acls: false,
            ..PublicAccessBlock::WANTED
        });
        let steps = plan(&spec, &state);
        assert_eq!(
            changes(&steps),
            ["PutPublicAccessBlock", "PutBucketLifecycleConfiguration"]
        );
        // The ACL flag someone chose is kept; only the policy flags change.
        let Some(Change::PutPublicAccessBlock { config, .. }) = &steps[1].change else {
            panic!("{steps:?}")
        };
        assert!(!config.block_public_acls && !config.block_public_policy);
    }

    #[test]
    fn other_rules_and_statements_are_kept() {
        let spec = spec();
        let other_statement = json!({"Sid": "Other", "Effect": "Deny", "Principal": "*",
            "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::x/*"});
        let other_cors = CorsRule {
            id: Some("theirs".into()),
            ..spec.cors_rule()
        };
        let other_rule = aws_sdk_s3::types::LifecycleRule::builder()
            .id("theirs")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
            .build()
            .unwrap();
        let state = BucketState {
            exists: true,
            public_access_block: Some(PublicAccessBlock::WANTED),
            cors: vec![other_cors.clone()],
            lifecycle: vec![other_rule],
            policy: Some(json!({"Version": "2012-10-17", "Statement": other_statement})),
            ..BucketState::default()
        };
        let steps = plan(&spec, &state);
        for step in &steps {
            match &step.change {
                Some(Change::PutCors { rules, .. }) => {
                    assert_eq!(rules, &[other_cors.clone(), spec.cors_rule()])
                }
                Some(Change::PutLifecycle { kept, .. }) => {
                    assert_eq!(kept.len(), 1);
                    assert_eq!(kept[0].id(), Some("theirs"));
                }
                Some(Change::PutPolicy { policy, .. }) => assert_eq!(
                    policy["Statement"],
                    json!([other_statement, spec.public_read_statement()])
                ),
                None => {}
                Some(other) => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn policies_echoed_with_one_element_lists_count_as_the_same() {
        let spec = spec();
        let mut echoed = spec.public_read_statement();
        echoed["Action"] = json!(["s3:GetObject"]);
        echoed["Resource"] = json!([echoed["Resource"].clone()]);
        let policy = json!({"Version": "2012-10-17", "Statement": [echoed]});
        assert!(with_statement(Some(&policy), spec.public_read_statement()).is_none());
    }

    #[test]
    fn cors_rules_compare_without_list_order() {
        let ours = spec().cors_rule();
        let mut reordered = ours.clone();
        reordered.allowed_methods.reverse();
        reordered.expose_headers.reverse();
        assert!(ours.same_as(&reordered));
        let narrower = CorsRule {
            allowed_origins: vec!["https://dealbrain.example".into()],
            ..ours.clone()
        };
        assert!(!ours.same_as(&narrower));
    }

    #[test]
    fn the_policy_makes_only_card_images_public() {
        let statement = spec().public_read_statement();
        assert_eq!(
            statement,
            json!({
                "Sid": "PublicReadCardImages",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::dealbrain-card-images/card-images/*"
            })
        );
    }

    #[test]
    fn the_lifecycle_rule_expires_card_images_after_the_ttl() {
        let settings = S3Settings {
            cache_ttl_seconds: 7 * 86_400 + 1,
            ..S3Settings::default()
        };
        let rule = BucketSpec::from_settings(&settings).lifecycle_rule();
        assert_eq!(
            rule.to_json(),
            json!({"ID": "expire-card-images", "Status": "Enabled",
                   "Filter": {"Prefix": "card-images/"}, "Expiration": {"Days": 8}})
        );
        let sdk = rule.to_sdk().unwrap();
        assert!(rule.matches(&sdk));
    }

    #[test]
    fn the_iam_policy_grants_objects_under_our_prefixes_and_listing_only() {
        let policy = iam_policy("b");
        let resources: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Resource"].as_str().unwrap())
            .collect();
        assert_eq!(
            resources,
            [
                "arn:aws:s3:::b/card-images/*",
                "arn:aws:s3:::b/jobs/*",
                "arn:aws:s3:::b"
            ]
        );
        assert!(!policy.to_string().contains("s3:*"));
    }

    #[test]
    fn cli_lines_quote_json_for_a_shell() {
        let change = Change::PutCors {
            bucket: "b".into(),
            rules: vec![CorsRule {
                allowed_origins: vec!["https://o'brien.example".into()],
                ..spec().cors_rule()
            }],
        };
        assert!(change.cli().contains(r#""https://o'\''brien.example""#));
        let create = Change::CreateBucket {
            bucket: "b".into(),
            region: "eu-west-1".into(),
        };
        assert_eq!(
            create.cli(),
            "aws s3api create-bucket --bucket b --region eu-west-1 \
             --create-bucket-configuration LocationConstraint=eu-west-1"
        );
    }
}

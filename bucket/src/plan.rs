//! The pure middle of provisioning: what the bucket holds, and the steps that take it to the spec.

use std::fmt;

use serde_json::{Value, json};

use crate::layout::CARD_IMAGES;
use crate::policy::{log_delivery_statement, public_read_statement, with_statement};
use crate::spec::{
    AccessLog, BucketSpec, CORS_RULE_ID, CorsRule, DEFAULT_REGION, LIFECYCLE_RULE_ID,
    LifecycleRule, PublicAccessBlock,
};

/// What the bucket (and the log bucket) hold now, as [`crate::read_state`] finds it.
#[derive(Debug, Clone, Default)]
pub struct BucketState {
    pub(crate) exists: bool,
    pub(crate) public_access_block: Option<PublicAccessBlock>,
    pub(crate) cors: Vec<CorsRule>,
    pub(crate) lifecycle: Vec<aws_sdk_s3::types::LifecycleRule>,
    pub(crate) policy: Option<Value>,
    pub(crate) logging: Option<AccessLog>,
    /// The log bucket, when the spec asks for access logging.
    pub(crate) log_bucket: Option<LogBucketState>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LogBucketState {
    pub(crate) exists: bool,
    pub(crate) policy: Option<Value>,
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
    /// The bucket exists.
    Bucket,
    /// Its public access block allows public bucket policies.
    PublicAccessBlock,
    /// Our CORS rule.
    Cors,
    /// Our lifecycle rule.
    Lifecycle,
    /// Our public-read statement in the bucket policy.
    Policy,
    /// The log bucket exists (with access logging only).
    LogBucket,
    /// The log bucket's policy lets S3 deliver logs.
    LogBucketPolicy,
    /// Access logging is on, into the log bucket.
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
    /// Which part of the configuration.
    pub aspect: Aspect,
    /// What is wanted, in words (`GET, HEAD from *`).
    pub wanted: String,
    /// The call that makes it so; `None` when it is so already.
    pub change: Option<Change>,
}

/// An S3 call that brings one aspect to what the spec wants.
#[derive(Debug, Clone)]
pub enum Change {
    /// `CreateBucket`, with a `LocationConstraint` outside `us-east-1`.
    CreateBucket {
        /// The bucket to create.
        bucket: String,
        /// Its region.
        region: String,
    },
    /// `PutPublicAccessBlock`.
    PutPublicAccessBlock {
        /// The bucket it changes.
        bucket: String,
        /// The block it sets: policy flags off, ACL flags as they were.
        config: PublicAccessBlock,
    },
    /// `PutBucketCors`.
    PutCors {
        /// The bucket it changes.
        bucket: String,
        /// Every rule the bucket will hold: the others already there, then ours.
        rules: Vec<CorsRule>,
    },
    /// `PutBucketLifecycleConfiguration`.
    PutLifecycle {
        /// The bucket it changes.
        bucket: String,
        /// Our rule.
        ours: LifecycleRule,
        /// Other rules already in the bucket, written back unchanged.
        kept: Vec<aws_sdk_s3::types::LifecycleRule>,
    },
    /// `PutBucketPolicy`.
    PutPolicy {
        /// The bucket it changes (the card bucket, or the log bucket).
        bucket: String,
        /// The whole policy: the statements already there, with ours added or replaced.
        policy: Value,
    },
    /// `PutBucketLogging`.
    PutLogging {
        /// The bucket whose access is logged.
        bucket: String,
        /// Where the logs go.
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
        format!("public read of {CARD_IMAGES}* only"),
        with_statement(state.policy.as_ref(), public_read_statement(bucket)).map(|policy| {
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

/// Single-quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::{ExpirationStatus, LifecycleRuleFilter};

    use super::*;
    use crate::spec::tests::spec;

    /// The state a fully provisioned bucket reads back as.
    fn provisioned(spec: &BucketSpec) -> BucketState {
        let mut state = BucketState {
            exists: true,
            public_access_block: Some(PublicAccessBlock::WANTED),
            cors: vec![spec.cors_rule()],
            lifecycle: vec![spec.lifecycle_rule().to_sdk().unwrap()],
            policy: Some(
                json!({"Version": "2012-10-17", "Statement": [public_read_statement(&spec.bucket)]}),
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
                    json!([other_statement, public_read_statement(&spec.bucket)])
                ),
                None => {}
                Some(other) => panic!("unexpected {other:?}"),
            }
        }
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

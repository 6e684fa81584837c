//! What the card bucket should look like: the [`BucketSpec`] and the rules it implies.

use aws_sdk_s3::types::{ExpirationStatus, LifecycleExpiration, LifecycleRuleFilter};
use serde_json::{Value, json};

use crate::error::ProvisionError;
use crate::layout::CARD_IMAGES;

/// The ID of our CORS rule; other rules in the bucket are left alone.
pub(crate) const CORS_RULE_ID: &str = "card-images-read";
/// The ID of our lifecycle rule.
pub(crate) const LIFECYCLE_RULE_ID: &str = "expire-card-images";
/// The only region that rejects an explicit `LocationConstraint`.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";
const SECONDS_PER_DAY: u64 = 86_400;

/// What the card bucket should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    /// The bucket's name (`AWS_S3_BUCKET_NAME`).
    pub bucket: String,
    /// Its region (`AWS_REGION`); a new log bucket goes there too.
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
    /// The log bucket (created if missing, in the card bucket's region).
    pub bucket: String,
    /// The key prefix of the logs in it.
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
    /// `bucket` in `region`, with CORS from any origin, `card-images/` expiring after
    /// `cache_ttl_seconds` (the service's `S3__CACHE_TTL_SECONDS`, rounded up to days) and no
    /// access log.
    pub fn new(bucket: &str, region: &str, cache_ttl_seconds: u64) -> Self {
        Self {
            bucket: bucket.to_string(),
            region: region.to_string(),
            cors_origins: vec!["*".into()],
            expire_after_days: ttl_days(cache_ttl_seconds),
            access_log: None,
        }
    }

    /// Our CORS rule: reads from the configured origins, with the headers a browser needs for caching.
    pub(crate) fn cors_rule(&self) -> CorsRule {
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

    /// Our lifecycle rule: it expires the image cache and nothing else (see [`crate::layout`]).
    pub(crate) fn lifecycle_rule(&self) -> LifecycleRule {
        LifecycleRule {
            id: LIFECYCLE_RULE_ID.into(),
            prefix: CARD_IMAGES.into(),
            days: self.expire_after_days,
        }
    }
}

/// `S3__CACHE_TTL_SECONDS` as lifecycle days: rounded up (an object never expires early), at least 1.
pub(crate) fn ttl_days(seconds: u64) -> i32 {
    let days = seconds.div_ceil(SECONDS_PER_DAY).max(1);
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// A CORS rule, as S3 stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    /// Ours is `card-images-read`; other people's rules may have none.
    pub id: Option<String>,
    /// `AllowedOrigins`.
    pub allowed_origins: Vec<String>,
    /// `AllowedMethods`.
    pub allowed_methods: Vec<String>,
    /// `AllowedHeaders`.
    pub allowed_headers: Vec<String>,
    /// `ExposeHeaders`.
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`.
    pub max_age_seconds: Option<i32>,
}

impl CorsRule {
    pub(crate) fn to_json(&self) -> Value {
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
    pub(crate) fn same_as(&self, other: &CorsRule) -> bool {
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

    pub(crate) fn from_sdk(rule: &aws_sdk_s3::types::CorsRule) -> Self {
        Self {
            id: rule.id().map(str::to_string),
            allowed_origins: rule.allowed_origins().to_vec(),
            allowed_methods: rule.allowed_methods().to_vec(),
            allowed_headers: rule.allowed_headers().to_vec(),
            expose_headers: rule.expose_headers().to_vec(),
            max_age_seconds: rule.max_age_seconds(),
        }
    }

    pub(crate) fn to_sdk(&self) -> Result<aws_sdk_s3::types::CorsRule, ProvisionError> {
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
    /// Ours is `expire-card-images`.
    pub id: String,
    /// Ours is [`CARD_IMAGES`].
    pub prefix: String,
    /// [`BucketSpec::expire_after_days`].
    pub days: i32,
}

impl LifecycleRule {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "ID": self.id,
            "Status": "Enabled",
            "Filter": {"Prefix": self.prefix},
            "Expiration": {"Days": self.days},
        })
    }

    pub(crate) fn to_sdk(&self) -> Result<aws_sdk_s3::types::LifecycleRule, ProvisionError> {
        aws_sdk_s3::types::LifecycleRule::builder()
            .id(&self.id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(&self.prefix).build())
            .expiration(LifecycleExpiration::builder().days(self.days).build())
            .build()
            .map_err(|e| ProvisionError::build("PutBucketLifecycleConfiguration", e))
    }

    /// Whether a stored rule is this one: same ID, enabled, same prefix (new or legacy form), same days.
    pub(crate) fn matches(&self, rule: &aws_sdk_s3::types::LifecycleRule) -> bool {
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
    /// `BlockPublicAcls`.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`: must be false for our public-read statement.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`: must be false for anonymous reads to be served.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// Public policies allowed (ours makes `card-images/*` readable); ACLs stay blocked.
    pub(crate) const WANTED: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: false,
        restrict_public_buckets: false,
    };

    pub(crate) fn allows_public_policy(self) -> bool {
        !self.block_public_policy && !self.restrict_public_buckets
    }

    pub(crate) fn cli(self) -> String {
        format!(
            "BlockPublicAcls={},IgnorePublicAcls={},BlockPublicPolicy={},RestrictPublicBuckets={}",
            self.block_public_acls,
            self.ignore_public_acls,
            self.block_public_policy,
            self.restrict_public_buckets
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The service's default settings: `AWS_S3_BUCKET_NAME`, `AWS_REGION`, `S3__CACHE_TTL_SECONDS`.
    pub(crate) fn spec() -> BucketSpec {
        BucketSpec::new("dealbrain-card-images", "us-east-1", 2_592_000)
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
    fn the_lifecycle_rule_expires_card_images_after_the_ttl() {
        let rule = BucketSpec::new("b", "us-east-1", 7 * 86_400 + 1).lifecycle_rule();
        assert_eq!(
            rule.to_json(),
            json!({"ID": "expire-card-images", "Status": "Enabled",
                   "Filter": {"Prefix": "card-images/"}, "Expiration": {"Days": 8}})
        );
        let sdk = rule.to_sdk().unwrap();
        assert!(rule.matches(&sdk));
    }
}

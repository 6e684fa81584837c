//! The card bucket: its layout (every prefix, once), what it should look like, and provisioning.
//!
//! The bucket needs a public access block that allows a public bucket policy (AWS blocks one by
//! default), CORS for cross-origin `GET`/`HEAD`, a lifecycle rule that expires `card-images/`
//! after `S3__CACHE_TTL_SECONDS` (rounded up to days), a policy that makes only `card-images/*`
//! publicly readable, and optionally server access logging to a second bucket.
//!
//! Provisioning is read ([`read_state`]) → [`plan`] → apply ([`Change::apply`], or [`ensure`]
//! for all three): [`plan`] is a pure function of the wanted [`BucketSpec`] and the observed
//! [`BucketState`], so a second run plans nothing. Our rules are found by their IDs and Sids;
//! anything else already in the bucket's CORS, lifecycle or policy is kept.
//! `cargo xtask provision-bucket`, `cargo xtask dev`, `localstack up`, `test-s3` and `doctor` all
//! go through here; docs/setup-aws.md and the LocalStack init hook are tested against it.
//!
//! The service depends on this crate for [`layout`] and [`sdk_error_text`] only; it never
//! provisions. Arrows point down: `apply` → `plan` → `policy` → `spec` → `layout`, `error`.

#![warn(missing_docs)]

pub mod layout;

mod apply;
mod error;
mod plan;
mod policy;
mod spec;

pub use apply::{ensure, read_state};
pub use error::{ProvisionError, sdk_error_text};
pub use plan::{Aspect, BucketState, Change, Step, plan};
pub use policy::iam_policy;
pub use spec::{AccessLog, BucketSpec, CorsRule, LifecycleRule, PublicAccessBlock};

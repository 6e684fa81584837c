//! Which S3 server and bucket the S3 commands (`provision-bucket`, `test-s3`, `doctor`) talk to.
//!
//! The endpoint is, in order: `--endpoint`; `S3__ENDPOINT_URL`; the local server that
//! `cargo xtask localstack up` recorded (or `S3_ENDPOINT`); else AWS. `--aws` skips straight to
//! AWS. Everything else (bucket, region, credentials, TTL) comes from the service's own settings,
//! so `.env` and the environment mean the same here as in the service.

use std::fmt;
use std::net::IpAddr;

use anyhow::{Result, bail};
use aws_sdk_s3::Client;
use card_bucket::BucketSpec;
use card_service::S3Settings;
use card_service::settings::Settings;

use crate::s3_server::{self, Backend, Running};

/// Emulators accept any credentials; these are the conventional ones.
const LOCAL_CREDENTIALS: &str = "test";
/// Deadline of one S3 call from xtask: bucket administration on AWS takes longer than the
/// service's reads and writes.
const TIMEOUT_MS: u64 = 15_000;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// Bucket [default: AWS_S3_BUCKET_NAME].
    #[arg(long)]
    pub bucket: Option<String>,
    /// Region [default: AWS_REGION].
    #[arg(long)]
    pub region: Option<String>,
    /// S3 endpoint [default: S3__ENDPOINT_URL, else the server `cargo xtask localstack up` runs, else AWS].
    #[arg(long, conflicts_with = "aws")]
    pub endpoint: Option<String>,
    /// Talk to AWS even when S3__ENDPOINT_URL is set or a local server runs.
    #[arg(long)]
    pub aws: bool,
}

/// Where the endpoint came from, which decides what a check may expect of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Setting,
    LocalServer(Backend),
    Aws,
}

/// A resolved S3 target: the service's S3 settings with the endpoint, bucket and region to use.
#[derive(Debug, Clone)]
pub struct Target {
    pub s3: S3Settings,
    pub source: Source,
}

impl Target {
    pub fn resolve(args: &TargetArgs, settings: &Settings) -> Result<Target> {
        let mut s3 = settings.s3.clone();
        if let Some(bucket) = &args.bucket {
            s3.bucket_name = bucket.clone();
        }
        if let Some(region) = &args.region {
            s3.region = region.clone();
        }
        let source = if args.aws {
            s3.endpoint_url = None;
            Source::Aws
        } else if let Some(endpoint) = &args.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                bail!("--endpoint {endpoint}: expected an http:// or https:// URL");
            }
            s3.endpoint_url = Some(endpoint.clone());
            Source::Flag
        } else if s3.endpoint_url.is_some() {
            Source::Setting
        } else if let Some(running) = s3_server::recorded()? {
            s3.endpoint_url = Some(running.endpoint.clone());
            Source::LocalServer(running.backend)
        } else {
            Source::Aws
        };
        Ok(Target::new(s3, source))
    }

    /// The local server `up` started, with the bucket and TTL of `settings`.
    pub fn local(running: &Running, settings: &Settings) -> Target {
        let mut s3 = settings.s3.clone();
        s3.endpoint_url = Some(running.endpoint.clone());
        Target::new(s3, Source::LocalServer(running.backend))
    }

    fn new(mut s3: S3Settings, source: Source) -> Target {
        // A local emulator takes any credentials; the AWS default chain would find none.
        if s3.access_key_id.is_none() && s3.endpoint_url.as_deref().is_some_and(is_loopback) {
            s3.access_key_id = Some(LOCAL_CREDENTIALS.into());
            s3.secret_access_key = Some(LOCAL_CREDENTIALS.into());
        }
        s3.timeout_ms = s3.timeout_ms.max(TIMEOUT_MS);
        Target { s3, source }
    }

    /// The same client the service builds from these settings.
    pub async fn client(&self) -> Client {
        card_service::s3_client(&self.s3).await
    }

    pub fn bucket(&self) -> &str {
        &self.s3.bucket_name
    }

    /// The bucket as the service's settings want it provisioned.
    pub fn spec(&self) -> BucketSpec {
        spec(&self.s3)
    }

    /// The URL anyone can GET an object at without credentials: path-style on a custom endpoint
    /// (emulators have no per-bucket host names), virtual-hosted on AWS.
    pub fn public_url(&self, key: &str) -> String {
        match &self.s3.endpoint_url {
            Some(endpoint) => format!(
                "{}/{}/{key}",
                endpoint.trim_end_matches('/'),
                self.s3.bucket_name
            ),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.s3.bucket_name, self.s3.region
            ),
        }
    }

    /// Whether the server checks anonymous requests against bucket policies; `None` when unknown.
    pub fn enforces_policies(&self) -> Option<bool> {
        match &self.source {
            Source::Aws => Some(true),
            Source::LocalServer(backend) => backend.enforces_policies(),
            Source::Flag | Source::Setting => None,
        }
    }

    /// A hint for a call that failed: most often credentials, or the wrong server.
    pub fn fix_hint(&self) -> String {
        match &self.source {
            Source::Aws => "check AWS_REGION and the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
                 a profile or a role); for a local server run `cargo xtask localstack up` or pass --endpoint"
                .into(),
            Source::LocalServer(_) => {
                "is the local server still up? `cargo xtask localstack status` (restart with \
                 `cargo xtask localstack down && cargo xtask localstack up`)"
                    .into()
            }
            Source::Flag | Source::Setting => format!(
                "check that {} is an S3 server and the credentials it expects are set",
                self.s3.endpoint_url.as_deref().unwrap_or("the endpoint")
            ),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bucket = &self.s3.bucket_name;
        match (&self.source, &self.s3.endpoint_url) {
            (Source::LocalServer(backend), Some(endpoint)) => {
                write!(f, "{bucket} at {endpoint} ({})", backend.describe())
            }
            (Source::Flag, Some(endpoint)) => write!(f, "{bucket} at {endpoint} (--endpoint)"),
            (Source::Setting, Some(endpoint)) => {
                write!(f, "{bucket} at {endpoint} (S3__ENDPOINT_URL)")
            }
            _ => write!(f, "{bucket} on AWS ({})", self.s3.region),
        }
    }
}

/// The bucket of these settings, as [`BucketSpec::new`] provisions it: expiry after
/// `S3__CACHE_TTL_SECONDS`, CORS from any origin, no access log.
pub fn spec(s3: &S3Settings) -> BucketSpec {
    BucketSpec::new(&s3.bucket_name, &s3.region, s3.cache_ttl_seconds)
}

/// `http://127.0.0.1:4566`, `http://localhost:9000`, `http://[::1]:4566`.
fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(endpoint: Option<&str>) -> Target {
        let s3 = S3Settings {
            endpoint_url: endpoint.map(str::to_string),
            ..S3Settings::default()
        };
        Target::new(s3, Source::Setting)
    }

    #[test]
    fn loopback_endpoints_are_recognised() {
        assert!(is_loopback("http://127.0.0.1:4566"));
        assert!(is_loopback("http://localhost:9000/"));
        assert!(is_loopback("http://[::1]:4566"));
        assert!(!is_loopback("https://s3.example.com"));
        assert!(!is_loopback("http://10.0.0.5:9000"));
    }

    #[test]
    fn local_servers_get_emulator_credentials_and_real_ones_do_not() {
        assert_eq!(
            target(Some("http://127.0.0.1:4566"))
                .s3
                .access_key_id
                .as_deref(),
            Some("test")
        );
        assert_eq!(
            target(Some("https://minio.internal")).s3.access_key_id,
            None
        );
        assert_eq!(target(None).s3.access_key_id, None);
    }

    #[test]
    fn public_urls_are_path_style_on_emulators_and_virtual_hosted_on_aws() {
        assert_eq!(
            target(Some("http://127.0.0.1:4566/")).public_url("card-images/x.png"),
            "http://127.0.0.1:4566/dealbrain-card-images/card-images/x.png"
        );
        assert_eq!(
            target(None).public_url("card-images/x.png"),
            "https://dealbrain-card-images.s3.us-east-1.amazonaws.com/card-images/x.png"
        );
    }
}

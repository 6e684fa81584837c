//! Settings: defaults → optional `card-service.toml` → `.env` → environment, validated once at start-up.
//!
//! This is the only module that reads the process environment. Variables use the
//! `SECTION__KEY` form (`PLAYWRIGHT__ENABLED`), except the seed's AWS names
//! (`AWS_S3_BUCKET_NAME`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`),
//! which keep their historical spelling. Every error names the variable to fix.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use crate::cache::{CacheSettings, S3Settings};
use crate::config::{Invalid, check};
use crate::control::ControlSettings;
use crate::experiments::ExperimentSettings;
use crate::jobs::JobsSettings;
use crate::listings::ListingSettings;
use crate::render::{
    DesignCheckSettings, DesignSettings, ImageSettings, PlaywrightSettings, RenderSettings,
};
use crate::telemetry::LogSettings;

/// The seed's AWS variables, which have no `__` section separator, and where they live.
const AWS_ALIASES: &[(&str, &str)] = &[
    ("AWS_S3_BUCKET_NAME", "s3.bucket_name"),
    ("AWS_REGION", "s3.region"),
    ("AWS_ACCESS_KEY_ID", "s3.access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "s3.secret_access_key"),
];

/// Sections that `SECTION__KEY` variables may address; anything else in the environment is ignored.
const SECTIONS: &[&str] = &[
    "server",
    "serve",
    "playwright",
    "s3",
    "templates",
    "listings",
    "images",
    "cache",
    "render",
    "admin",
    "signing",
    "jobs",
    "control",
    "experiments",
    "designs",
    "log",
];

/// Every setting of the service. Field names map to variables as `SECTION__FIELD`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub serve: ServeSettings,
    pub playwright: PlaywrightSettings,
    pub s3: S3Settings,
    pub templates: DesignSettings,
    pub listings: ListingSettings,
    pub images: ImageSettings,
    pub cache: CacheSettings,
    pub render: RenderSettings,
    pub admin: AdminSettings,
    pub signing: SigningSettings,
    pub jobs: JobsSettings,
    pub control: ControlSettings,
    pub experiments: ExperimentSettings,
    pub designs: DesignCheckSettings,
    pub log: LogSettings,
}

/// HTTP server and response caching headers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Absolute base URL crawlers reach this service at (for `/share` pages); derived from `bind` when unset.
    pub public_url: Option<String>,
    /// `max-age` of image responses: how long browsers and CDNs may reuse an image without asking.
    pub max_age_seconds: u64,
    /// `stale-while-revalidate` of image responses.
    pub stale_while_revalidate_seconds: u64,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace_ms: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            max_age_seconds: 86_400,
            stale_while_revalidate_seconds: 604_800,
            shutdown_grace_ms: 10_000,
        }
    }
}

/// How image responses are delivered: the bytes through the service, or a redirect to the bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeSettings {
    /// `proxy` (the service sends the bytes) or `redirect` (a `302` to the object's public URL
    /// once it exists in S3; the bytes when it does not).
    pub mode: ServeMode,
    /// `max-age` of a redirect: how long a client or CDN may reuse it before asking again, so how
    /// long a changed listing can keep pointing at its previous image.
    pub redirect_max_age_seconds: u64,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            mode: ServeMode::Proxy,
            redirect_max_age_seconds: 300,
        }
    }
}

/// `SERVE__MODE`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ServeMode {
    /// The service streams the bytes (ranges, conditional requests, negotiation).
    Proxy,
    /// The service answers `302 Found` to the object's public URL (`S3__PUBLIC_BASE_URL` + key).
    Redirect,
}

/// Admin endpoints.
#[derive(Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Bearer token for `/admin/*`; the admin endpoints are off when unset.
    pub token: Option<String>,
}

impl fmt::Debug for AdminSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminSettings")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Signed image URLs (HMAC-SHA256 over path and query, as imgproxy does).
#[derive(Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SigningSettings {
    /// Comma-separated keys, hex or base64, at least 16 bytes each: the first signs, any verifies
    /// (so keys rotate). When set, `/api/og-image/*` refuses URLs without a valid `sig`.
    pub keys: Option<String>,
}

impl SigningSettings {
    /// The signer these keys make (one that signs nothing when unset); `validate` has checked them.
    pub fn signer(&self) -> card_request::Signer {
        card_request::Signer::from_keys_setting(self.keys.as_deref().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl fmt::Debug for SigningSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSettings")
            .field("keys", &self.keys.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A setting that could not be loaded or is out of range; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

impl From<Invalid> for SettingsError {
    fn from(invalid: Invalid) -> Self {
        Self(invalid.to_string())
    }
}

impl Settings {
    /// Loads settings from the process: `card-service.toml` and `.env` in the working directory, then the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        let dotenv = read_dotenv(Path::new(".env"))?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load(Path::new("card-service.toml"), dotenv, env)
    }

    /// Loads settings from explicit sources (tests, xtask): a TOML file if it exists, then `.env` pairs, then environment pairs.
    pub fn load(
        toml: &Path,
        dotenv: Vec<(String, String)>,
        env: Vec<(String, String)>,
    ) -> Result<Self, SettingsError> {
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(toml))
            .merge(EnvPairs::new(".env file", dotenv))
            .merge(EnvPairs::new("environment", env))
            // Lossy: the strings of the environment become the numbers and booleans fields ask for.
            .extract_lossy()
            .map_err(|e| SettingsError(describe_figment_error(&e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Settings for tests and tools: defaults overlaid with `SECTION__KEY` pairs, nothing read from the process.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, SettingsError> {
        let pairs = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::load(
            Path::new("/nonexistent/card-service.toml"),
            Vec::new(),
            pairs,
        )
    }

    /// Range checks that serde cannot express: each area's own, then the server's.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.playwright.validate()?;
        self.s3.validate()?;
        self.templates.validate()?;
        self.listings.validate()?;
        self.images.validate()?;
        self.render.validate()?;
        self.jobs.validate()?;
        self.control.validate()?;
        self.experiments.validate()?;
        self.designs.validate()?;
        self.validate_server()?;
        Ok(())
    }

    /// `SERVER__*`, `SERVE__*`, `ADMIN__*` and `SIGNING__*`.
    fn validate_server(&self) -> Result<(), Invalid> {
        if let Some(url) = &self.server.public_url {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                "SERVER__PUBLIC_URL",
                "an absolute http(s):// URL",
            )?;
        }
        if let Some(token) = &self.admin.token {
            check(token.len() >= 16, "ADMIN__TOKEN", "at least 16 characters")?;
        }
        if let Some(keys) = &self.signing.keys {
            card_request::parse_keys(keys).map_err(|e| {
                Invalid::new(
                    "SIGNING__KEYS",
                    format!("comma-separated hex or base64 keys of at least 16 bytes ({e})"),
                )
            })?;
        }
        check(
            self.serve.redirect_max_age_seconds <= 86_400,
            "SERVE__REDIRECT_MAX_AGE_SECONDS",
            "seconds from 0 to 86400",
        )?;
        if self.serve.mode == ServeMode::Redirect && !self.s3.enabled {
            tracing::warn!(
                "SERVE__MODE=redirect with S3__ENABLED=false: nothing is stored, so every image is proxied"
            );
        }
        Ok(())
    }

    /// Base URL for absolute links to this service.
    pub fn public_url(&self, local: SocketAddr) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{local}"),
        }
    }

    /// Every setting as `VARIABLE=value` lines with secrets redacted, for `cargo xtask config` and start-up logs.
    pub fn redacted(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let value = serde_json::to_value(self).unwrap_or_default();
        flatten("", &value, &mut out);
        for secret in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "ADMIN__TOKEN",
            "SIGNING__KEYS",
        ] {
            if let Some(v) = out.get_mut(secret)
                && !v.is_empty()
            {
                *v = "<redacted>".into();
            }
        }
        out
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Null => {
            out.insert(variable_name(prefix), String::new());
        }
        serde_json::Value::String(s) => {
            out.insert(variable_name(prefix), s.clone());
        }
        other => {
            out.insert(variable_name(prefix), other.to_string());
        }
    }
}

/// `s3.bucket_name` → `AWS_S3_BUCKET_NAME`, `playwright.enabled` → `PLAYWRIGHT__ENABLED`.
pub fn variable_name(path: &str) -> String {
    if let Some((var, _)) = AWS_ALIASES.iter().find(|(_, p)| *p == path) {
        return (*var).to_string();
    }
    path.split('.')
        .map(str::to_ascii_uppercase)
        .collect::<Vec<_>>()
        .join("__")
}

fn describe_figment_error(e: &figment::Error) -> String {
    let mut lines = Vec::new();
    for err in e.clone() {
        let path = err.path.join(".");
        let var = if path.is_empty() {
            "settings".to_string()
        } else {
            variable_name(&path)
        };
        let source = err
            .metadata
            .as_ref()
            .map(|m| m.name.to_string())
            .unwrap_or_default();
        let kind = err.kind.to_string();
        if source.is_empty() {
            lines.push(format!("{var}: {kind}"));
        } else {
            lines.push(format!("{var}: {kind} (from {source})"));
        }
    }
    lines.join("; ")
}

fn read_dotenv(path: &Path) -> Result<Vec<(String, String)>, SettingsError> {
    match dotenvy::from_path_iter(path) {
        Ok(iter) => iter
            .map(|item| item.map_err(|e| SettingsError(format!(".env: {e}"))))
            .collect(),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(SettingsError(format!(".env: {e}"))),
    }
}

/// A figment provider over `NAME=value` pairs (the environment or a `.env` file).
///
/// Values stay strings: figment converts them to numbers and booleans where a field asks for
/// one, and a secret such as `AWS_ACCESS_KEY_ID=1234` stays the string it is.
/// Empty values count as unset.
struct EnvPairs {
    name: &'static str,
    pairs: Vec<(String, String)>,
}

impl EnvPairs {
    fn new(name: &'static str, pairs: Vec<(String, String)>) -> Self {
        Self { name, pairs }
    }

    fn key_path(var: &str) -> Option<String> {
        if let Some((_, path)) = AWS_ALIASES.iter().find(|(v, _)| *v == var) {
            return Some((*path).to_string());
        }
        let (section, key) = var.split_once("__")?;
        let section = section.to_ascii_lowercase();
        if !SECTIONS.contains(&section.as_str()) || key.is_empty() {
            return None;
        }
        Some(format!(
            "{section}.{}",
            key.to_ascii_lowercase().replace("__", ".")
        ))
    }
}

impl Provider for EnvPairs {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (var, value) in &self.pairs {
            let value = value.trim();
            let Some(path) = Self::key_path(var) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            insert_path(&mut dict, &path, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Inserts `value` at a dotted `path` (`s3.bucket_name`), creating the dictionaries on the way.
fn insert_path(dict: &mut Dict, path: &str, value: &str) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_string(), Value::from(value.to_string()));
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// `NODE_OPTIONS` as the environment gives it, which the driver's options are added to.
pub fn node_options() -> Option<String> {
    std::env::var("NODE_OPTIONS").ok()
}

/// `RUST_LOG`, the conventional override of `LOG__LEVEL`.
pub fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Variants;
    use crate::listings::Metric;

    #[test]
    fn defaults_are_the_seeds() {
        let s = Settings::from_pairs([]).unwrap();
        assert!(s.playwright.enabled);
        assert_eq!(s.playwright.max_concurrent_browsers, 2);
        assert_eq!(s.playwright.browser_timeout_ms, 30_000);
        assert!(s.playwright.headless);
        assert!(!s.s3.enabled);
        assert_eq!(s.s3.bucket_name, "dealbrain-card-images");
        assert_eq!(s.s3.region, "us-east-1");
        assert_eq!(s.s3.cache_ttl_seconds, 2_592_000);
        assert_eq!(s.s3.endpoint_url, None);
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn driver_node_options_follow_the_environments() {
        let s = Settings::from_pairs([]).unwrap().playwright;
        let ours = "--max-semi-space-size=2";
        assert_eq!(s.driver_node_options_env(None).as_deref(), Some(ours));
        assert_eq!(s.driver_node_options_env(Some("  ")).as_deref(), Some(ours));
        assert_eq!(
            s.driver_node_options_env(Some("--trace-warnings"))
                .as_deref(),
            Some("--trace-warnings --max-semi-space-size=2")
        );
        let off = Settings::from_pairs([("PLAYWRIGHT__DRIVER_NODE_OPTIONS", "none")])
            .unwrap()
            .playwright;
        assert_eq!(off.driver_node_options_env(Some("--trace-warnings")), None);
    }

    #[test]
    fn environment_names_map_to_fields() {
        let s = Settings::from_pairs([
            ("PLAYWRIGHT__ENABLED", "false"),
            ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "3"),
            ("S3__ENABLED", "true"),
            ("S3__ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_S3_BUCKET_NAME", "my-bucket"),
            ("AWS_ACCESS_KEY_ID", "12345"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("SERVER__BIND", "0.0.0.0:9000"),
            ("PATH", "/usr/bin"),
            ("SERVER", "not a section"),
        ])
        .unwrap();
        assert!(!s.playwright.enabled);
        assert_eq!(s.playwright.max_concurrent_browsers, 3);
        assert!(s.s3.enabled);
        assert_eq!(s.s3.endpoint_url.as_deref(), Some("http://127.0.0.1:4566"));
        assert_eq!(s.s3.bucket_name, "my-bucket");
        // A numeric-looking secret stays a string.
        assert_eq!(s.s3.access_key_id.as_deref(), Some("12345"));
        assert_eq!(s.server.bind.port(), 9000);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s =
            Settings::from_pairs([("S3__ENDPOINT_URL", ""), ("AWS_ACCESS_KEY_ID", "")]).unwrap();
        assert_eq!(s.s3.endpoint_url, None);
        assert_eq!(s.s3.access_key_id, None);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err =
            Settings::from_pairs([("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "many")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS"),
            "{err}"
        );
        let err = Settings::from_pairs([("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "0")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS"),
            "{err}"
        );
        let err = Settings::from_pairs([("AWS_S3_BUCKET_NAME", "Bad_Bucket")]).unwrap_err();
        assert!(err.to_string().contains("AWS_S3_BUCKET_NAME"), "{err}");
        let err = Settings::from_pairs([("SERVER__BIND", "localhost")]).unwrap_err();
        assert!(err.to_string().contains("SERVER__BIND"), "{err}");
        let err = Settings::from_pairs([("S3__ENABLED", "maybe")]).unwrap_err();
        assert!(err.to_string().contains("S3__ENABLED"), "{err}");
    }

    #[test]
    fn a_page_url_template_without_id_or_a_bad_check_setting_stops_start_up_naming_the_variable() {
        for (key, value) in [
            (
                "LISTINGS__PAGE_URL_TEMPLATE",
                "https://dealbrain.app/listings/",
            ),
            ("LISTINGS__PAGE_URL_TEMPLATE", "dealbrain.app/listings/{id}"),
            ("DESIGNS__CHECKS", "tofu=warn"),
            ("DESIGNS__CHECKS", "blank=loud"),
            ("CONTROL__CHECK_RUNS_KEPT", "0"),
            ("CONTROL__CHECK_RUNS_KEPT", "101"),
        ] {
            let err = Settings::from_pairs([(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
        let s = Settings::from_pairs([("DESIGNS__CHECKS", "blank=off")]).unwrap();
        assert_eq!(
            s.designs.checks.to_string(),
            "overflow=refuse,glyphs=warn,blank=off"
        );
    }

    #[test]
    fn an_unknown_key_in_a_known_section_is_an_error() {
        let err = Settings::from_pairs([("PLAYWRIGHT__ENABELD", "true")]).unwrap_err();
        assert!(err.to_string().contains("PLAYWRIGHT__ENABELD"), "{err}");
    }

    /// `.env.example` documents every setting and, copied to `.env`, is itself a valid configuration.
    #[test]
    fn env_example_is_complete_and_loads() {
        let example = include_str!("../../.env.example");
        // Parsed as `.env` is, so quoting in the example means what it will mean in a copy.
        let pairs: Vec<(String, String)> = dotenvy::from_read_iter(example.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        for var in Settings::default().redacted().keys() {
            assert!(
                pairs.iter().any(|(k, _)| k == var),
                ".env.example lacks {var}"
            );
        }
        let loaded = Settings::load(Path::new("/nonexistent.toml"), pairs, Vec::new()).unwrap();
        assert_eq!(loaded.render.brand, "Deal Brain");
    }

    #[test]
    fn job_settings_nest_under_jobs() {
        let s = Settings::from_pairs([]).unwrap();
        assert!(s.jobs.enabled);
        assert_eq!(s.jobs.warm_cache.schedule.pattern(), "0 3 * * *");
        assert_eq!(s.jobs.warm_cache.limit, 100);
        assert_eq!(s.jobs.warm_cache.metric, Metric::CpuMarkPerDollar);
        assert_eq!(s.jobs.cleanup.schedule.pattern(), "0 4 * * 0");
        let s = Settings::from_pairs([
            ("JOBS__ENABLED", "false"),
            ("JOBS__WARM_CACHE__SCHEDULE", "30 2 * * *"),
            ("JOBS__WARM_CACHE__LIMIT", "5"),
            ("JOBS__WARM_CACHE__METRIC", "cpu_mark"),
            ("JOBS__WARM_CACHE__VARIANTS", "classic,minimal"),
            ("JOBS__CLEANUP__SCHEDULE", "@daily"),
        ])
        .unwrap();
        assert!(!s.jobs.enabled);
        assert_eq!(s.jobs.warm_cache.schedule.pattern(), "30 2 * * *");
        assert_eq!(s.jobs.warm_cache.limit, 5);
        assert_eq!(s.jobs.warm_cache.metric, Metric::CpuMark);
        assert_eq!(
            s.jobs.warm_cache.variants,
            Variants::Named(vec!["classic".into(), "minimal".into()])
        );
        assert_eq!(s.jobs.cleanup.schedule.pattern(), "@daily");
        let r = s.redacted();
        assert_eq!(r["JOBS__WARM_CACHE__SCHEDULE"], "30 2 * * *");
        assert_eq!(r["JOBS__CLEANUP__SCHEDULE"], "@daily");
    }

    #[test]
    fn a_bad_job_setting_names_the_variable() {
        for (var, value) in [
            ("JOBS__WARM_CACHE__SCHEDULE", "every night"),
            ("JOBS__WARM_CACHE__SCHEDULE", "0 0 3 * * *"),
            ("JOBS__CLEANUP__SCHEDULE", "0 25 * * *"),
            ("JOBS__WARM_CACHE__LIMIT", "0"),
            ("JOBS__WARM_CACHE__METRIC", "cheapest"),
            ("JOBS__WARM_CACHE__VARIANTS", "Classic!"),
            ("JOBS__LEASE_TTL_SECONDS", "1"),
            ("JOBS__ENABLED", "sometimes"),
        ] {
            let err = Settings::from_pairs([(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{var}={value}: {err}");
        }
    }

    #[test]
    fn reliability_settings_load_and_are_range_checked() {
        let s = Settings::from_pairs([
            ("RENDER__FALLBACK_ON_TIMEOUT", "true"),
            ("PLAYWRIGHT__RECYCLE_AFTER_RENDERS", "10"),
            ("PLAYWRIGHT__RECYCLE_ABOVE_MIB", "0"),
            ("S3__BREAKER_FAILURES", "2"),
            ("S3__BREAKER_COOLDOWN_MS", "500"),
        ])
        .unwrap();
        assert!(s.render.fallback_on_timeout);
        assert_eq!(s.playwright.recycle_after_renders, 10);
        assert_eq!(s.s3.breaker_failures, 2);
        for (var, value) in [
            ("S3__BREAKER_FAILURES", "0"),
            ("S3__BREAKER_COOLDOWN_MS", "5"),
            ("PLAYWRIGHT__HEALTH_INTERVAL_MS", "10"),
            ("PLAYWRIGHT__HEALTH_TIMEOUT_MS", "0"),
            ("PLAYWRIGHT__RECYCLE_ABOVE_MIB", "64"),
            ("RENDER__FALLBACK_ON_TIMEOUT", "sometimes"),
        ] {
            let err = Settings::from_pairs([(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{var}={value}: {err}");
        }
    }

    #[test]
    fn the_public_base_url_is_derived_from_the_endpoint_or_the_region() {
        let base = |pairs: &[(&str, &str)]| {
            Settings::from_pairs(pairs.iter().copied())
                .unwrap()
                .s3
                .public_base_url()
        };
        // AWS: virtual-hosted, in the bucket's region.
        assert_eq!(
            base(&[("AWS_S3_BUCKET_NAME", "cards"), ("AWS_REGION", "eu-west-1")]),
            "https://cards.s3.eu-west-1.amazonaws.com"
        );
        // A dotted bucket name would not match the wildcard certificate: path-style.
        assert_eq!(
            base(&[("AWS_S3_BUCKET_NAME", "img.example.com")]),
            "https://s3.us-east-1.amazonaws.com/img.example.com"
        );
        // An emulator or MinIO: path-style on the endpoint.
        assert_eq!(
            base(&[("S3__ENDPOINT_URL", "http://127.0.0.1:4566/")]),
            "http://127.0.0.1:4566/dealbrain-card-images"
        );
        // Set explicitly (a CDN): used as given, without a trailing slash.
        assert_eq!(
            base(&[
                ("S3__ENDPOINT_URL", "http://127.0.0.1:4566"),
                ("S3__PUBLIC_BASE_URL", "https://images.example.com/cards/"),
            ]),
            "https://images.example.com/cards"
        );
    }

    #[test]
    fn serving_settings_load_and_bad_ones_name_the_variable() {
        let s = Settings::from_pairs([]).unwrap();
        assert_eq!(s.serve.mode, ServeMode::Proxy);
        assert_eq!(s.serve.redirect_max_age_seconds, 300);
        let s = Settings::from_pairs([
            ("SERVE__MODE", "redirect"),
            ("SERVE__REDIRECT_MAX_AGE_SECONDS", "60"),
        ])
        .unwrap();
        assert_eq!(s.serve.mode, ServeMode::Redirect);
        assert_eq!(s.serve.redirect_max_age_seconds, 60);
        for (var, value) in [
            ("SERVE__MODE", "cdn"),
            ("SERVE__REDIRECT_MAX_AGE_SECONDS", "86401"),
            ("SERVE__REDIRECT_MAX_AGE_SECONDS", "soon"),
            ("S3__PUBLIC_BASE_URL", "images.example.com"),
            ("S3__PUBLIC_BASE_URL", "ftp://images.example.com"),
            ("S3__PUBLIC_BASE_URL", "https://images.example.com/?v=1"),
            ("S3__PUBLIC_BASE_URL", "https://images.example.com/#top"),
            ("S3__PUBLIC_BASE_URL", "https://"),
        ] {
            assert_refused_naming(var, value);
        }
    }

    /// `VAR=value` alone fails to load, with a message that names `VAR`.
    fn assert_refused_naming(var: &str, value: &str) {
        match Settings::from_pairs([(var, value)]) {
            Ok(_) => panic!("{var}={value} was accepted"),
            Err(e) => assert!(e.to_string().contains(var), "{var}={value}: {e}"),
        }
    }

    #[test]
    fn redacted_hides_secrets() {
        let s = Settings::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKIA123"),
            ("AWS_SECRET_ACCESS_KEY", "shh"),
            ("ADMIN__TOKEN", "0123456789abcdef"),
        ])
        .unwrap();
        let r = s.redacted();
        assert_eq!(r["AWS_SECRET_ACCESS_KEY"], "<redacted>");
        assert_eq!(r["ADMIN__TOKEN"], "<redacted>");
        assert_eq!(r["PLAYWRIGHT__ENABLED"], "true");
        assert!(!format!("{s:?}").contains("shh"));
    }

    #[test]
    fn signing_keys_are_checked_and_redacted() {
        let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let s = Settings::from_pairs([("SIGNING__KEYS", key)]).unwrap();
        assert!(s.signing.signer().is_enabled());
        assert_eq!(s.redacted()["SIGNING__KEYS"], "<redacted>");
        assert!(!format!("{s:?}").contains(key));
        assert!(!Settings::default().signing.signer().is_enabled());
        let err = Settings::from_pairs([("SIGNING__KEYS", "short")]).unwrap_err();
        assert!(err.to_string().contains("SIGNING__KEYS"), "{err}");
    }
}

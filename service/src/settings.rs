//! Settings: defaults → optional `card-service.toml` → `.env` → environment, validated once at start-up.
//!
//! This is the only module that reads the process environment. Variables use the
//! `SECTION__KEY` form (`PLAYWRIGHT__ENABLED`), except the seed's AWS names
//! (`AWS_S3_BUCKET_NAME`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`),
//! which keep their historical spelling. Every error names the variable to fix.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use crate::listings::Metric;

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
    pub templates: TemplateSettings,
    pub listings: ListingSettings,
    pub images: ImageSettings,
    pub cache: CacheSettings,
    pub render: RenderSettings,
    pub admin: AdminSettings,
    pub signing: SigningSettings,
    pub jobs: JobsSettings,
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

/// Headless Chromium driven through Playwright.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaywrightSettings {
    /// When false, cache misses answer 503 `rendering-disabled`; cached images still serve.
    pub enabled: bool,
    /// Number of Chromium processes in the pool.
    pub max_concurrent_browsers: u32,
    /// Deadline for one render in the browser (set content + capture), never Playwright's 30 s default.
    pub browser_timeout_ms: u64,
    /// Run Chromium headless (must be true on servers).
    pub headless: bool,
    /// The Chromium binary (Debian's `chromium` package installs `/usr/bin/chromium`).
    pub executable_path: PathBuf,
    /// Reused pages per browser; renders beyond browsers × pages wait in the queue.
    pub pages_per_browser: u32,
    /// Deadline for starting the driver and launching one browser.
    pub launch_timeout_ms: u64,
    /// Renders after which a browser is replaced by a fresh one (drained: pages in use finish
    /// first); 0 never recycles on count.
    pub recycle_after_renders: u64,
    /// Memory (PSS of the browser's process tree, MiB) above which a browser is recycled; 0 never.
    pub recycle_above_mib: u64,
    /// How often each browser is probed (CDP `Browser.getVersion`) and its memory read; 0 turns the probe off.
    pub health_interval_ms: u64,
    /// How long a probe may take before the browser counts as frozen and is killed and replaced.
    pub health_timeout_ms: u64,
    /// Node options for the Playwright driver, added to `NODE_OPTIONS` when the service starts.
    /// The default caps V8's young generation: the driver relays every capture as a base64
    /// string, and with 16 MiB semi-spaces it sat at ≈ 230 MiB of PSS under load, ≈ 130 MiB with
    /// 2 MiB for ≈ 0.7 ms more of its CPU a card (docs/performance.md). `none` adds nothing (an
    /// empty value means unset, as for every setting).
    pub driver_node_options: String,
}

impl PlaywrightSettings {
    /// `NODE_OPTIONS` for the driver: `given` (the environment's) with
    /// `PLAYWRIGHT__DRIVER_NODE_OPTIONS` after it, so ours win where both set an option; `None`
    /// when there is nothing to add.
    pub fn driver_node_options_env(&self, given: Option<&str>) -> Option<String> {
        let ours = self.driver_node_options.trim();
        if ours.is_empty() || ours.eq_ignore_ascii_case("none") {
            return None;
        }
        Some(match given.map(str::trim) {
            Some(given) if !given.is_empty() => format!("{given} {ours}"),
            _ => ours.to_string(),
        })
    }
}

impl Default for PlaywrightSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_concurrent_browsers: 2,
            browser_timeout_ms: 30_000,
            headless: true,
            executable_path: PathBuf::from("/usr/bin/chromium"),
            pages_per_browser: 2,
            launch_timeout_ms: 30_000,
            recycle_after_renders: 500,
            recycle_above_mib: 2_048,
            health_interval_ms: 5_000,
            health_timeout_ms: 2_000,
            driver_node_options: "--max-semi-space-size=2".into(),
        }
    }
}

/// The S3 image cache.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// When false, images are rendered and served without the S3 tier (the seed's "Playwright only" mode).
    pub enabled: bool,
    /// `AWS_S3_BUCKET_NAME`.
    pub bucket_name: String,
    /// `AWS_REGION`.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`; when unset the AWS default chain (IAM role, profile, web identity) is used.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// Age after which cached images expire (lifecycle rule and cleanup job).
    pub cache_ttl_seconds: u64,
    /// Custom endpoint (LocalStack, moto, MinIO); path-style addressing is used with it.
    pub endpoint_url: Option<String>,
    /// Deadline for one S3 call (SDK retries included); past it the image is served without the S3 tier.
    pub timeout_ms: u64,
    /// Consecutive failed S3 calls that open the circuit breaker (S3 is then not called).
    pub breaker_failures: u32,
    /// How long an open breaker stays open before one probe call is let through.
    pub breaker_cooldown_ms: u64,
    /// Where the bucket's objects can be fetched anonymously (a CDN, a custom domain, or the bucket
    /// itself); an object's public URL is this base, `/`, and its key. See [`S3Settings::public_base_url`].
    pub public_base_url: Option<String>,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            enabled: false,
            bucket_name: "dealbrain-card-images".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            cache_ttl_seconds: 2_592_000,
            endpoint_url: None,
            timeout_ms: 3_000,
            breaker_failures: 5,
            breaker_cooldown_ms: 10_000,
            public_base_url: None,
        }
    }
}

impl fmt::Debug for S3Settings {
    // Hand-written so secrets never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("enabled", &self.enabled)
            .field("bucket_name", &self.bucket_name)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("cache_ttl_seconds", &self.cache_ttl_seconds)
            .field("endpoint_url", &self.endpoint_url)
            .field("timeout_ms", &self.timeout_ms)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_cooldown_ms", &self.breaker_cooldown_ms)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

impl S3Settings {
    /// `S3__PUBLIC_BASE_URL` without a trailing `/`, or the bucket's own address: path-style
    /// (`{S3__ENDPOINT_URL}/{bucket}`) with a custom endpoint, as emulators and MinIO serve it;
    /// virtual-hosted (`https://{bucket}.s3.{region}.amazonaws.com`) on AWS, or path-style on the
    /// regional endpoint for a bucket name with dots, which no virtual-hosted TLS certificate covers.
    pub fn public_base_url(&self) -> String {
        if let Some(url) = &self.public_base_url {
            return url.trim_end_matches('/').to_string();
        }
        let (bucket, region) = (&self.bucket_name, &self.region);
        match &self.endpoint_url {
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None if bucket.contains('.') => format!("https://s3.{region}.amazonaws.com/{bucket}"),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        }
    }
}

/// WebAssembly card designs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    /// Directory of `NAME.wasm` components (built by `cargo xtask templates build`).
    pub dir: PathBuf,
    /// Where compiled `.cwasm` files are cached; defaults to `DIR/.cwasm`.
    pub cache_dir: Option<PathBuf>,
    /// The design served when no experiment or `?variant` picks another.
    pub default: String,
    /// Deadline for one `render` call inside the component.
    pub render_timeout_ms: u64,
    /// Linear memory a component may grow to.
    pub memory_limit_bytes: usize,
    /// Largest HTML document a design may return.
    pub max_html_bytes: usize,
    /// How often `TEMPLATES__DIR` is checked for new or changed components; 0 turns hot reload off.
    pub watch_interval_ms: u64,
    /// The A/B experiment definition (JSON, or TOML by extension); `PUT /admin/experiments` writes it.
    pub experiments_file: Option<PathBuf>,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("card-templates/dist"),
            cache_dir: None,
            default: "classic".into(),
            render_timeout_ms: 250,
            memory_limit_bytes: 64 << 20,
            max_html_bytes: 2 << 20,
            watch_interval_ms: 1_000,
            experiments_file: None,
        }
    }
}

impl TemplateSettings {
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(".cwasm"))
    }
}

/// Where listings come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListingSettings {
    /// `embedded` (the built-in sample data), a path to a JSON file of the same shape,
    /// or the base URL of the Deal Brain API (`http://…` / `https://…`).
    pub source: String,
    /// Deadline for one Deal Brain API call.
    pub timeout_ms: u64,
}

impl Default for ListingSettings {
    fn default() -> Self {
        Self {
            source: "embedded".into(),
            timeout_ms: 3_000,
        }
    }
}

/// Listing images, which the service fetches itself and inlines as `data:` URIs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageSettings {
    /// Comma-separated hosts listing images may be fetched from; empty allows none.
    pub allowed_hosts: String,
    /// Largest image accepted, in bytes.
    pub max_bytes: usize,
    /// Largest image accepted, in pixels (width × height), against decompression bombs.
    pub max_pixels: u64,
    /// Deadline for fetching one image; past it the card renders without the image.
    pub timeout_ms: u64,
    /// Allow loopback and private addresses (tests only; never in production).
    pub allow_private_addresses: bool,
}

impl Default for ImageSettings {
    fn default() -> Self {
        Self {
            allowed_hosts: String::new(),
            max_bytes: 5 << 20,
            max_pixels: 40_000_000,
            timeout_ms: 2_000,
            allow_private_addresses: false,
        }
    }
}

impl ImageSettings {
    pub fn allowed_hosts(&self) -> Vec<String> {
        self.allowed_hosts
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }
}

/// The in-process memory tier in front of S3.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Capacity of the memory tier in bytes of image data; 0 turns it off.
    pub memory_max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            memory_max_bytes: 128 << 20,
        }
    }
}

/// The render pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderSettings {
    /// Renders allowed to wait for a browser page; past it misses answer 503 with `Retry-After`.
    pub queue_depth: usize,
    /// Brand name passed to designs.
    pub brand: String,
    /// JPEG and WebP quality (1–100).
    pub quality: u8,
    /// On a render past its deadline, serve the fallback card (the default design with a neutral
    /// listing, rendered at start-up, `Cache-Control: no-store`, `X-Cache: fallback`) instead of 503.
    pub fallback_on_timeout: bool,
}

impl Default for RenderSettings {
    fn default() -> Self {
        Self {
            queue_depth: 64,
            brand: "Deal Brain".into(),
            quality: 85,
            fallback_on_timeout: false,
        }
    }
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

/// Background jobs: cache warm-up and cleanup on cron schedules (UTC), one runner per run across instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSettings {
    /// When false nothing runs on a schedule; manual runs (`/admin/jobs/*`, `cargo xtask warm-cache|cleanup`) still work.
    pub enabled: bool,
    /// How long a run's lease in S3 holds without renewal: a crashed holder blocks the job at most this long.
    pub lease_ttl_seconds: u64,
    /// Finished runs kept per job for `GET /admin/jobs`.
    pub history: usize,
    pub warm_cache: WarmCacheSettings,
    pub cleanup: CleanupSettings,
}

impl Default for JobsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_ttl_seconds: 300,
            history: 20,
            warm_cache: WarmCacheSettings::default(),
            cleanup: CleanupSettings::default(),
        }
    }
}

/// The warm-cache job: render the top listings before crawlers ask for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarmCacheSettings {
    /// Five-field cron expression in UTC (minute hour day-of-month month day-of-week).
    pub schedule: String,
    /// How many listings to warm, best first by `metric`.
    pub limit: usize,
    /// The ranking: `cpu_mark_per_dollar`, `cpu_mark` or `price`.
    pub metric: Metric,
    /// Which designs: `all` (every live design except `fixture-*`), `default` (`TEMPLATES__DEFAULT`),
    /// or a comma-separated list of design names.
    pub variants: String,
}

impl Default for WarmCacheSettings {
    fn default() -> Self {
        Self {
            schedule: "0 3 * * *".into(),
            limit: 100,
            metric: Metric::CpuMarkPerDollar,
            variants: "all".into(),
        }
    }
}

/// The cleanup job: delete expired and superseded images under `card-images/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleanupSettings {
    /// Five-field cron expression in UTC; the default is Sundays at 04:00.
    pub schedule: String,
}

impl Default for CleanupSettings {
    fn default() -> Self {
        Self {
            schedule: "0 4 * * 0".into(),
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `card_service=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A setting that could not be loaded or is out of range; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

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

    /// Range checks that serde cannot express.
    pub fn validate(&self) -> Result<(), SettingsError> {
        fn check(ok: bool, var: &str, expected: &str) -> Result<(), SettingsError> {
            if ok {
                Ok(())
            } else {
                Err(SettingsError(format!("{var}: expected {expected}")))
            }
        }
        let p = &self.playwright;
        check(
            (1..=16).contains(&p.max_concurrent_browsers),
            "PLAYWRIGHT__MAX_CONCURRENT_BROWSERS",
            "a whole number from 1 to 16",
        )?;
        check(
            (1..=16).contains(&p.pages_per_browser),
            "PLAYWRIGHT__PAGES_PER_BROWSER",
            "a whole number from 1 to 16",
        )?;
        check(
            (100..=300_000).contains(&p.browser_timeout_ms),
            "PLAYWRIGHT__BROWSER_TIMEOUT_MS",
            "milliseconds from 100 to 300000",
        )?;
        check(
            p.launch_timeout_ms >= 1_000,
            "PLAYWRIGHT__LAUNCH_TIMEOUT_MS",
            "at least 1000 milliseconds",
        )?;
        if p.health_interval_ms > 0 {
            check(
                p.health_interval_ms >= 100,
                "PLAYWRIGHT__HEALTH_INTERVAL_MS",
                "0 (off) or at least 100 milliseconds",
            )?;
        }
        check(
            (50..=60_000).contains(&p.health_timeout_ms),
            "PLAYWRIGHT__HEALTH_TIMEOUT_MS",
            "milliseconds from 50 to 60000",
        )?;
        if p.recycle_above_mib > 0 {
            check(
                p.recycle_above_mib >= 128,
                "PLAYWRIGHT__RECYCLE_ABOVE_MIB",
                "0 (off) or at least 128",
            )?;
        }
        if p.enabled && !p.headless {
            tracing::warn!("PLAYWRIGHT__HEADLESS=false: Chromium needs a display");
        }
        let s3 = &self.s3;
        check(
            !s3.bucket_name.is_empty() && is_bucket_name(&s3.bucket_name),
            "AWS_S3_BUCKET_NAME",
            "a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
        )?;
        check(
            !s3.region.is_empty(),
            "AWS_REGION",
            "a region such as us-east-1",
        )?;
        check(
            s3.cache_ttl_seconds >= 60,
            "S3__CACHE_TTL_SECONDS",
            "at least 60 seconds",
        )?;
        check(
            s3.timeout_ms >= 50,
            "S3__TIMEOUT_MS",
            "at least 50 milliseconds",
        )?;
        check(
            (1..=1_000).contains(&s3.breaker_failures),
            "S3__BREAKER_FAILURES",
            "a whole number from 1 to 1000",
        )?;
        check(
            (100..=3_600_000).contains(&s3.breaker_cooldown_ms),
            "S3__BREAKER_COOLDOWN_MS",
            "milliseconds from 100 to 3600000",
        )?;
        check(
            s3.access_key_id.is_some() == s3.secret_access_key.is_some(),
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
            "both set or both unset",
        )?;
        if let Some(url) = &s3.endpoint_url {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                "S3__ENDPOINT_URL",
                "an http:// or https:// URL",
            )?;
        }
        let t = &self.templates;
        check(
            is_design_name(&t.default),
            "TEMPLATES__DEFAULT",
            "a design name like `classic`",
        )?;
        check(
            (1..=10_000).contains(&t.render_timeout_ms),
            "TEMPLATES__RENDER_TIMEOUT_MS",
            "milliseconds from 1 to 10000",
        )?;
        check(
            t.memory_limit_bytes >= 1 << 20,
            "TEMPLATES__MEMORY_LIMIT_BYTES",
            "at least 1048576",
        )?;
        check(
            t.max_html_bytes >= 1024,
            "TEMPLATES__MAX_HTML_BYTES",
            "at least 1024",
        )?;
        let src = &self.listings.source;
        check(
            !src.is_empty(),
            "LISTINGS__SOURCE",
            "`embedded`, a JSON file path or an http(s):// URL",
        )?;
        check(
            self.images.max_bytes >= 1024,
            "IMAGES__MAX_BYTES",
            "at least 1024",
        )?;
        check(
            (1..=100).contains(&self.render.quality),
            "RENDER__QUALITY",
            "a whole number from 1 to 100",
        )?;
        check(
            self.render.queue_depth >= 1,
            "RENDER__QUEUE_DEPTH",
            "at least 1",
        )?;
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
                SettingsError(format!(
                    "SIGNING__KEYS: expected comma-separated hex or base64 keys of at least 16 bytes ({e})"
                ))
            })?;
        }
        self.validate_serving()?;
        self.validate_jobs()
    }

    /// `SERVE__*` and `S3__PUBLIC_BASE_URL`.
    fn validate_serving(&self) -> Result<(), SettingsError> {
        if let Some(base) = &self.s3.public_base_url {
            let ok = reqwest::Url::parse(base).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.query().is_none()
                    && url.fragment().is_none()
            });
            if !ok {
                return Err(SettingsError(format!(
                    "S3__PUBLIC_BASE_URL: expected an absolute http(s):// URL without a query or \
                     fragment, such as https://images.example.com, not `{base}`"
                )));
            }
        }
        if self.serve.redirect_max_age_seconds > 86_400 {
            return Err(SettingsError(
                "SERVE__REDIRECT_MAX_AGE_SECONDS: expected seconds from 0 to 86400".into(),
            ));
        }
        if self.serve.mode == ServeMode::Redirect && !self.s3.enabled {
            tracing::warn!(
                "SERVE__MODE=redirect with S3__ENABLED=false: nothing is stored, so every image is proxied"
            );
        }
        Ok(())
    }

    /// `JOBS__*`: the schedules parse, the numbers are in range.
    fn validate_jobs(&self) -> Result<(), SettingsError> {
        use crate::jobs::{schedule::Schedule, warm_cache::Variants};
        let jobs = &self.jobs;
        for (var, pattern) in [
            ("JOBS__WARM_CACHE__SCHEDULE", &jobs.warm_cache.schedule),
            ("JOBS__CLEANUP__SCHEDULE", &jobs.cleanup.schedule),
        ] {
            Schedule::parse(pattern).map_err(|e| {
                SettingsError(format!(
                    "{var}: expected a five-field cron expression in UTC such as `0 3 * * *` \
                     (minute hour day-of-month month day-of-week), not `{pattern}`: {e}"
                ))
            })?;
        }
        if !(1..=10_000).contains(&jobs.warm_cache.limit) {
            return Err(SettingsError(
                "JOBS__WARM_CACHE__LIMIT: expected a whole number from 1 to 10000".into(),
            ));
        }
        Variants::parse(&jobs.warm_cache.variants)
            .map_err(|e| SettingsError(format!("JOBS__WARM_CACHE__VARIANTS: expected {e}")))?;
        if !(10..=86_400).contains(&jobs.lease_ttl_seconds) {
            return Err(SettingsError(
                "JOBS__LEASE_TTL_SECONDS: expected seconds from 10 to 86400".into(),
            ));
        }
        if !(1..=1_000).contains(&jobs.history) {
            return Err(SettingsError(
                "JOBS__HISTORY: expected a whole number from 1 to 1000".into(),
            ));
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

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

pub use card_request::is_design_name;

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

/// `RUST_LOG`, the conventional override of `LOG__LEVEL`.
pub fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty())
}

/// Milliseconds as a `Duration`, for the many `*_ms` settings.
pub fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(s.jobs.warm_cache.schedule, "0 3 * * *");
        assert_eq!(s.jobs.warm_cache.limit, 100);
        assert_eq!(s.jobs.warm_cache.metric, Metric::CpuMarkPerDollar);
        assert_eq!(s.jobs.cleanup.schedule, "0 4 * * 0");
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
        assert_eq!(s.jobs.warm_cache.schedule, "30 2 * * *");
        assert_eq!(s.jobs.warm_cache.limit, 5);
        assert_eq!(s.jobs.warm_cache.metric, Metric::CpuMark);
        assert_eq!(s.jobs.warm_cache.variants, "classic,minimal");
        assert_eq!(s.jobs.cleanup.schedule, "@daily");
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

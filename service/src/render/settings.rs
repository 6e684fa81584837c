//! The render area's settings: Chromium (`PLAYWRIGHT__*`), designs (`TEMPLATES__*`), listing
//! images (`IMAGES__*`) and the pipeline (`RENDER__*`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{Invalid, check};

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
    /// The variables the Playwright driver must inherit, given the environment's `NODE_OPTIONS`:
    /// `PLAYWRIGHT_NO_SIGNAL_HANDLER=1` (playwright-rs otherwise answers Ctrl-C with exit(130),
    /// skipping the graceful shutdown: in-flight requests, job leases, closing Chromium) and the
    /// driver's `NODE_OPTIONS` when there is something to add.
    pub fn driver_env(&self, node_options: Option<&str>) -> Vec<(&'static str, String)> {
        let mut vars = vec![("PLAYWRIGHT_NO_SIGNAL_HANDLER", "1".to_string())];
        if let Some(options) = self.driver_node_options_env(node_options) {
            vars.push(("NODE_OPTIONS", options));
        }
        vars
    }

    /// `NODE_OPTIONS` for the driver: `given` (the environment's) with
    /// `PLAYWRIGHT__DRIVER_NODE_OPTIONS` after it, so ours win where both set an option; `None`
    /// when there is nothing to add.
    pub(crate) fn driver_node_options_env(&self, given: Option<&str>) -> Option<String> {
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

/// WebAssembly card designs (`TEMPLATES__*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesignSettings {
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

impl Default for DesignSettings {
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

impl DesignSettings {
    pub(crate) fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(".cwasm"))
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
    pub(crate) fn allowed_hosts(&self) -> Vec<String> {
        self.allowed_hosts
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
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

impl PlaywrightSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            (1..=16).contains(&self.max_concurrent_browsers),
            "PLAYWRIGHT__MAX_CONCURRENT_BROWSERS",
            "a whole number from 1 to 16",
        )?;
        check(
            (1..=16).contains(&self.pages_per_browser),
            "PLAYWRIGHT__PAGES_PER_BROWSER",
            "a whole number from 1 to 16",
        )?;
        check(
            (100..=300_000).contains(&self.browser_timeout_ms),
            "PLAYWRIGHT__BROWSER_TIMEOUT_MS",
            "milliseconds from 100 to 300000",
        )?;
        check(
            self.launch_timeout_ms >= 1_000,
            "PLAYWRIGHT__LAUNCH_TIMEOUT_MS",
            "at least 1000 milliseconds",
        )?;
        if self.health_interval_ms > 0 {
            check(
                self.health_interval_ms >= 100,
                "PLAYWRIGHT__HEALTH_INTERVAL_MS",
                "0 (off) or at least 100 milliseconds",
            )?;
        }
        check(
            (50..=60_000).contains(&self.health_timeout_ms),
            "PLAYWRIGHT__HEALTH_TIMEOUT_MS",
            "milliseconds from 50 to 60000",
        )?;
        if self.recycle_above_mib > 0 {
            check(
                self.recycle_above_mib >= 128,
                "PLAYWRIGHT__RECYCLE_ABOVE_MIB",
                "0 (off) or at least 128",
            )?;
        }
        if self.enabled && !self.headless {
            tracing::warn!("PLAYWRIGHT__HEADLESS=false: Chromium needs a display");
        }
        Ok(())
    }
}

impl DesignSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            card_request::is_design_name(&self.default),
            "TEMPLATES__DEFAULT",
            "a design name like `classic`",
        )?;
        check(
            (1..=10_000).contains(&self.render_timeout_ms),
            "TEMPLATES__RENDER_TIMEOUT_MS",
            "milliseconds from 1 to 10000",
        )?;
        check(
            self.memory_limit_bytes >= 1 << 20,
            "TEMPLATES__MEMORY_LIMIT_BYTES",
            "at least 1048576",
        )?;
        check(
            self.max_html_bytes >= 1024,
            "TEMPLATES__MAX_HTML_BYTES",
            "at least 1024",
        )
    }
}

impl ImageSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(self.max_bytes >= 1024, "IMAGES__MAX_BYTES", "at least 1024")
    }
}

impl RenderSettings {
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        check(
            (1..=100).contains(&self.quality),
            "RENDER__QUALITY",
            "a whole number from 1 to 100",
        )?;
        check(self.queue_depth >= 1, "RENDER__QUEUE_DEPTH", "at least 1")
    }
}

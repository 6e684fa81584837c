//! Starting the card service in-process on `127.0.0.1:0` for end-to-end tests, with real Chromium and real designs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use card_service::procfs;
use card_service::settings::Settings;
use card_service::{AppState, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The repository root (the workspace of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The built designs, `card-templates/dist`; an error says how to build them.
pub fn dist_dir() -> anyhow::Result<PathBuf> {
    let dist = repo_root().join("card-templates/dist");
    if !dist.join("classic.wasm").is_file() {
        bail!(
            "{} has no classic.wasm: run `cargo xtask templates build` (`cargo xtask test` does it)",
            dist.display()
        );
    }
    Ok(dist)
}

/// A templates directory with `classic` and every test fixture (`fixture-trap`, `fixture-spin`, …),
/// made once per test binary. The fixtures pass the load-time smoke render and misbehave on real listings.
pub fn templates_with_fixtures() -> anyhow::Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let make = || -> anyhow::Result<PathBuf> {
            let dist = dist_dir()?;
            let dir =
                std::env::temp_dir().join(format!("card-e2e-templates-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            std::fs::copy(dist.join("classic.wasm"), dir.join("classic.wasm"))?;
            let fixtures = dist.join("fixtures");
            for entry in std::fs::read_dir(&fixtures).with_context(|| {
                format!("{}: run `cargo xtask templates build`", fixtures.display())
            })? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "wasm") {
                    std::fs::copy(&path, dir.join(path.file_name().unwrap_or_default()))?;
                }
            }
            Ok(dir)
        };
        make().map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

/// A private templates directory with every built design and fixture, for a test that changes it
/// (hot swap) or needs designs beyond `classic`. Unique per call.
pub fn fresh_templates_dir(tag: &str) -> anyhow::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dist = dist_dir()?;
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("card-e2e-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for source in [dist.clone(), dist.join("fixtures")] {
        for entry in std::fs::read_dir(&source)? {
            let path = entry?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "wasm") {
                std::fs::copy(&path, dir.join(path.file_name().unwrap_or_default()))?;
            }
        }
    }
    Ok(dir)
}

/// The same component with a custom section appended: identical behaviour, a different digest,
/// which is how a rebuilt design looks to the registry.
pub fn with_custom_section(component: &[u8], payload: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"card-e2e-version";
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name);
    body.extend_from_slice(payload.as_bytes());
    let mut out = component.to_vec();
    out.push(0); // custom section id
    leb(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// The admin bearer token of test instances that turn the admin endpoints on (`ADMIN__TOKEN`).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The Chromium the tests launch: `PLAYWRIGHT__EXECUTABLE_PATH` (set by `cargo xtask test`), else
/// Debian's.
pub fn chromium() -> String {
    std::env::var("PLAYWRIGHT__EXECUTABLE_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// What the instance at `base` lists on `GET /admin/templates` (asked with [`ADMIN_TOKEN`]).
pub async fn live_designs(base: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let response = http()
        .get(format!("{base}/admin/templates"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?;
    let status = response.status();
    let list: serde_json::Value = response.json().await?;
    if !status.is_success() {
        bail!("GET {base}/admin/templates: {status}: {list}");
    }
    list["templates"]
        .as_array()
        .cloned()
        .with_context(|| format!("no `templates` in {list}"))
}

/// The digest of `design` the instance at `base` serves (`None`: not live there).
pub async fn served_digest(base: &str, design: &str) -> anyhow::Result<Option<String>> {
    Ok(live_designs(base)
        .await?
        .iter()
        .find(|t| t["name"] == design)
        .and_then(|t| t["digest"].as_str().map(str::to_owned)))
}

/// A headless Chromium of the test's own (not the service's pool), for tests that use the
/// service's pages as a person would; close the browser and shut the driver down at the end.
pub async fn test_browser()
-> anyhow::Result<(playwright_rs::Playwright, playwright_rs::protocol::Browser)> {
    require_browser()?;
    let playwright = playwright_rs::Playwright::launch().await?;
    let browser = playwright
        .chromium()
        .launch_with_options(
            playwright_rs::api::LaunchOptions::new()
                .executable_path(chromium())
                .headless(true)
                .args(vec![
                    "--no-sandbox".into(),
                    "--disable-gpu".into(),
                    "--disable-background-networking".into(),
                ]),
        )
        .await?;
    Ok((playwright, browser))
}

/// Settings that point an instance at the S3 server at `endpoint` and its `bucket`, with the
/// emulators' conventional credentials.
pub fn s3_settings<'a>(endpoint: &'a str, bucket: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("S3__ENABLED", "true"),
        ("S3__ENDPOINT_URL", endpoint),
        ("AWS_S3_BUCKET_NAME", bucket),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]
}

/// Settings every test instance shares: a free port, the built designs, one small browser pool.
/// A fleet's instances take them too (the fleet sets its own bind, designs and S3 over them).
pub fn test_settings(templates: &Path) -> Vec<(String, String)> {
    vec![
        ("SERVER__BIND".into(), "127.0.0.1:0".into()),
        ("TEMPLATES__DIR".into(), templates.display().to_string()),
        (
            "TEMPLATES__CACHE_DIR".into(),
            std::env::temp_dir()
                .join("card-e2e-cwasm")
                .display()
                .to_string(),
        ),
        ("PLAYWRIGHT__EXECUTABLE_PATH".into(), chromium()),
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS".into(), "1".into()),
        ("PLAYWRIGHT__PAGES_PER_BROWSER".into(), "1".into()),
        ("PLAYWRIGHT__BROWSER_TIMEOUT_MS".into(), "20000".into()),
        ("SERVER__SHUTDOWN_GRACE_MS".into(), "2000".into()),
        // A test instance that lived across 03:00 UTC would otherwise warm 100 listings mid-test.
        ("JOBS__ENABLED".into(), "false".into()),
    ]
}

/// Sends the service's warnings and errors to the test's captured output (shown for failing
/// tests), without colour, so a failure's own message is not buried under per-request lines in a
/// CI log; `RUST_LOG` asks for more (`RUST_LOG=card_service=debug`).
pub fn init_logs() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false)
        .with_test_writer()
        .try_init();
}

/// Fails with the missing piece when Chromium or the Playwright driver is absent, instead of letting a test pass or hang.
pub fn require_browser() -> anyhow::Result<()> {
    init_logs();
    let chromium = chromium();
    if !Path::new(&chromium).exists() {
        bail!("Chromium is not installed at {chromium}: run `cargo xtask test`, which installs it");
    }
    match std::env::var("PLAYWRIGHT_CLI_JS") {
        Ok(cli) if Path::new(&cli).is_file() => Ok(()),
        _ => bail!(
            "PLAYWRIGHT_CLI_JS does not name the npm playwright-core driver: run the tests through `cargo xtask test`"
        ),
    }
}

/// A running service instance.
pub struct TestService {
    pub base: String,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestService {
    /// Starts an instance with the test defaults overlaid by `overrides` (`SECTION__KEY`, value) and waits until it serves.
    pub async fn start(overrides: &[(&str, &str)]) -> anyhow::Result<Self> {
        let templates = templates_with_fixtures()?;
        Self::start_with_templates(&templates, overrides).await
    }

    pub async fn start_with_templates(
        templates: &Path,
        overrides: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut pairs = test_settings(templates);
        for (k, v) in overrides {
            pairs.retain(|(key, _)| key != k);
            pairs.push((k.to_string(), v.to_string()));
        }
        let playwright_enabled = !pairs
            .iter()
            .any(|(k, v)| k == "PLAYWRIGHT__ENABLED" && v == "false");
        if playwright_enabled {
            require_browser()?;
        }
        let settings = Settings::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let server = Server::bind(settings).await?;
        let base = format!("http://{}", server.local_addr());
        let state = server.state().clone();
        state.warm_up().await;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The value of one series (`name` or `name{labels}`) in this instance's `/metrics` now.
    pub async fn metric(&self, series: &str) -> anyhow::Result<f64> {
        let text = http()
            .get(self.url("/metrics"))
            .send()
            .await?
            .text()
            .await?;
        metric_sample(&text, series).with_context(|| format!("no {series} in /metrics"))
    }

    /// The marker on this instance's Chromium command lines (to kill them in tests).
    pub fn chromium_tag(&self) -> Option<String> {
        self.state.browser().map(|b| b.process_tag())
    }

    /// Graceful shutdown: stop accepting, finish in-flight requests, close Chromium.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for TestService {
    fn drop(&mut self) {
        // A test that failed before `stop` still closes its browsers: the server task starts its
        // shutdown, but the test's runtime ends with the test, usually before that shutdown can
        // finish; so whatever the pool started is killed here too, synchronously.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            if let Some(pool) = self.state.browser() {
                pool.kill_tagged();
                for pid in pool.driver_pids() {
                    procfs::kill_tree(pid, "run-driver");
                }
            }
        }
    }
}

/// An HTTP client for tests: no redirects followed, no compression, short timeouts.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

/// A response header as text; empty when absent or not visible ASCII. `name` is a `&str` or a
/// `reqwest::header` constant.
pub fn header(response: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The value of the series `name{labels}` in a Prometheus text exposition.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

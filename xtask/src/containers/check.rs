//! The container and operations checks `cargo xtask test` runs (its `containers` step).
//!
//! - promtool: `check config`, `check rules`, `test rules` over ops/prometheus/ (Debian's
//!   `prometheus` package, installed when missing);
//! - the stack: images built, `compose up` to `/readyz`, a card served from the stack and its
//!   object found in LocalStack's bucket;
//! - a real Prometheus scraping the stack's service: its query API returns the series with the
//!   labels docs/operations.md promises;
//! - deploy/kubernetes/ validated against the Kubernetes schemas (`kubernetes-validate --strict`,
//!   PyPI, installed in a venv when missing);
//! - a crash: card-service SIGKILLed inside its container while fresh renders are in flight
//!   (`card_render_in_flight` above 0, at least one request cut), the restart policy brings it
//!   back to ready and the cut cards are served;
//! - a LocalStack that never becomes healthy (ops/compose/localstack-never-healthy.yml over the
//!   stack): the service still becomes ready, reports S3 `degraded` and serves a card.
//!
//! Each check that ran counts as passed or failed; when the runtime cannot run, the stack checks
//! are reported as skipped with the reason and count as neither.

use std::{
    fs,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::{
    runtime::{self, Runtime},
    stack::{self, LOCALSTACK_URL, SERVICE_URL},
};
use crate::{
    install,
    util::{self, find_in_path, project_root},
};

/// The bucket docker-compose.yml provisions by default.
const BUCKET: &str = "dealbrain-card-images";

/// Checks that ran: (name, outcome) in order.
#[derive(Debug, Default)]
pub struct Outcome {
    pub passed: u64,
    pub failed: u64,
    pub skipped: Vec<String>,
}

impl Outcome {
    fn record(&mut self, name: &str, result: Result<String>) {
        match result {
            Ok(detail) => {
                eprintln!("    ok: {name}: {detail}");
                self.passed += 1;
            }
            Err(err) => {
                eprintln!("    FAILED: {name}: {err:#}");
                self.failed += 1;
            }
        }
    }
}

/// PyPI's validator with the Kubernetes JSON schemas bundled (no cluster, no network at run time).
const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";

/// Runs every check; fails only when a check that ran failed.
pub async fn run() -> Result<Outcome> {
    let mut outcome = Outcome::default();
    promtool(&mut outcome)?;
    let result = kubernetes_manifests();
    outcome.record("deploy/kubernetes against the 1.37 schemas", result);
    let runtime = match runtime::setup() {
        Ok(runtime) => runtime,
        Err(err) => {
            let reason = format!("container checks skipped: {err}");
            eprintln!("    skipped: {reason}");
            outcome.skipped.push(reason);
            return Ok(outcome);
        }
    };
    eprintln!("    {}", runtime.summary());
    let result = stack_checks(&runtime, &mut outcome).await;
    // Whatever happened, leave nothing running.
    if let Err(err) = stack::down(&runtime) {
        eprintln!("    warning: `containers down` failed: {err:#}");
    }
    result?;
    if outcome.failed > 0 {
        bail!("{} container check(s) failed", outcome.failed);
    }
    Ok(outcome)
}

fn promtool(outcome: &mut Outcome) -> Result<()> {
    if find_in_path("promtool").is_none() {
        install::apt_install(&["prometheus"])?;
    }
    let dir = project_root().join("ops/prometheus");
    for args in [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let name = format!("promtool {}", args.join(" "));
        let result = util::read(Command::new("promtool").current_dir(&dir).args(args))
            .map(|out| out.lines().last().unwrap_or("").trim().to_string());
        outcome.record(&name, result);
    }
    Ok(())
}

/// `kubernetes-validate --strict` over deploy/kubernetes/*.yaml, from a venv in the tools dir.
fn kubernetes_manifests() -> Result<String> {
    let venv = crate::util::tools_dir().join("kubernetes-validate-venv");
    let tool = venv.join("bin/kubernetes-validate");
    if !tool.is_file() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        util::run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            KUBERNETES_VALIDATE,
        ]))?;
    }
    let dir = project_root().join("deploy/kubernetes");
    let mut files: Vec<_> = fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    ensure!(
        files.len() >= 5,
        "expected 5 manifests in {}",
        dir.display()
    );
    let out = Command::new(&tool).arg("--strict").args(&files).output()?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let passed = text
        .lines()
        .filter(|l| l.contains(" passed for resource "))
        .count();
    ensure!(
        out.status.success() && passed == files.len() && !text.contains("ERROR"),
        "{}",
        text.trim()
    );
    Ok(format!("{passed} manifests valid (strict)"))
}

async fn stack_checks(runtime: &Runtime, outcome: &mut Outcome) -> Result<()> {
    // The images of this checkout, not whatever an earlier run left: the host's release build and
    // podman's layer cache make a rebuild with nothing changed take seconds.
    let built = super::images::Build::default().run(runtime);
    outcome.record(
        "images built from this checkout",
        built.map(|images| {
            images
                .iter()
                .map(|i| format!("{} {:.0}s", i.image, i.seconds))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    if outcome.failed > 0 {
        return Ok(());
    }
    let ready = stack::up(runtime, Duration::from_secs(240)).await;
    let ready = match ready {
        Ok(ready) => ready,
        Err(err) => {
            outcome.record("compose stack up", Err(err));
            return Ok(());
        }
    };
    outcome.record(
        "compose stack up",
        Ok(format!(
            "/readyz 200 {:.1}s after `up`",
            ready.as_secs_f64()
        )),
    );
    outcome.record(
        "card served from the stack, stored in LocalStack",
        card_stored().await,
    );
    outcome.record("Prometheus scrapes the service", prometheus_scrape().await);
    outcome.record(
        "container killed mid-render restarts",
        killed_mid_render(runtime).await,
    );
    outcome.record(
        "LocalStack never healthy: serves with S3 degraded",
        localstack_never_healthy(runtime).await,
    );
    Ok(())
}

fn http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// A card through the stack's service; then LocalStack's bucket holds its object.
async fn card_stored() -> Result<String> {
    let response = http()?
        .get(format!("{SERVICE_URL}/api/og-image/dl-0001"))
        .send()
        .await?;
    ensure!(
        response.status() == 200,
        "GET /api/og-image/dl-0001: {}",
        response.status()
    );
    let cache = header(&response, "x-cache");
    let bytes = response.bytes().await?;
    ensure!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    let client = card_e2e::s3::client(LOCALSTACK_URL);
    // The PUT happens after the answer; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = client
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix("card-images/classic/dl-0001/")
            .send()
            .await
            .context("list LocalStack's bucket")?;
        if let Some(object) = listed.contents().first() {
            return Ok(format!(
                "{} bytes (X-Cache {cache}), stored as {}",
                bytes.len(),
                object.key().unwrap_or("?")
            ));
        }
        ensure!(
            Instant::now() < deadline,
            "no object under card-images/classic/dl-0001/ in {BUCKET} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

/// Kills on drop whatever Prometheus this check started.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ops/prometheus/prometheus.yml with a 1 s scrape interval, a real Prometheus on a free port,
/// and its query API asked for the series and labels docs/operations.md promises.
async fn prometheus_scrape() -> Result<String> {
    let scratch = std::env::temp_dir().join(format!("card-prometheus-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)?;
    let ops = project_root().join("ops/prometheus");
    let config = fs::read_to_string(ops.join("prometheus.yml"))?
        .replace("scrape_interval: 15s", "scrape_interval: 1s");
    fs::write(scratch.join("prometheus.yml"), config)?;
    fs::copy(ops.join("alerts.yml"), scratch.join("alerts.yml"))?;
    let port = card_e2e::s3::free_port()?;
    let log = fs::File::create(scratch.join("prometheus.log"))?;
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            scratch.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            scratch.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("start prometheus")?;
    let _guard = KillOnDrop(child);
    let api = format!("http://127.0.0.1:{port}/api/v1/query");
    // Traffic for the request and cache series (the card check made some; one more is cheap).
    let _ = http()?
        .get(format!("{SERVICE_URL}/api/og-image/dl-0001"))
        .send()
        .await;
    let wanted: &[(&str, &[&str])] = &[
        ("card_http_requests_total", &["route", "method", "status"]),
        (
            "card_http_request_duration_seconds_bucket",
            &["route", "le"],
        ),
        ("card_cache_requests_total", &["outcome"]),
        ("card_render_stage_seconds_bucket", &["stage", "le"]),
        ("card_s3_request_seconds_bucket", &["op", "le"]),
        ("card_s3_errors_total", &["op"]),
        ("card_job_runs_total", &["exported_job"]),
        ("card_browser_restarts_total", &[]),
        ("card_browser_memory_max_bytes", &[]),
        ("card_s3_breaker_open", &[]),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = http()?;
    let mut missing = Vec::new();
    while Instant::now() < deadline {
        missing.clear();
        for (metric, labels) in wanted {
            let body = match client.get(&api).query(&[("query", *metric)]).send().await {
                Ok(response) => response.json::<Value>().await.map_err(anyhow::Error::from),
                Err(err) => Err(err.into()),
            };
            let found = match body {
                Ok(body) => body["data"]["result"].as_array().is_some_and(|series| {
                    series.iter().any(|s| {
                        s["metric"]["job"] == "card-service"
                            && labels.iter().all(|l| s["metric"][*l].is_string())
                    })
                }),
                Err(_) => false,
            };
            if !found {
                missing.push(*metric);
            }
        }
        if missing.is_empty() {
            return Ok(format!(
                "{} series families with their labels via /api/v1/query",
                wanted.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = fs::read_to_string(scratch.join("prometheus.log")).unwrap_or_default();
    bail!(
        "after 60 s Prometheus has no {missing:?} with the promised labels; its log ends: {}",
        log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
    )
}

/// Cards nobody asked for yet (listings, designs and formats the other checks leave alone), so
/// every request renders, and more of them than the browsers take at once, so some queue.
fn fresh_cards() -> Vec<String> {
    let mut paths = Vec::new();
    for (i, listing) in (120..128).enumerate() {
        let design = ["minimal", "spotlight"][i % 2];
        for format in ["webp", "jpeg"] {
            paths.push(format!(
                "/api/og-image/dl-{listing:04}?variant={design}&format={format}"
            ));
        }
    }
    paths
}

/// `card_render_in_flight` (renders running or queued) from the service's /metrics.
async fn renders_in_flight(client: &reqwest::Client) -> Option<u64> {
    let text = client
        .get(format!("{SERVICE_URL}/metrics"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("card_render_in_flight "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// GET a card: its status and the whole body, or the error that cut it.
async fn fetch(client: reqwest::Client, path: String) -> Result<(u16, usize)> {
    let response = client.get(format!("{SERVICE_URL}{path}")).send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((status, bytes.len()))
}

/// Renders in flight, then card-service SIGKILLed inside its container (a crash, not a `stop`):
/// fewer requests may be served than renders were in flight at the kill, at least one must be
/// cut, the restart policy must bring the container back to ready, and the cut cards must then
/// be served.
async fn killed_mid_render(runtime: &Runtime) -> Result<String> {
    let name = stack::container(runtime, "card-service");
    let restarts = || -> Result<u64> {
        let out =
            util::read(
                runtime
                    .cli()
                    .args(["inspect", "--format", "{{.RestartCount}}", &name]),
            )?;
        Ok(out.trim().parse().unwrap_or(0))
    };
    let before = restarts()?;
    // The killer is a shell in the container, started first (an exec takes a second or more to
    // start here, long enough for every render to finish) and waiting for a line on its stdin.
    let mut killer = tokio::process::Command::from(runtime.cli())
        .args([
            "exec",
            "-i",
            &name,
            "sh",
            "-c",
            "echo armed; read go; for p in /proc/[0-9]*; do \
             [ \"$(cat $p/comm 2>/dev/null)\" = card-service ] && kill -9 ${p#/proc/}; done; true",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start the killer in the service's container")?;
    let (Some(mut trigger), Some(said)) = (killer.stdin.take(), killer.stdout.take()) else {
        bail!("the killer has no stdin or stdout");
    };
    let armed = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(said)).next_line(),
    )
    .await;
    ensure!(
        matches!(&armed, Ok(Ok(Some(line))) if line == "armed"),
        "the killer did not start in {name} within 30 s: {armed:?}"
    );
    let client = http()?;
    let paths = fresh_cards();
    let requests: Vec<_> = paths
        .iter()
        .map(|path| tokio::spawn(fetch(client.clone(), path.clone())))
        .collect();
    // Bounded: the service must report renders running or queued (at least 4, more than the
    // browsers take at once) before the kill.
    let deadline = Instant::now() + Duration::from_secs(20);
    let in_flight = loop {
        match renders_in_flight(&client).await {
            Some(n) if n >= 4 => break n,
            _ => {}
        }
        ensure!(
            Instant::now() < deadline,
            "fewer than 4 renders in flight within 20 s of {} requests",
            paths.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed = Instant::now();
    tokio::io::AsyncWriteExt::write_all(&mut trigger, b"go\n").await?;
    drop(trigger);
    // The exec itself may die with the container (exit 137): the restart below is the proof.
    let _ = tokio::time::timeout(Duration::from_secs(30), killer.wait()).await;
    let (mut served, mut other) = (0, Vec::new());
    let mut cut = Vec::new();
    for (path, request) in paths.iter().zip(requests) {
        match request.await? {
            Ok((200, _)) => served += 1,
            Ok((status, _)) => other.push(status),
            Err(_) => cut.push(path.clone()),
        }
    }
    // More renders in flight at the kill than requests served in all: one of them never finished.
    ensure!(
        !cut.is_empty() && served < in_flight,
        "{} cut, {served} served, other answers {other:?}: the kill came after the renders it was \
         meant to cut ({in_flight} in flight when it was sent)",
        cut.len()
    );
    let deadline = killed + Duration::from_secs(120);
    let after = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let after = restarts().unwrap_or(before);
        let ready = client
            .get(format!("{SERVICE_URL}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if after > before && ready {
            break after;
        }
        ensure!(
            Instant::now() < deadline,
            "not restarted and ready within 120 s of the kill (restarts {before} → {after})"
        );
    };
    let back = killed.elapsed();
    // The cards the crash cut, asked again (at most 4, together): each one renders and is served.
    let again: Vec<_> = cut
        .iter()
        .take(4)
        .map(|path| tokio::spawn(fetch(client.clone(), path.clone())))
        .collect();
    for (path, request) in cut.iter().zip(again) {
        let (status, bytes) = request.await??;
        ensure!(
            status == 200 && bytes > 0,
            "{path} after the restart: {status}"
        );
    }
    Ok(format!(
        "{in_flight} renders in flight at the kill; {} of {} requests cut, {served} served, \
         other answers {other:?}; restarted ({before} → {after}) and ready {:.1}s after the kill; {} cut cards served after",
        cut.len(),
        paths.len(),
        back.as_secs_f64(),
        cut.len().min(4)
    ))
}

/// The override that keeps LocalStack from ever becoming healthy.
const NEVER_HEALTHY: &str = "ops/compose/localstack-never-healthy.yml";

/// The stack again with [`NEVER_HEALTHY`] over it: LocalStack's container runs, its process never
/// does, its health check fails. The service must still become ready, report S3 `degraded`, and
/// serve a card.
async fn localstack_never_healthy(runtime: &Runtime) -> Result<String> {
    stack::down(runtime)?;
    let ready = stack::up_with(runtime, &[NEVER_HEALTHY], Duration::from_secs(180), false).await?;
    let health = localstack_health(runtime)?;
    ensure!(health != "healthy", "LocalStack's health check passed");
    let readyz: Value = http()?
        .get(format!("{SERVICE_URL}/readyz"))
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        readyz["s3"]["status"] == "degraded",
        "readyz with LocalStack down: {readyz}"
    );
    let card = http()?
        .get(format!("{SERVICE_URL}/api/og-image/dl-0003"))
        .send()
        .await?;
    ensure!(card.status() == 200, "GET a card: {}", card.status());
    let cache = header(&card, "x-cache");
    let bytes = card.bytes().await?;
    ensure!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    Ok(format!(
        "LocalStack {health}; /readyz 200 {:.1}s after `up`, s3 {}; a card served ({} bytes, \
         X-Cache {cache})",
        ready.as_secs_f64(),
        readyz["s3"],
        bytes.len()
    ))
}

/// LocalStack's health as its own health check says: podman runs it on demand (it has no
/// systemd timers here to run it on its own); Docker's daemon has run it.
fn localstack_health(runtime: &Runtime) -> Result<String> {
    let name = stack::container(runtime, "localstack");
    match runtime.engine {
        runtime::Engine::Podman { .. } => {
            let out = runtime.cli().args(["healthcheck", "run", &name]).output()?;
            let said = String::from_utf8_lossy(&out.stdout).trim().to_string()
                + String::from_utf8_lossy(&out.stderr).trim();
            Ok(if out.status.success() {
                "healthy".to_string()
            } else if said.is_empty() {
                format!("unhealthy ({})", out.status)
            } else {
                said
            })
        }
        runtime::Engine::Docker => Ok(util::read(runtime.cli().args([
            "inspect",
            "--format",
            "{{.State.Health.Status}}",
            &name,
        ]))?
        .trim()
        .to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `card_*` name the service writes in /metrics, read from the two files that write them.
    fn exported() -> BTreeSet<String> {
        let root = project_root();
        let mut names = BTreeSet::new();
        for file in ["service/src/telemetry.rs", "service/src/routes/metrics.rs"] {
            let text = fs::read_to_string(root.join(file)).unwrap();
            names.extend(metric_names(&text));
        }
        names
    }

    /// `card_…` identifiers in a text; a histogram's `_bucket`/`_sum`/`_count` series count as it.
    fn metric_names(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("card_") {
            let preceded = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            if !preceded {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                names.insert(base.to_string());
            }
            rest = &tail[end..];
        }
        names
    }

    #[test]
    fn every_dashboard_and_alert_query_names_an_exported_metric() {
        let exported = exported();
        assert!(
            exported.contains("card_http_requests_total"),
            "{exported:?}"
        );
        let root = project_root();
        let dashboard: Value = serde_json::from_str(
            &fs::read_to_string(root.join("ops/grafana/card-service.json")).unwrap(),
        )
        .unwrap();
        let mut queries = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                let used = metric_names(expr);
                assert!(!used.is_empty(), "{expr} names no card_ metric");
                for name in used {
                    assert!(
                        exported.contains(&name),
                        "dashboard: {name} is not exported ({expr})"
                    );
                }
                queries += 1;
            }
        }
        assert!(queries >= 8, "{queries} queries");
        let alerts = fs::read_to_string(root.join("ops/prometheus/alerts.yml")).unwrap();
        let expressions: String = alerts
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        for name in metric_names(&expressions) {
            assert!(
                exported.contains(&name),
                "alerts.yml: {name} is not exported"
            );
        }
    }

    /// The fault override changes only LocalStack, a service docker-compose.yml has, so that its
    /// process never runs and its health check gives up soon.
    #[test]
    fn the_never_healthy_override_only_breaks_localstack() {
        use yaml_rust2::YamlLoader;
        let root = project_root();
        let load = |file: &str| {
            YamlLoader::load_from_str(&fs::read_to_string(root.join(file)).unwrap())
                .unwrap()
                .remove(0)
        };
        let (base, fault) = (load("docker-compose.yml"), load(NEVER_HEALTHY));
        let services = fault["services"].as_hash().unwrap();
        assert_eq!(services.len(), 1, "{services:?}");
        let localstack = &fault["services"]["localstack"];
        assert!(!base["services"]["localstack"].is_badvalue());
        assert_eq!(localstack["command"][0].as_str(), Some("sleep"));
        let retries = localstack["healthcheck"]["retries"].as_i64().unwrap();
        assert!(
            retries
                < base["services"]["localstack"]["healthcheck"]["retries"]
                    .as_i64()
                    .unwrap()
        );
    }

    #[test]
    fn histogram_series_and_prefixes_are_read_as_metric_names() {
        let names = metric_names("rate(card_x_bucket[5m]) + my_card_y + card_z_total{a=\"b\"}");
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["card_x", "card_z_total"]
        );
    }
}

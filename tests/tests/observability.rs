//! What operators see, over real HTTP: `/metrics` counters and histograms with bounded labels,
//! JSON log lines with the request span's fields, `X-Request-Id`, and `Server-Timing` per stage.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, ensure};
use card_e2e::s3::S3Server;
use card_e2e::service::{TestService, header, http, metric_sample as sample, s3_settings};
use card_service::StageTimings;
use card_service::settings::Settings;
use serde_json::Value;

/// Where this binary's logs go: JSON lines in memory, installed before any service starts (the
/// harness's own text subscriber then stays out, as only the first global subscriber counts).
fn logs() -> anyhow::Result<Arc<Mutex<Vec<u8>>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = LOGS
        .get_or_init(|| Arc::new(Mutex::new(Vec::new())))
        .clone();
    let settings = Settings::from_pairs([("LOG__FORMAT", "json"), ("LOG__LEVEL", "info")])?;
    let sink = buffer.clone();
    card_service::init_logging_with_writer(&settings.log, None, move || SharedWriter(sink.clone()));
    Ok(buffer)
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_logs_and_headers_describe_each_request() -> anyhow::Result<()> {
    let logs = logs()?;
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-observability";
    s3.create_bucket(bucket).await?;
    let svc = TestService::start(&s3_settings(s3.endpoint(), bucket)).await?;

    // A miss (rendered, stored in S3), then a memory hit, then errors of three kinds.
    let first = http()
        .get(svc.url("/api/og-image/dl-0001"))
        .header("x-request-id", "obs-test-miss")
        .send()
        .await?;
    ensure!(first.status() == 200, "{}", first.status());
    ensure!(header(&first, "x-cache") == "miss");
    ensure!(
        header(&first, "x-request-id") == "obs-test-miss",
        "request id not echoed"
    );
    // Server-Timing names every stage of the render, plus the total.
    let timing = header(&first, "server-timing");
    for (stage, _) in StageTimings::default().stages() {
        ensure!(
            timing.contains(&format!("{stage};dur=")),
            "Server-Timing lacks {stage}: {timing}"
        );
    }
    ensure!(timing.contains("total;dur="), "{timing}");
    let second = http().get(svc.url("/api/og-image/dl-0001")).send().await?;
    ensure!(header(&second, "x-cache") == "hit-memory");
    let generated = header(&second, "x-request-id");
    ensure!(
        generated.len() == 16 && generated.chars().all(|c| c.is_ascii_hexdigit()),
        "{generated}"
    );
    for (path, status) in [
        ("/api/og-image/no-such-listing", 404),
        ("/api/og-image/%FF", 400),
        ("/no/such/route/dl-0001", 404),
    ] {
        let response = http().get(svc.url(path)).send().await?;
        ensure!(response.status() == status, "{path}: {}", response.status());
        ensure!(
            !header(&response, "x-request-id").is_empty(),
            "{path}: no request id"
        );
    }

    let text = http().get(svc.url("/metrics")).send().await?.text().await?;
    let route = "route=\"/api/og-image/{listing_id}\"";
    for (series, at_least) in [
        (
            format!("card_http_requests_total{{{route},method=\"GET\",status=\"200\"}}"),
            2.0,
        ),
        (
            format!("card_http_requests_total{{{route},method=\"GET\",status=\"404\"}}"),
            1.0,
        ),
        (
            format!("card_http_requests_total{{{route},method=\"GET\",status=\"400\"}}"),
            1.0,
        ),
        (
            "card_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}".into(),
            1.0,
        ),
        (
            format!("card_http_request_duration_seconds_count{{{route}}}"),
            4.0,
        ),
        ("card_cache_requests_total{outcome=\"miss\"}".into(), 1.0),
        (
            "card_cache_requests_total{outcome=\"hit-memory\"}".into(),
            1.0,
        ),
        ("card_s3_request_seconds_count{op=\"get\"}".into(), 1.0),
        ("card_s3_request_seconds_count{op=\"put\"}".into(), 1.0),
    ] {
        let value = sample(&text, &series).with_context(|| format!("no {series} in:\n{text}"))?;
        ensure!(
            value >= at_least,
            "{series} = {value}, expected at least {at_least}"
        );
    }
    // Every render stage has a histogram with cumulative buckets ending in +Inf = count.
    for (stage, _) in StageTimings::default().stages() {
        let count = sample(
            &text,
            &format!("card_render_stage_seconds_count{{stage=\"{stage}\"}}"),
        )
        .with_context(|| format!("no histogram for stage {stage}"))?;
        let inf = sample(
            &text,
            &format!("card_render_stage_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}}"),
        )
        .with_context(|| format!("no +Inf bucket for stage {stage}"))?;
        ensure!(
            count >= 1.0 && inf == count,
            "{stage}: count {count}, +Inf {inf}"
        );
    }
    ensure!(text.contains("# TYPE card_render_stage_seconds histogram"));
    // Labels are route templates, never raw paths or ids.
    ensure!(
        !text.contains("dl-0001") && !text.contains("no-such-listing"),
        "raw path in labels"
    );
    // The gauges the service had before are still there.
    for name in [
        "card_render_in_flight",
        "card_browser_pool_pages",
        "card_browser_pages_busy",
        "card_browser_check_pages_busy",
        "card_browser_restarts_total",
        "card_job_runs_total",
    ] {
        ensure!(text.contains(&format!("# TYPE {name} ")), "no {name}");
    }

    // The JSON log line of the miss carries the request span's fields.
    let captured =
        String::from_utf8_lossy(&logs.lock().unwrap_or_else(|p| p.into_inner())).to_string();
    let line = captured
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "request" && v["span"]["request_id"] == "obs-test-miss")
        .with_context(|| {
            format!(
                "no `request` line for obs-test-miss in:\n{}",
                &captured[..captured.len().min(4000)]
            )
        })?;
    let span = &line["span"];
    ensure!(span["name"] == "http.request", "{line}");
    ensure!(span["method"] == "GET", "{line}");
    ensure!(span["route"] == "/api/og-image/{listing_id}", "{line}");
    ensure!(span["listing"] == "dl-0001", "{line}");
    ensure!(span["variant"] == "classic", "{line}");
    ensure!(span["cache"] == "miss", "{line}");
    ensure!(line["status"] == 200, "{line}");
    ensure!(line["elapsed_ms"].as_f64().is_some(), "{line}");
    ensure!(
        line["level"] == "INFO" && line["timestamp"].is_string(),
        "{line}"
    );
    // An invalid id is not logged as sent.
    ensure!(
        captured
            .lines()
            .any(|l| l.contains("\"listing\":\"(invalid)\"")),
        "the %FF request's listing field"
    );
    svc.stop().await
}

//! What operators see: logs with `tracing` (text, or JSON lines when `LOG__FORMAT=json`), one span
//! per request, the `X-Request-Id` header, and the process's Prometheus metrics registry.
//!
//! The registry is process-wide, like the `prometheus` crate's default one: the render pipeline,
//! the cache tiers and the HTTP layer record into it without threading a handle through every
//! constructor. `GET /metrics` (`routes/metrics.rs`) writes it out with the per-instance gauges.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{MatchedPath, RawPathParams, Request};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::render::StageTimings;
use serde::{Deserialize, Serialize};

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

/// Installs the global subscriber, writing to stdout; `RUST_LOG`, when set, overrides `LOG__LEVEL`.
/// Safe to call twice (the second call is a no-op).
pub fn init(settings: &LogSettings, rust_log: Option<&str>) {
    init_with_writer(settings, rust_log, std::io::stdout);
}

/// [`init`] with another destination (tests read the JSON lines back).
pub fn init_with_writer<W>(settings: &LogSettings, rust_log: Option<&str>, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(rust_log.unwrap_or(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

// ---------------------------------------------------------------------------------------------
// HTTP: one span per request, the request id, request and cache counters.

/// The header that carries the request id, echoed when the client (or a proxy) sent a sane one.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// The matched route template, handed from [`mark_route`] (inside routing) to [`observe`] (outside).
#[derive(Clone)]
struct RouteLabel(String);

/// Outermost middleware: the `http.request` span (method, route, listing, variant, cache, status,
/// request id), `X-Request-Id` on the response, a `request` log line, and the request counters.
pub(crate) async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let method = method_label(request.method());
    let span = tracing::info_span!(
        "http.request",
        method,
        route = Empty,
        listing = Empty,
        variant = Empty,
        cache = Empty,
        status = Empty,
        request_id = %id,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |r| r.0.as_str())
        .to_string();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (variant, cache) = (header("x-card-variant"), header("x-cache"));
    span.record("status", status);
    if let Some(variant) = &variant {
        span.record("variant", variant.as_str());
    }
    if let Some(cache) = &cache {
        span.record("cache", cache.as_str());
        metrics().count_cache(cache);
    }
    metrics().count_request(&route, method, status, elapsed);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    response
}

/// Route-level middleware: names the matched route template (not the raw path, whose values are
/// unbounded) and the listing id on the request span.
pub(crate) async fn mark_route(
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let span = tracing::Span::current();
    span.record("route", route.as_str());
    if route.contains("{listing_id}") {
        let id = params.as_ref().ok().and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "listing_id")
                .map(|(_, id)| id)
        });
        // Only a valid id is logged as is: anything else could be log injection or megabytes
        // (and a segment that is not UTF-8 once decoded has no text at all).
        let shown = id
            .filter(|id| card_request::is_valid_id(id))
            .unwrap_or("(invalid)");
        span.record("listing", shown);
    }
    let mut response = next.run(request).await;
    response.extensions_mut().insert(RouteLabel(route));
    response
}

/// The client's `X-Request-Id` when it is 1–128 visible ASCII characters, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    if let Some(given) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
        && (1..=128).contains(&given.len())
        && given.bytes().all(|b| b.is_ascii_graphic())
    {
        return given.to_string();
    }
    static SEED: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(std::process::id()));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", (*SEED ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Methods as metric labels: the standard ones by name, anything a client invents as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics.

/// The process's metrics registry.
pub(crate) fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);
    &METRICS
}

/// Upper bounds (seconds) of the latency histograms' buckets: 1 ms to 30 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A Prometheus histogram with the fixed [`BUCKETS`].
#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations per bucket (not cumulative; the `+Inf` bucket last).
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i] += 1;
        self.sum += secs;
    }

    /// The `_bucket`, `_sum` and `_count` lines; `labels` is `name="value",…` or empty.
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count;
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Counters and histograms the request path records into. Label values are bounded sets: route
/// templates, methods, statuses, cache outcomes, stage and S3 operation names.
#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    request_seconds: Mutex<BTreeMap<String, Histogram>>,
    cache: Mutex<BTreeMap<String, u64>>,
    stages: Mutex<BTreeMap<&'static str, Histogram>>,
    s3: Mutex<BTreeMap<&'static str, Histogram>>,
}

/// A poisoned lock only means another thread panicked mid-update; the counts are still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    fn count_request(&self, route: &str, method: &'static str, status: u16, elapsed: Duration) {
        *lock(&self.requests)
            .entry((route.to_string(), method, status))
            .or_default() += 1;
        lock(&self.request_seconds)
            .entry(route.to_string())
            .or_default()
            .observe(elapsed);
    }

    /// An image response's `X-Cache` (`hit-memory`, `hit-s3`, `miss`, `fallback`).
    fn count_cache(&self, outcome: &str) {
        // Only the documented outcomes become labels, whatever a handler might put in the header.
        let outcome = match outcome {
            "hit-memory" | "hit-s3" | "miss" | "fallback" => outcome,
            _ => "other",
        };
        *lock(&self.cache).entry(outcome.to_string()).or_default() += 1;
    }

    /// One render's step timings: every stage [`StageTimings::stages`] lists.
    pub(crate) fn observe_render(&self, timings: &StageTimings) {
        let mut stages = lock(&self.stages);
        for (stage, elapsed) in timings.stages() {
            stages.entry(stage).or_default().observe(elapsed);
        }
    }

    /// One S3 call of the request path (`get`, `put`, `head`), successful or not.
    pub(crate) fn observe_s3(&self, op: &'static str, elapsed: Duration) {
        lock(&self.s3).entry(op).or_default().observe(elapsed);
    }

    /// The Prometheus text of everything recorded so far.
    pub(crate) fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP card_http_requests_total HTTP requests by route template, method and status.\n# TYPE card_http_requests_total counter"
        );
        for ((route, method, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "card_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        write_histograms(
            out,
            "card_http_request_duration_seconds",
            "Time from request to response headers, by route template.",
            "route",
            lock(&self.request_seconds).iter(),
        );
        let _ = writeln!(
            out,
            "# HELP card_cache_requests_total Image responses by cache outcome (X-Cache).\n# TYPE card_cache_requests_total counter"
        );
        for (outcome, n) in lock(&self.cache).iter() {
            let _ = writeln!(
                out,
                "card_cache_requests_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        write_histograms(
            out,
            "card_render_stage_seconds",
            "Time per render step (admit wait excluded), by stage.",
            "stage",
            lock(&self.stages).iter(),
        );
        write_histograms(
            out,
            "card_s3_request_seconds",
            "S3 calls of the request path (timeouts and errors included), by operation.",
            "op",
            lock(&self.s3).iter(),
        );
    }
}

fn write_histograms<'a, K: AsRef<str> + 'a>(
    out: &mut String,
    name: &str,
    help: &str,
    key: &str,
    series: impl Iterator<Item = (&'a K, &'a Histogram)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (value, histogram) in series {
        histogram.write(out, name, &format!("{key}=\"{}\"", label(value.as_ref())));
    }
}

/// Label values escaped as the exposition format asks.
pub(crate) fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let mut h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(40));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.write(&mut out, "x_seconds", "stage=\"capture\"");
        assert!(
            out.contains("x_seconds_bucket{stage=\"capture\",le=\"0.001\"} 0\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{stage=\"capture\",le=\"0.005\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{stage=\"capture\",le=\"0.05\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{stage=\"capture\",le=\"30\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_bucket{stage=\"capture\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_seconds_count{stage=\"capture\"} 3\n"),
            "{out}"
        );
    }

    #[test]
    fn every_stage_of_a_render_gets_a_histogram() {
        let m = Metrics::default();
        m.observe_render(&StageTimings::default());
        let mut out = String::new();
        m.write(&mut out);
        for (stage, _) in StageTimings::default().stages() {
            assert!(
                out.contains(&format!(
                    "card_render_stage_seconds_count{{stage=\"{stage}\"}} 1"
                )),
                "{stage}: {out}"
            );
        }
    }

    #[test]
    fn request_ids_are_echoed_when_sane_and_made_otherwise() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        let made = request_id(&h);
        assert_eq!(made.len(), 16);
        assert_ne!(request_id(&HeaderMap::new()), made);
    }

    #[test]
    fn cache_outcomes_are_a_closed_set() {
        let m = Metrics::default();
        m.count_cache("miss");
        m.count_cache("<script>");
        let mut out = String::new();
        m.write(&mut out);
        assert!(out.contains("card_cache_requests_total{outcome=\"miss\"} 1"));
        assert!(out.contains("card_cache_requests_total{outcome=\"other\"} 1"));
        assert!(!out.contains("script"));
    }
}

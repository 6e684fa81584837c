//! The load generator: a minimal keep-alive HTTP/1.1 client and fixed-concurrency phases.
//!
//! Hand-rolled on a `TcpStream` instead of a general client because the memory-tier case must push
//! tens of thousands of requests a second from the same two cores the service runs on: a request
//! here is one `write` and a few `read`s into a reused buffer, the body is counted, not kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response as the bench needs it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub x_cache: Option<String>,
    pub bytes: usize,
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(addr: &str) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            buf: vec![0; 256 * 1024],
        })
    }

    /// `method path` with optional extra header lines (each ending in `\r\n`).
    pub async fn request(&mut self, method: &str, path: &str, extra: &str) -> Result<Reply> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n{extra}\r\n",
            self.host
        );
        self.stream.write_all(head.as_bytes()).await?;
        // Read until the end of the headers.
        let mut filled = 0;
        let header_end = loop {
            if filled == self.buf.len() {
                bail!("response headers larger than {} bytes", self.buf.len());
            }
            let n = self.stream.read(&mut self.buf[filled..]).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            filled += n;
            if let Some(end) = find(&self.buf[..filled], b"\r\n\r\n") {
                break end + 4;
            }
        };
        let head = std::str::from_utf8(&self.buf[..header_end]).context("non-UTF-8 headers")?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .context("no status line")?;
        let mut length = None;
        let mut x_cache = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("x-cache") {
                x_cache = Some(value.to_string());
            }
        }
        let length = match (length, method) {
            (_, "HEAD") => 0,
            (Some(length), _) => length,
            (None, _) if status == 204 || status == 304 => 0,
            (None, _) => bail!("HTTP {status} without Content-Length"),
        };
        let mut remaining = length.saturating_sub(filled - header_end);
        while remaining > 0 {
            let want = remaining.min(self.buf.len());
            let n = self.stream.read(&mut self.buf[..want]).await?;
            if n == 0 {
                bail!("the server closed the connection mid-body");
            }
            remaining -= n;
        }
        Ok(Reply {
            status,
            x_cache,
            bytes: length,
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The path of the `i`th request of a phase; `None` ends the phase.
pub type Paths = Arc<dyn Fn(u64) -> Option<String> + Send + Sync>;
/// What every reply of a phase must satisfy.
pub type Check = Arc<dyn Fn(&Reply) -> Result<()> + Send + Sync>;

/// When a phase stops: after a time, or after a number of requests, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub duration: Duration,
    pub requests: u64,
}

/// What a phase measured.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Latencies in microseconds of the requests that succeeded, sorted.
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
    pub bytes: u64,
    /// Requests that failed (an error, or a reply the check refused), and the first reason.
    pub failures: usize,
    pub first_failure: Option<String>,
}

impl Sample {
    pub fn count(&self) -> usize {
        self.latencies.len()
    }

    pub fn throughput(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`th percentile (0–100) in milliseconds, nearest rank.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p) as f64 / 1000.0
    }

    /// Fails when more than 1 % of the requests failed; a few are reported as a warning.
    pub fn tolerable(&self, what: &str) -> Result<()> {
        if self.failures == 0 {
            return Ok(());
        }
        let total = self.failures + self.count();
        let first = self.first_failure.as_deref().unwrap_or("?");
        if self.failures * 100 > total {
            bail!(
                "{what}: {} of {total} requests failed; the first: {first}",
                self.failures
            );
        }
        eprintln!(
            "    warning: {} of {total} requests failed (the first: {first}); figures count the others",
            self.failures
        );
        Ok(())
    }

    pub fn mean_bytes(&self) -> u64 {
        self.bytes / self.count().max(1) as u64
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `concurrency` connections against `addr`, each sending `GET path(i)` for the next `i`
/// until the budget is spent; a reply must pass `check` to count. Failures are counted, not fatal
/// (an overloaded shared machine can miss a deadline); [`Sample::tolerable`] judges them.
pub async fn phase(
    addr: &str,
    concurrency: usize,
    budget: Budget,
    path: Paths,
    check: Check,
) -> Result<Sample> {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + budget.duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (addr, next, path, check) =
            (addr.to_string(), next.clone(), path.clone(), check.clone());
        workers.spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut done = Worker::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= budget.requests || Instant::now() >= until {
                    break;
                }
                let Some(path) = path(i) else { break };
                let sent = Instant::now();
                let reply = match conn.request("GET", &path, "").await {
                    Ok(reply) => reply,
                    Err(e) => {
                        done.fail(format!("GET {path}: {e:#}"));
                        // The connection is in an unknown state: start a new one.
                        conn = Conn::open(&addr).await?;
                        continue;
                    }
                };
                let took = sent.elapsed();
                if let Err(e) = check(&reply) {
                    done.fail(format!("GET {path}: {e:#}"));
                    continue;
                }
                done.latencies
                    .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                done.bytes += reply.bytes as u64;
            }
            anyhow::Ok(done)
        });
    }
    let mut sample = Sample::default();
    while let Some(done) = workers.join_next().await {
        let done = done.context("a load worker panicked")??;
        sample.latencies.extend(done.latencies);
        sample.bytes += done.bytes;
        sample.failures += done.failures;
        if sample.first_failure.is_none() {
            sample.first_failure = done.first_failure;
        }
    }
    sample.elapsed = started.elapsed();
    sample.latencies.sort_unstable();
    if sample.latencies.is_empty() {
        bail!(
            "no request succeeded; the first failure: {}",
            sample.first_failure.as_deref().unwrap_or("none")
        );
    }
    Ok(sample)
}

/// What one connection of a phase did.
#[derive(Default)]
struct Worker {
    latencies: Vec<u32>,
    bytes: u64,
    failures: usize,
    first_failure: Option<String>,
}

impl Worker {
    fn fail(&mut self, reason: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(reason);
    }
}

/// A reply check: this status, and (when given) this `X-Cache`.
pub fn expect(status: u16, x_cache: Option<&'static str>) -> Check {
    Arc::new(move |reply: &Reply| {
        if reply.status != status {
            bail!("HTTP {} (expected {status})", reply.status);
        }
        if let Some(want) = x_cache
            && reply.x_cache.as_deref() != Some(want)
        {
            bail!(
                "X-Cache {} (expected {want})",
                reply.x_cache.as_deref().unwrap_or("absent")
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 95.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[tokio::test]
    async fn the_client_reads_bodies_across_reads_and_keeps_the_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let body = vec![b'x'; 300_000];
            for _ in 0..2 {
                let mut request = [0; 1024];
                let _ = socket.read(&mut request).await.unwrap();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nX-Cache: miss\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(&body).await.unwrap();
            }
        });
        let mut conn = Conn::open(&addr).await.unwrap();
        for _ in 0..2 {
            let reply = conn.request("GET", "/x", "").await.unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.bytes, 300_000);
            assert_eq!(reply.x_cache.as_deref(), Some("miss"));
        }
        server.await.unwrap();
    }
}

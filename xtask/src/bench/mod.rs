//! `cargo xtask bench`: the service's figures, measured end to end, beside the seed's design.
//!
//! Starts a local S3 server (the harness's: moto on a free port, gone when the bench ends) and
//! the release `card-service` as separate processes with a fresh bucket, so cold renders are
//! really cold, and drives them over loopback HTTP with keep-alive from this process:
//!
//! | case              | instance                               | load                                        |
//! | ----------------- | -------------------------------------- | ------------------------------------------- |
//! | `cold-png/jpeg/webp` | A: full service                     | latency at concurrency 1, then throughput at 2 × pages, every request a new listing |
//! | `hit-memory`      | A                                      | 32 connections on cards A holds in memory  |
//! | `hit-s3`          | B: memory tier off, no browser         | concurrency 1 on cards A stored in S3       |
//! | `warm-cache-1000` | C: fresh bucket                        | `POST /admin/jobs/warm-cache?limit=1000`    |
//! | `upload-under-load` | D: fresh bucket, control plane       | cold renders at c4 without, then with dry-run uploads back to back (`upload.rs`) |
//! | `seed-baseline`   | none: playwright-rs in this process    | 2 browsers, a new page and a Playwright PNG screenshot per card |
//!
//! Memory is the peak PSS (and RSS) of the instance's whole process tree (service, Node driver,
//! Chromium) from `/proc/*/smaps_rollup`, sampled once a second during the case and at its end. The figures go to
//! the terminal as one table and to `<target dir>/bench/report.json`.

mod load;
mod process;
mod seed;
mod upload;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use card_service::settings::Settings;
use card_service::{DesignRegistry, ImageFetcher, Listing, StaticListings, card_input};
use serde::Serialize;

use self::load::{Budget, Sample, expect};
use self::process::{Memory, Sampler, Service};
use crate::{checks, install, templates, test_playwright, util};

/// Listings in the generated data set: the warm-cache case renders them all.
const LISTINGS: usize = 1000;
/// Pages of the instance under test (the defaults: 2 browsers × 2 pages).
const PAGES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Case {
    ColdPng,
    ColdJpeg,
    ColdWebp,
    HitMemory,
    HitS3,
    #[value(name = "warm-cache-1000")]
    WarmCache1000,
    UploadUnderLoad,
    SeedBaseline,
}

impl Case {
    const ALL: [Case; 8] = [
        Case::ColdPng,
        Case::ColdJpeg,
        Case::ColdWebp,
        Case::HitMemory,
        Case::HitS3,
        Case::WarmCache1000,
        Case::UploadUnderLoad,
        Case::SeedBaseline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Case::ColdPng => "cold-png",
            Case::ColdJpeg => "cold-jpeg",
            Case::ColdWebp => "cold-webp",
            Case::HitMemory => "hit-memory",
            Case::HitS3 => "hit-s3",
            Case::WarmCache1000 => "warm-cache-1000",
            Case::UploadUnderLoad => "upload-under-load",
            Case::SeedBaseline => "seed-baseline",
        }
    }

    fn format(self) -> &'static str {
        match self {
            Case::ColdJpeg => "jpeg",
            Case::ColdWebp => "webp",
            _ => "png",
        }
    }

    /// Cases that render cards, compared with the baseline.
    fn renders(self) -> bool {
        matches!(
            self,
            Case::ColdPng | Case::ColdJpeg | Case::ColdWebp | Case::WarmCache1000
        )
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, clap::Args)]
pub struct Bench {
    /// Cases to run, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub cases: Vec<Case>,
    /// Seconds of load per measured phase.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// A few requests per case (checks the bench itself; the figures mean little).
    #[arg(long)]
    pub quick: bool,
    /// Benchmark the debug build instead of the release build (quicker to build; slow figures).
    #[arg(long, conflicts_with = "binary")]
    pub debug: bool,
    /// Benchmark this `card-service` binary instead of building one (to compare two builds).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// A setting for the instances under test, as `SECTION__KEY=VALUE` (repeatable), to measure a
    /// lever: `--set PLAYWRIGHT__MAX_CONCURRENT_BROWSERS=1 --set PLAYWRIGHT__PAGES_PER_BROWSER=4`.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
    /// Write the report here [default: <cargo target dir>/bench/report.json].
    #[arg(long)]
    pub report: Option<PathBuf>,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && key == key.to_ascii_uppercase() => {
            Ok((key.to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}`: expected SECTION__KEY=VALUE")),
    }
}

/// One row of the report; the field names are the contract of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub bytes: u64,
    pub pss_mib: f64,
    #[serde(skip)]
    rss_mib: f64,
    #[serde(skip)]
    load: String,
    /// Figures a case has beyond the columns (`upload-under-load`: the phase without uploads,
    /// the pool's use, the uploads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
struct Report {
    cases: Vec<Row>,
}

/// How much load a phase gets.
#[derive(Debug, Clone, Copy)]
struct Plan {
    duration: Duration,
    quick: bool,
}

impl Plan {
    fn budget(&self, quick_requests: u64) -> Budget {
        if self.quick {
            Budget {
                duration: Duration::from_secs(20),
                requests: quick_requests,
            }
        } else {
            Budget {
                duration: self.duration,
                requests: u64::MAX,
            }
        }
    }
}

impl Bench {
    pub async fn run(self) -> Result<()> {
        let started = Instant::now();
        if !(self.duration.is_finite() && self.duration >= 1.0) {
            bail!("--duration {}: expected seconds, at least 1", self.duration);
        }
        let mut cases = if self.cases.is_empty() {
            Case::ALL.to_vec()
        } else {
            self.cases.clone()
        };
        cases.sort();
        cases.dedup();
        let plan = Plan {
            duration: Duration::from_secs_f64(self.duration),
            quick: self.quick,
        };

        // Prerequisites, each installed when missing.
        let root = util::project_root();
        let browser = install::browser()?;
        test_playwright::use_driver(&browser.node, &browser.cli_js);
        let dist = root.join("card-templates/dist");
        let mut settings = Settings::default();
        settings.templates.dir = dist.clone();
        if checks::templates(&settings.templates).is_failure() {
            templates::build()?;
        }
        let metadata = util::cargo_metadata(&root.join("Cargo.toml"))?;
        let out_dir = metadata.target_directory.join("bench");
        let work = out_dir.join(format!("run-{}", std::process::id()));
        std::fs::create_dir_all(&work)
            .with_context(|| format!("could not create {}", work.display()))?;
        let listings_file = work.join("listings-1000.json");
        let listings = write_listings(&listings_file)?;

        let needs_service = cases.iter().any(|c| *c != Case::SeedBaseline);
        let binary = match (&self.binary, needs_service) {
            (_, false) => None,
            (Some(binary), true) if binary.is_file() => Some(std::path::absolute(binary)?),
            (Some(binary), true) => bail!("--binary {}: no such file", binary.display()),
            (None, true) => Some(util::build_service(!self.debug)?),
        };
        if let Some(binary) = &binary {
            eprintln!("    service binary: {}", binary.display());
        }
        let s3 = if needs_service {
            util::step("starting a local S3 server");
            if util::env_nonempty("S3_ENDPOINT").is_none() {
                install::moto()?;
            }
            let s3 = card_e2e::S3Server::start()
                .await
                .context("the local S3 server did not start (fix: `cargo xtask doctor`)")?;
            eprintln!("    {} ({:?})", s3.endpoint(), s3.backend());
            Some(s3)
        } else {
            None
        };

        let mut rows: Vec<Row> = Vec::new();
        let mut startups: Vec<(String, Duration)> = Vec::new();
        if let (Some(binary), Some(s3)) = (&binary, &s3) {
            let common = Common {
                binary,
                work: &work,
                browser: &browser,
                dist: &dist,
                listings_file: &listings_file,
                endpoint: s3.endpoint(),
                overrides: &self.settings,
            };
            let bucket = format!("bench-{}-{}", std::process::id(), unix_secs());
            s3.create_bucket(&bucket).await?;
            let service_cases: Vec<Case> = cases
                .iter()
                .copied()
                .filter(|c| {
                    !matches!(
                        c,
                        Case::WarmCache1000 | Case::UploadUnderLoad | Case::SeedBaseline
                    )
                })
                .collect();
            if !service_cases.is_empty() {
                run_request_cases(
                    &common,
                    &bucket,
                    &listings,
                    &service_cases,
                    plan,
                    &mut rows,
                    &mut startups,
                )
                .await?;
            }
            if cases.contains(&Case::WarmCache1000) {
                let bucket = format!("{bucket}-warm");
                s3.create_bucket(&bucket).await?;
                let (row, ready_in) = warm_cache(&common, &bucket, plan).await?;
                startups.push(("warm-cache instance".into(), ready_in));
                rows.push(row);
            }
            if cases.contains(&Case::UploadUnderLoad) {
                let bucket = format!("{bucket}-upload");
                s3.create_bucket(&bucket).await?;
                let ids = Arc::new(listings.iter().map(|l| l.id.clone()).collect());
                let (row, ready_in) = upload::run(&common, &bucket, ids, plan).await?;
                startups.push(("upload-under-load instance".into(), ready_in));
                rows.push(row);
            }
        }
        if cases.contains(&Case::SeedBaseline) {
            rows.push(seed_baseline(&browser, &dist, &listings, plan).await?);
        }
        drop(s3);

        print_table(&rows, &startups);
        let report_path = match &self.report {
            Some(path) => std::path::absolute(path)?,
            None => out_dir.join("report.json"),
        };
        if let Some(dir) = report_path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        let report = Report { cases: rows };
        std::fs::write(&report_path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("could not write {}", report_path.display()))?;
        let _ = std::fs::remove_dir_all(&work);
        let headline = headline(&report.cases);
        println!(
            "bench: {} case(s) in {}{}; report {}",
            report.cases.len(),
            util::human_duration(started.elapsed()),
            headline,
            report_path.display()
        );
        Ok(())
    }
}

/// What every instance shares.
struct Common<'a> {
    binary: &'a Path,
    work: &'a Path,
    browser: &'a install::BrowserEnv,
    dist: &'a Path,
    listings_file: &'a Path,
    endpoint: &'a str,
    /// `--set` settings, applied last.
    overrides: &'a [(String, String)],
}

impl Common<'_> {
    /// The environment of an instance on `bucket`, with `extra` on top.
    fn env(&self, bucket: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .browser
            .vars()
            .iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect();
        let cwasm = self.work.parent().unwrap_or(self.work).join("cwasm");
        let pairs = [
            ("TEMPLATES__DIR", self.dist.display().to_string()),
            // Kept across runs: start-up is measured with compiled templates cached.
            ("TEMPLATES__CACHE_DIR", cwasm.display().to_string()),
            ("LISTINGS__SOURCE", self.listings_file.display().to_string()),
            ("S3__ENABLED", "true".into()),
            ("S3__ENDPOINT_URL", self.endpoint.to_string()),
            ("AWS_S3_BUCKET_NAME", bucket.to_string()),
            ("AWS_REGION", card_e2e::s3::REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("JOBS__ENABLED", "false".into()),
            ("RUST_LOG", "warn".into()),
        ];
        env.extend(pairs.into_iter().map(|(k, v)| (k.to_string(), v)));
        let extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        for (k, v) in self.overrides.iter().cloned().chain(extra) {
            env.retain(|(key, _)| *key != k);
            env.push((k, v));
        }
        env
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `LISTINGS` listings made from the sample data (each with a price and a CPU Mark, so the
/// warm-cache ranking keeps them all), ids `bench-0001`….
fn write_listings(path: &Path) -> Result<Vec<Listing>> {
    let sample = StaticListings::embedded();
    let ranked: Vec<&Listing> = sample
        .all()
        .iter()
        .map(AsRef::as_ref)
        .filter(|l| l.cpu_mark_per_dollar().is_some())
        .collect();
    anyhow::ensure!(!ranked.is_empty(), "the sample data has no ranked listing");
    let listings: Vec<Listing> = (0..LISTINGS)
        .map(|i| {
            let mut listing = ranked[i % ranked.len()].clone();
            listing.id = format!("bench-{:04}", i + 1);
            listing
        })
        .collect();
    let json = serde_json::json!({ "listings": listings });
    std::fs::write(path, serde_json::to_vec(&json)?)
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(listings)
}

/// Instance A for the cold and memory cases, B for the S3 case.
async fn run_request_cases(
    common: &Common<'_>,
    bucket: &str,
    listings: &[Listing],
    cases: &[Case],
    plan: Plan,
    rows: &mut Vec<Row>,
    startups: &mut Vec<(String, Duration)>,
) -> Result<()> {
    util::step("starting card-service A (memory tier, S3, 2 browsers × 2 pages)");
    let a = Service::start(
        common.binary,
        common.work,
        "service-a",
        &common.env(bucket, &[]),
    )
    .await?;
    eprintln!("    ready in {} ms at {}", a.ready_in.as_millis(), a.addr);
    startups.push(("instance A".into(), a.ready_in));
    let ids: Arc<Vec<String>> = Arc::new(listings.iter().map(|l| l.id.clone()).collect());
    // Ids of PNGs A has rendered (in its memory tier and in S3), for the hit cases.
    let mut rendered_png: Vec<String> = Vec::new();
    let result = async {
        for &case in cases.iter().filter(|c| c.renders()) {
            let (row, used) = cold(&a, case, ids.clone(), plan).await?;
            if case == Case::ColdPng {
                rendered_png = ids[..used].to_vec();
            }
            rows.push(row);
        }
        let wants_hits = cases
            .iter()
            .any(|c| matches!(c, Case::HitMemory | Case::HitS3));
        if wants_hits && rendered_png.is_empty() {
            eprintln!("    rendering 16 PNGs for the hit cases");
            let first: Vec<String> = ids[..16].to_vec();
            let paths = Arc::new(first.clone());
            load::phase(
                &a.addr,
                PAGES,
                Budget {
                    duration: Duration::from_secs(120),
                    requests: first.len() as u64,
                },
                Arc::new(move |i| paths.get(i as usize).map(|id| image_path(id, "png"))),
                expect(200, None),
            )
            .await
            .context("priming the hit cases")?;
            rendered_png = first;
        }
        let hot: Arc<Vec<String>> = Arc::new(rendered_png.iter().take(32).cloned().collect());
        if cases.contains(&Case::HitMemory) {
            rows.push(hit_memory(&a, hot.clone(), plan).await?);
        }
        if cases.contains(&Case::HitS3) {
            util::step("starting card-service B (memory tier off, no browser: every hit reads S3)");
            let b = Service::start(
                common.binary,
                common.work,
                "service-b",
                &common.env(
                    bucket,
                    &[
                        ("CACHE__MEMORY_MAX_BYTES", "0"),
                        ("PLAYWRIGHT__ENABLED", "false"),
                    ],
                ),
            )
            .await?;
            let row = hit_s3(&b, hot.clone(), plan).await;
            b.stop().await;
            rows.push(row?);
        }
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        eprintln!("    card-service A's log: {}", a.log.display());
    }
    a.stop().await;
    result
}

fn image_path(id: &str, format: &str) -> String {
    format!("/api/og-image/{id}?format={format}")
}

/// Cold renders: every request a listing this format has not rendered. Latency at concurrency 1,
/// then throughput at twice the pages (the encode of one card overlaps the next capture).
async fn cold(
    service: &Service,
    case: Case,
    ids: Arc<Vec<String>>,
    plan: Plan,
) -> Result<(Row, usize)> {
    let format = case.format();
    let offset = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let path = |ids: Arc<Vec<String>>, offset: Arc<std::sync::atomic::AtomicUsize>| {
        Arc::new(move |i: u64| {
            let at = offset.load(std::sync::atomic::Ordering::Relaxed) + i as usize;
            ids.get(at).map(|id| image_path(id, format))
        }) as load::Paths
    };
    let check = expect(200, Some("miss"));

    util::step(format_args!("{case}: latency, concurrency 1"));
    let mut budget = plan.budget(3);
    budget.duration /= 2;
    let latency = load::phase(
        &service.addr,
        1,
        budget,
        path(ids.clone(), offset.clone()),
        check.clone(),
    )
    .await
    .with_context(|| format!("{case}, concurrency 1"))?;
    latency.tolerable(&format!("{case}, concurrency 1"))?;
    offset.fetch_add(
        latency.count() + latency.failures,
        std::sync::atomic::Ordering::Relaxed,
    );
    progress(&latency);

    let concurrency = 2 * PAGES;
    util::step(format_args!(
        "{case}: throughput, concurrency {concurrency}"
    ));
    let sampler = Sampler::start(vec![service.pid()]);
    let throughput = load::phase(
        &service.addr,
        concurrency,
        plan.budget(2 * concurrency as u64),
        path(ids.clone(), offset.clone()),
        check,
    )
    .await
    .with_context(|| format!("{case}, concurrency {concurrency}"))?;
    throughput.tolerable(&format!("{case}, concurrency {concurrency}"))?;
    let memory = sampler.finish().await;
    let used = offset.load(std::sync::atomic::Ordering::Relaxed)
        + throughput.count()
        + throughput.failures;
    progress(&throughput);
    if used >= ids.len() {
        eprintln!(
            "    note: all {} listings were used; a shorter --duration keeps every request cold",
            ids.len()
        );
    }
    let row = row(
        case,
        &latency,
        throughput.throughput(),
        throughput.mean_bytes(),
        memory,
        format!("c1 latency, c{concurrency} throughput"),
    );
    Ok((row, used.min(ids.len())))
}

async fn hit_memory(service: &Service, hot: Arc<Vec<String>>, plan: Plan) -> Result<Row> {
    let concurrency = 32;
    util::step(format_args!("hit-memory: {concurrency} connections"));
    let sampler = Sampler::start(vec![service.pid()]);
    let sample = load::phase(
        &service.addr,
        concurrency,
        plan.budget(200),
        Arc::new(move |i| Some(image_path(&hot[i as usize % hot.len()], "png"))),
        expect(200, Some("hit-memory")),
    )
    .await
    .context("hit-memory")?;
    sample.tolerable("hit-memory")?;
    let memory = sampler.finish().await;
    progress(&sample);
    Ok(row(
        Case::HitMemory,
        &sample,
        sample.throughput(),
        sample.mean_bytes(),
        memory,
        format!("c{concurrency}"),
    ))
}

async fn hit_s3(service: &Service, hot: Arc<Vec<String>>, plan: Plan) -> Result<Row> {
    util::step("hit-s3: concurrency 1");
    let sampler = Sampler::start(vec![service.pid()]);
    let sample = load::phase(
        &service.addr,
        1,
        plan.budget(20),
        Arc::new(move |i| Some(image_path(&hot[i as usize % hot.len()], "png"))),
        expect(200, Some("hit-s3")),
    )
    .await
    .with_context(|| format!("hit-s3 (its log: {})", service.log.display()))?;
    sample.tolerable("hit-s3")?;
    let memory = sampler.finish().await;
    progress(&sample);
    Ok(row(
        Case::HitS3,
        &sample,
        sample.throughput(),
        sample.mean_bytes(),
        memory,
        "c1".into(),
    ))
}

/// The warm-cache job on a fresh instance and bucket. Its latency columns are the times at which
/// 50, 95 and 99 % of the cards were warm (a job has no per-request latency).
async fn warm_cache(common: &Common<'_>, bucket: &str, plan: Plan) -> Result<(Row, Duration)> {
    let limit = if plan.quick { 8 } else { LISTINGS };
    let token = format!("bench-{}", unix_secs());
    util::step("starting card-service C (fresh bucket) for warm-cache-1000");
    let c = Service::start(
        common.binary,
        common.work,
        "service-c",
        &common.env(bucket, &[("ADMIN__TOKEN", &token)]),
    )
    .await?;
    eprintln!("    ready in {} ms", c.ready_in.as_millis());
    let ready_in = c.ready_in;
    let result = run_warm_cache(&c, &token, limit).await;
    if result.is_err() {
        eprintln!("    card-service C's log: {}", c.log.display());
    }
    c.stop().await;
    Ok((result?, ready_in))
}

async fn run_warm_cache(service: &Service, token: &str, limit: usize) -> Result<Row> {
    util::step(format_args!(
        "warm-cache-1000: POST /admin/jobs/warm-cache?limit={limit}&variants=default"
    ));
    let http = reqwest::Client::new();
    let base = format!("http://{}", service.addr);
    let sampler = Sampler::start(vec![service.pid()]);
    let started = Instant::now();
    let response = http
        .post(format!(
            "{base}/admin/jobs/warm-cache?limit={limit}&variants=default"
        ))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.as_u16() != 202 {
        bail!("the warm-cache job did not start: HTTP {status} {body}");
    }
    let id = body["run"]["id"]
        .as_str()
        .context("the job's reply names no run id")?
        .to_string();
    // When each share of the items was done, sampled every 50 ms.
    let mut reached: Vec<(usize, Duration)> = Vec::new();
    let mut last_print = Instant::now();
    let run = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let run: serde_json::Value = http
            .get(format!("{base}/admin/jobs/{id}"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        let run = run["run"].clone();
        let done = run["progress"]["done"].as_u64().unwrap_or(0) as usize;
        if reached.last().is_none_or(|(d, _)| *d < done) {
            reached.push((done, started.elapsed()));
        }
        if last_print.elapsed() > Duration::from_secs(2) {
            last_print = Instant::now();
            eprintln!(
                "    {done}/{} cards, {:.1}/s",
                run["progress"]["total"].as_u64().unwrap_or(0),
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
        if !run["finished_at"].is_null() {
            break run;
        }
    };
    let elapsed = started.elapsed();
    let memory = sampler.finish().await;
    let report = &run["report"];
    let rendered = report["rendered"].as_u64().unwrap_or(0);
    let failed = report["failed"].as_u64().unwrap_or(0);
    let items = report["items"].as_u64().unwrap_or(rendered) as usize;
    if rendered == 0 || failed * 100 > items as u64 {
        bail!(
            "warm-cache rendered {rendered} card(s), {failed} failed: {}",
            report["failures"]
        );
    }
    if failed > 0 {
        eprintln!(
            "    warning: {failed} of {items} cards failed ({}); figures count the others",
            report["failures"]
        );
    }
    let at = |share: f64| {
        let want = (share * items as f64).ceil() as usize;
        reached
            .iter()
            .find(|(done, _)| *done >= want)
            .map_or(elapsed, |(_, t)| *t)
            .as_secs_f64()
            * 1000.0
    };
    let bytes = head_bytes(&http, &base, "bench-0001").await.unwrap_or(0);
    eprintln!(
        "    {rendered} rendered in {}",
        util::human_duration(elapsed)
    );
    Ok(Row {
        name: Case::WarmCache1000.name().into(),
        throughput_per_s: rendered as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        bytes,
        pss_mib: memory.pss_mib(),
        rss_mib: memory.rss_mib(),
        load: format!("{items} cards; p = time to x % warm"),
        detail: None,
    })
}

/// The size of one warmed card (a memory-tier hit now).
async fn head_bytes(http: &reqwest::Client, base: &str, id: &str) -> Result<u64> {
    let response = http
        .get(format!("{base}{}", image_path(id, "png")))
        .send()
        .await?;
    Ok(response.bytes().await?.len() as u64)
}

/// The seed's design on the classic HTML of the same listings, images inlined as the service does.
async fn seed_baseline(
    browser: &install::BrowserEnv,
    dist: &Path,
    listings: &[Listing],
    plan: Plan,
) -> Result<Row> {
    util::step("seed-baseline: rendering the classic HTML of 16 listings");
    let mut settings = Settings::default();
    settings.templates.dir = dist.to_path_buf();
    settings.templates.cache_dir = None;
    let registry = DesignRegistry::new(settings.templates.clone())
        .map_err(|e| anyhow::anyhow!("the template engine does not start: {e}"))?;
    let path = dist.join("classic.wasm");
    let design = registry
        .load_file("classic", &path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let images = ImageFetcher::new(settings.images.clone());
    let mut cards = Vec::new();
    for listing in listings.iter().take(16) {
        let image = match listing.image_url.as_deref() {
            Some(url) => images.data_uri(url).await.ok(),
            None => None,
        };
        let input = card_input(listing, image, &settings.render.brand);
        cards.push(
            registry
                .render(&design, &input)
                .map_err(|e| anyhow::anyhow!("classic failed on {}: {e}", listing.id))?,
        );
    }
    util::step("seed-baseline: 2 browsers, a new page and a Playwright PNG screenshot per card");
    let chromium = browser.chromium.display().to_string();
    let (sample, memory) = seed::run(&chromium, Arc::new(cards), plan.budget(4)).await?;
    progress(&sample);
    Ok(row(
        Case::SeedBaseline,
        &sample,
        sample.throughput(),
        sample.mean_bytes(),
        memory,
        "c2 (one card per browser)".into(),
    ))
}

fn row(
    case: Case,
    latency: &Sample,
    throughput: f64,
    bytes: u64,
    memory: Memory,
    load: String,
) -> Row {
    Row {
        name: case.name().into(),
        throughput_per_s: throughput,
        p50_ms: latency.percentile_ms(50.0),
        p95_ms: latency.percentile_ms(95.0),
        p99_ms: latency.percentile_ms(99.0),
        bytes,
        pss_mib: memory.pss_mib(),
        rss_mib: memory.rss_mib(),
        load,
        detail: None,
    }
}

fn progress(sample: &Sample) {
    if sample.failures > 0 {
        eprintln!("    {} failed", sample.failures);
    }
    eprintln!(
        "    {} requests in {}: {:.1}/s, p50 {:.1} ms, p99 {:.1} ms, {} a response",
        sample.count(),
        util::human_duration(sample.elapsed),
        sample.throughput(),
        sample.percentile_ms(50.0),
        sample.percentile_ms(99.0),
        util::human_size(sample.mean_bytes())
    );
}

fn print_table(rows: &[Row], startups: &[(String, Duration)]) {
    let seed = rows.iter().find(|r| r.name == Case::SeedBaseline.name());
    println!();
    println!(
        "{:<18} {:>10} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>9} {:>9}  load",
        "case",
        "per s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "bytes",
        "PSS MiB",
        "RSS MiB",
        "×seed/s",
        "÷seed p50"
    );
    for r in rows {
        let renders = Case::ALL.iter().any(|c| c.name() == r.name && c.renders());
        let (thr, p50) = match seed {
            Some(s) if renders && s.throughput_per_s > 0.0 && r.p50_ms > 0.0 => (
                format!("{:.1}×", r.throughput_per_s / s.throughput_per_s),
                if r.name == Case::WarmCache1000.name() {
                    "-".to_string()
                } else {
                    format!("{:.1}×", s.p50_ms / r.p50_ms)
                },
            ),
            _ => ("-".into(), "-".into()),
        };
        println!(
            "{:<18} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>10} {:>8.0} {:>8.0} {:>9} {:>9}  {}",
            r.name,
            r.throughput_per_s,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.bytes,
            r.pss_mib,
            r.rss_mib,
            thr,
            p50,
            r.load
        );
    }
    for (what, took) in startups {
        println!("start-up to /readyz 200, {what}: {} ms", took.as_millis());
    }
    println!();
}

/// The headline of the one-line result: cold PNG against the seed, when both ran.
fn headline(rows: &[Row]) -> String {
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    match (find("cold-png"), find("seed-baseline")) {
        (Some(png), Some(seed)) if seed.throughput_per_s > 0.0 => format!(
            " (cold PNG {:.1} cards/s, {:.1}× the seed's {:.1})",
            png.throughput_per_s,
            png.throughput_per_s / seed.throughput_per_s,
            seed.throughput_per_s
        ),
        (Some(png), _) => format!(" (cold PNG {:.1} cards/s)", png.throughput_per_s),
        _ => String::new(),
    }
}

//! The whole request path over real HTTP: listing → design → Chromium → image → S3 → response.
//!
//! Each test starts its own service instance on 127.0.0.1:0 with real Chromium, and where S3 is
//! involved, a real S3 server from the harness (moto, LocalStack, or `S3_ENDPOINT`).

use std::time::Duration;

use anyhow::{Context, ensure};
use card_e2e::s3::S3Server;
use card_e2e::service::{TestService, header, http, s3_settings};
use image::{GenericImageView, ImageFormat as Decoded, Rgba};
use reqwest::StatusCode;
use serde_json::Value;

const BUCKET: &str = "dealbrain-card-images";

async fn get(url: &str) -> anyhow::Result<reqwest::Response> {
    http()
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))
}

/// The error body's `code`, checking the body is the documented JSON shape.
async fn error_code(response: reqwest::Response) -> anyhow::Result<(StatusCode, String)> {
    let status = response.status();
    let body: Value = response.json().await.context("error body is JSON")?;
    ensure!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message in {body}"
    );
    Ok((
        status,
        body["code"].as_str().unwrap_or_default().to_string(),
    ))
}

fn close(a: Rgba<u8>, b: [u8; 3], tolerance: i32) -> bool {
    (0..3).all(|i| (i32::from(a[i]) - i32::from(b[i])).abs() <= tolerance)
}

/// Checks a decoded card shows the `classic` design: its documented brand column and a dark, non-uniform body.
fn assert_shows_classic(bytes: &[u8], format: Decoded, tolerance: i32) -> anyhow::Result<()> {
    let img = image::load_from_memory_with_format(bytes, format).context("decodes")?;
    ensure!(
        img.dimensions() == (1200, 630),
        "dimensions {:?}",
        img.dimensions()
    );
    // card-templates/README.md: the left 16 px column is solid brand orange over the full height.
    for y in [5, 315, 625] {
        let p = img.get_pixel(6, y);
        ensure!(
            close(p, card_e2e::CLASSIC_BRAND_BAR, tolerance),
            "brand column at y={y} is {p:?}"
        );
    }
    // The body is the dark theme and the card has real content (many distinct colours).
    let body = img.get_pixel(40, 600);
    ensure!(
        body[0] < 60 && body[1] < 60 && body[2] < 80,
        "background at (40,600) is {body:?}"
    );
    let mut colours = std::collections::HashSet::new();
    for y in (0..630).step_by(7) {
        for x in (0..1200).step_by(7) {
            let p = img.get_pixel(x, y);
            colours.insert([p[0] / 8, p[1] / 8, p[2] / 8]);
        }
    }
    ensure!(
        colours.len() > 40,
        "only {} colour buckets: the card looks blank",
        colours.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_renders_in_every_format_and_is_cached_in_s3() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-formats";
    s3.create_bucket(bucket).await?;
    let a = TestService::start(&s3_settings(s3.endpoint(), bucket)).await?;

    // PNG, the default: a miss, a real card, stored under the documented key with its headers.
    let response = get(&a.url("/api/og-image/dl-0001")).await?;
    ensure!(
        response.status() == StatusCode::OK,
        "status {}",
        response.status()
    );
    ensure!(header(&response, "content-type") == "image/png");
    ensure!(
        header(&response, "x-cache") == "miss",
        "x-cache {}",
        header(&response, "x-cache")
    );
    ensure!(
        header(&response, "x-card-template") == "classic@1.1.0",
        "{}",
        header(&response, "x-card-template")
    );
    ensure!(header(&response, "x-card-variant") == "classic");
    ensure!(
        header(&response, "cache-control").starts_with("public, max-age="),
        "{}",
        header(&response, "cache-control")
    );
    let timing = header(&response, "server-timing");
    ensure!(
        ["wasm", "page", "capture", "encode"]
            .iter()
            .all(|stage| timing.contains(&format!("{stage};dur="))),
        "server-timing {timing}"
    );
    let etag = header(&response, "etag");
    ensure!(etag.len() == 26 && etag.starts_with('"'), "etag {etag}");
    let png = response.bytes().await?;
    assert_shows_classic(&png, Decoded::Png, 0)?;

    let key = format!("card-images/classic/dl-0001/{}.png", etag.trim_matches('"'));
    let object = s3
        .client()
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .with_context(|| format!("object {key}"))?;
    ensure!(
        object.content_type() == Some("image/png"),
        "stored content type {:?}",
        object.content_type()
    );
    ensure!(
        object
            .cache_control()
            .is_some_and(|c| c.starts_with("public, max-age=")),
        "{:?}",
        object.cache_control()
    );
    let stored = object.body.collect().await?.into_bytes();
    ensure!(stored == png, "stored bytes differ from served bytes");

    // JPEG and WebP decode and show the same design (lossy: allow a tolerance).
    for (format, decoded, content_type) in [
        ("jpeg", Decoded::Jpeg, "image/jpeg"),
        ("webp", Decoded::WebP, "image/webp"),
    ] {
        let response = get(&a.url(&format!("/api/og-image/dl-0001?format={format}"))).await?;
        ensure!(
            response.status() == StatusCode::OK,
            "{format}: {}",
            response.status()
        );
        ensure!(header(&response, "content-type") == content_type);
        ensure!(
            header(&response, "etag") != etag,
            "{format} must have its own ETag"
        );
        let bytes = response.bytes().await?;
        assert_shows_classic(&bytes, decoded, 24).with_context(|| format!("{format} card"))?;
    }
    a.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_come_from_memory_then_s3_with_identical_bytes_and_conditional_requests_work()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    s3.create_bucket(BUCKET).await?;
    let a = TestService::start(&s3_settings(s3.endpoint(), BUCKET)).await?;
    let url = a.url("/api/og-image/dl-0002");
    let first = get(&url).await?;
    ensure!(header(&first, "x-cache") == "miss");
    let etag = header(&first, "etag");
    let first = first.bytes().await?;

    let again = get(&url).await?;
    ensure!(
        header(&again, "x-cache") == "hit-memory",
        "x-cache {}",
        header(&again, "x-cache")
    );
    ensure!(again.bytes().await? == first);

    // A second instance sharing the bucket (scale-out) reads the object from S3: same bytes, same ETag.
    let b = TestService::start(&s3_settings(s3.endpoint(), BUCKET)).await?;
    let from_s3 = get(&b.url("/api/og-image/dl-0002")).await?;
    ensure!(
        header(&from_s3, "x-cache") == "hit-s3",
        "x-cache {}",
        header(&from_s3, "x-cache")
    );
    ensure!(header(&from_s3, "etag") == etag);
    ensure!(from_s3.bytes().await? == first, "S3 bytes differ");

    // If-None-Match with the ETag (and in a list, and weak) → 304 with no body.
    for value in [
        etag.clone(),
        format!("\"nope\", {etag}"),
        format!("W/{etag}"),
    ] {
        let response = http()
            .get(&url)
            .header("if-none-match", &value)
            .send()
            .await?;
        ensure!(
            response.status() == StatusCode::NOT_MODIFIED,
            "{value}: {}",
            response.status()
        );
        ensure!(header(&response, "etag") == etag);
        ensure!(response.bytes().await?.is_empty());
    }
    let other = http()
        .get(&url)
        .header("if-none-match", "\"something-else\"")
        .send()
        .await?;
    ensure!(other.status() == StatusCode::OK);

    // HEAD: the same headers, no body.
    let head = http().head(&url).send().await?;
    ensure!(head.status() == StatusCode::OK);
    ensure!(header(&head, "etag") == etag);
    ensure!(header(&head, "content-type") == "image/png");
    ensure!(
        header(&head, "content-length") == first.len().to_string(),
        "content-length {}",
        header(&head, "content-length")
    );
    ensure!(head.bytes().await?.is_empty());
    b.stop().await?;
    a.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_listing_gets_a_new_etag_and_key_and_the_old_object_stays() -> anyhow::Result<()>
{
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-changes";
    s3.create_bucket(bucket).await?;
    let dir = tempdir("changes")?;
    let file = dir.join("listings.json");
    let mut listing = serde_json::json!({
        "id": "dl-change", "title": "Lenovo ThinkCentre M75q Gen 2, Ryzen 5 PRO 4650GE", "price_usd": 199.0,
        "cpu_name": "AMD Ryzen 5 PRO 4650GE", "cpu_mark": 16000, "ram_gb": 16, "storage_gb": 256,
        "storage_type": "NVMe SSD", "condition": "refurbished", "seller": "eBay", "image_url": null
    });
    write_listings(&file, &listing, 0)?;
    let source = file.display().to_string();
    let mut settings = s3_settings(s3.endpoint(), bucket);
    settings.push(("LISTINGS__SOURCE", &source));
    let a = TestService::start(&settings).await?;
    let url = a.url("/api/og-image/dl-change");

    let before = get(&url).await?;
    ensure!(before.status() == StatusCode::OK);
    let old_etag = header(&before, "etag");

    listing["price_usd"] = serde_json::json!(149.0);
    write_listings(&file, &listing, 60)?;
    let after = get(&url).await?;
    ensure!(after.status() == StatusCode::OK);
    ensure!(
        header(&after, "x-cache") == "miss",
        "a changed listing must render anew"
    );
    let new_etag = header(&after, "etag");
    ensure!(new_etag != old_etag, "ETag did not change");

    let keys = s3.keys(bucket, "card-images/classic/dl-change/").await?;
    let old_key = format!(
        "card-images/classic/dl-change/{}.png",
        old_etag.trim_matches('"')
    );
    let new_key = format!(
        "card-images/classic/dl-change/{}.png",
        new_etag.trim_matches('"')
    );
    ensure!(
        keys.contains(&old_key) && keys.contains(&new_key),
        "keys {keys:?}"
    );
    a.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_serve_without_s3_and_with_s3_down() -> anyhow::Result<()> {
    // S3__ENABLED=false: the seed's "Playwright only" mode.
    let plain = TestService::start(&[("S3__ENABLED", "false")]).await?;
    let response = get(&plain.url("/api/og-image/dl-0003")).await?;
    ensure!(response.status() == StatusCode::OK, "{}", response.status());
    ensure!(header(&response, "x-cache") == "miss");
    assert_shows_classic(&response.bytes().await?, Decoded::Png, 0)?;
    plain.stop().await?;

    // S3 enabled but nothing listens at the endpoint: rendered and served anyway, and /readyz says degraded.
    let dead = format!("http://127.0.0.1:{}", card_e2e::s3::free_port()?);
    let down = TestService::start(&[
        ("S3__ENABLED", "true"),
        ("S3__ENDPOINT_URL", &dead),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("S3__TIMEOUT_MS", "500"),
    ])
    .await?;
    let response = get(&down.url("/api/og-image/dl-0003")).await?;
    ensure!(response.status() == StatusCode::OK, "{}", response.status());
    assert_shows_classic(&response.bytes().await?, Decoded::Png, 0)?;
    let ready: Value = get(&down.url("/readyz")).await?.json().await?;
    ensure!(ready["s3"]["status"] == "degraded", "{ready}");
    down.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_json_errors_and_the_service_keeps_working() -> anyhow::Result<()> {
    let svc = TestService::start(&[]).await?;
    let long_id = "a".repeat(65);
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "/api/og-image/bad%20id".into(),
            StatusCode::BAD_REQUEST,
            "invalid-listing-id",
        ),
        (
            "/api/og-image/..%2F..%2Fetc".into(),
            StatusCode::BAD_REQUEST,
            "invalid-listing-id",
        ),
        (
            format!("/api/og-image/{long_id}"),
            StatusCode::BAD_REQUEST,
            "invalid-listing-id",
        ),
        (
            "/api/og-image/%F0%9F%92%A3".into(),
            StatusCode::BAD_REQUEST,
            "invalid-listing-id",
        ),
        (
            "/api/og-image/no-such-listing".into(),
            StatusCode::NOT_FOUND,
            "listing-not-found",
        ),
        (
            "/api/og-image/dl-0001?format=gif".into(),
            StatusCode::BAD_REQUEST,
            "invalid-format",
        ),
        (
            "/api/og-image/dl-0001?size=9999".into(),
            StatusCode::BAD_REQUEST,
            "unknown-parameter",
        ),
        (
            "/api/og-image/dl-0001?variant=nope".into(),
            StatusCode::BAD_REQUEST,
            "unknown-variant",
        ),
        ("/no/such/route".into(), StatusCode::NOT_FOUND, "not-found"),
    ];
    for (path, status, code) in cases {
        let (got_status, got_code) = error_code(get(&svc.url(&path)).await?)
            .await
            .with_context(|| path.clone())?;
        ensure!(
            (got_status, got_code.as_str()) == (status, code),
            "{path}: {got_status} {got_code}"
        );
    }
    let ok = get(&svc.url("/api/og-image/dl-0001")).await?;
    ensure!(ok.status() == StatusCode::OK);
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_designs_give_clear_errors_and_the_next_request_still_works() -> anyhow::Result<()> {
    let svc = TestService::start(&[("TEMPLATES__RENDER_TIMEOUT_MS", "200")]).await?;
    let cases = [
        (
            "fixture-trap",
            StatusCode::INTERNAL_SERVER_ERROR,
            "template-failed",
        ),
        (
            "fixture-spin",
            StatusCode::INTERNAL_SERVER_ERROR,
            "template-failed",
        ),
        (
            "fixture-oversize",
            StatusCode::INTERNAL_SERVER_ERROR,
            "template-failed",
        ),
        (
            "fixture-greedy",
            StatusCode::INTERNAL_SERVER_ERROR,
            "template-failed",
        ),
        (
            "fixture-reject",
            StatusCode::UNPROCESSABLE_ENTITY,
            "template-rejected",
        ),
    ];
    for (variant, status, code) in cases {
        let started = std::time::Instant::now();
        let response = get(&svc.url(&format!("/api/og-image/dl-0004?variant={variant}"))).await?;
        let (got_status, got_code) = error_code(response).await?;
        ensure!(
            (got_status, got_code.as_str()) == (status, code),
            "{variant}: {got_status} {got_code}"
        );
        // Behaviour, not speed: a looping design must be stopped, not left to hang the request.
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "{variant} took {:?}",
            started.elapsed()
        );
        let ok = get(&svc.url("/api/og-image/dl-0004")).await?;
        ensure!(
            ok.status() == StatusCode::OK,
            "after {variant}: {}",
            ok.status()
        );
    }
    // The 500 message names the design but shows no internals.
    let body: Value = get(&svc.url("/api/og-image/dl-0004?variant=fixture-trap"))
        .await?
        .json()
        .await?;
    let message = body["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("fixture-trap")
            && !message.contains("wasm")
            && !message.contains("unreachable"),
        "{message}"
    );
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_chromium_is_relaunched_and_the_next_request_succeeds() -> anyhow::Result<()> {
    let svc = TestService::start(&[]).await?;
    ensure!(get(&svc.url("/api/og-image/dl-0005")).await?.status() == StatusCode::OK);
    let tag = svc.chromium_tag().context("browser pool")?;
    // `pkill -f` matches full command lines; the tag without its leading dashes is not read as an option.
    let pattern = tag.trim_start_matches('-');
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", pattern])
        .status()?;
    ensure!(killed.success(), "no Chromium process carried {tag}");
    let response = get(&svc.url("/api/og-image/dl-0006")).await?;
    ensure!(
        response.status() == StatusCode::OK,
        "after kill: {}",
        response.status()
    );
    assert_shows_classic(&response.bytes().await?, Decoded::Png, 0)?;
    let restarts = svc
        .state
        .browser()
        .map(|b| b.restarts())
        .unwrap_or_default();
    ensure!(restarts >= 1, "restarts {restarts}");
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rendering_disabled_cached_images_serve_and_misses_get_503() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "card-e2e-disabled";
    s3.create_bucket(bucket).await?;
    let renderer = TestService::start(&s3_settings(s3.endpoint(), bucket)).await?;
    ensure!(get(&renderer.url("/api/og-image/dl-0007")).await?.status() == StatusCode::OK);
    renderer.stop().await?;

    let mut settings = s3_settings(s3.endpoint(), bucket);
    settings.push(("PLAYWRIGHT__ENABLED", "false"));
    let svc = TestService::start(&settings).await?;
    let cached = get(&svc.url("/api/og-image/dl-0007")).await?;
    ensure!(cached.status() == StatusCode::OK, "{}", cached.status());
    ensure!(header(&cached, "x-cache") == "hit-s3");
    let miss = get(&svc.url("/api/og-image/dl-0008")).await?;
    ensure!(
        header(&miss, "retry-after").parse::<u64>().is_ok(),
        "Retry-After missing"
    );
    let (status, code) = error_code(miss).await?;
    ensure!(
        (status, code.as_str()) == (StatusCode::SERVICE_UNAVAILABLE, "rendering-disabled"),
        "{status} {code}"
    );
    let ready: Value = get(&svc.url("/readyz")).await?.json().await?;
    ensure!(ready["browser"]["status"] == "disabled", "{ready}");
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_report_each_part() -> anyhow::Result<()> {
    let svc = TestService::start(&[]).await?;
    let health = get(&svc.url("/healthz")).await?;
    ensure!(health.status() == StatusCode::OK);
    let ready = get(&svc.url("/readyz")).await?;
    ensure!(ready.status() == StatusCode::OK, "{}", ready.status());
    let ready: Value = ready.json().await?;
    ensure!(
        ready["browser"]["status"] == "ok" && ready["templates"]["status"] == "ok",
        "{ready}"
    );
    ensure!(ready["s3"]["status"] == "disabled", "{ready}");
    svc.stop().await
}

fn tempdir(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("card-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Writes a one-listing file and sets its modification time `offset_secs` ahead, so the source sees a change without sleeping.
fn write_listings(path: &std::path::Path, listing: &Value, offset_secs: u64) -> anyhow::Result<()> {
    std::fs::write(
        path,
        serde_json::to_vec(&serde_json::json!({"listings": [listing]}))?,
    )?;
    let file = std::fs::File::options().write(true).open(path)?;
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(offset_secs))?;
    Ok(())
}

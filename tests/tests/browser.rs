//! The browser pool on its own: pages cannot reach the network, and captures honour their deadline.

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use card_e2e::CountingListener;
use card_e2e::service::{chromium, require_browser};
use card_e2e::wait::{self, STRAY_CONNECTION_GRACE};
use card_service::settings::Settings;
use card_service::{BrowserError, BrowserPool, ImageFormat};

fn pool() -> anyhow::Result<BrowserPool> {
    pool_with(&[])
}

/// One browser with one page, and `extra` settings.
fn pool_with(extra: &[(&str, &str)]) -> anyhow::Result<BrowserPool> {
    require_browser()?;
    let chromium = chromium();
    let mut pairs = vec![
        ("PLAYWRIGHT__EXECUTABLE_PATH", chromium.as_str()),
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "1"),
        ("PLAYWRIGHT__PAGES_PER_BROWSER", "1"),
    ];
    pairs.extend_from_slice(extra);
    let settings = Settings::from_pairs(pairs)?;
    Ok(BrowserPool::new(settings.playwright))
}

/// One capture at quality 85 with a deadline no healthy page misses.
async fn capture(pool: &BrowserPool, html: &str, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    Ok(pool
        .capture(html, format, 85, Duration::from_secs(20))
        .await?
        .bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_page_makes_no_network_request() -> anyhow::Result<()> {
    let pool = pool()?;
    let listener = CountingListener::start().await?;
    let base = listener.url();
    // Every way a document can ask for a URL without JavaScript, plus scripts that would if JS ran.
    // (`<meta http-equiv>` never reaches a page: the design host rejects it, see `service/src/render/designs.rs`.)
    let html = format!(
        r#"<!doctype html><html><head>
        <link rel="stylesheet" href="{base}/style.css"><link rel="preload" href="{base}/font.woff2" as="font">
        <link rel="icon" href="{base}/favicon.ico"><link rel="prefetch" href="{base}/prefetch">
        <style>@import url("{base}/import.css"); @font-face {{ font-family: x; src: url({base}/f.woff); }}
        body {{ background: url({base}/bg.png); font-family: x; }}</style>
        <script src="{base}/script.js"></script><script>fetch("{base}/fetch"); new Image().src = "{base}/js-img";</script>
        </head><body><img src="{base}/img.png"><iframe src="{base}/frame"></iframe>
        <video poster="{base}/poster.png"></video><object data="{base}/object"></object>
        <form action="{base}/form"></form><a href="{base}/link">link</a>hello</body></html>"#
    );
    let png = pool
        .capture(&html, ImageFormat::Png, 85, Duration::from_secs(20))
        .await?
        .bytes;
    ensure!(png.starts_with(b"\x89PNG"), "not a PNG");
    // None arrived during the capture, and none arrives after it: the assertion is that none ever does.
    listener
        .assert_untouched_for(STRAY_CONNECTION_GRACE)
        .await?;
    pool.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_past_its_deadline_fails_fast_and_the_pool_recovers() -> anyhow::Result<()> {
    let pool = pool()?;
    pool.warm_up().await?;
    let err = pool
        .capture(
            "<!doctype html><p>x",
            ImageFormat::Png,
            85,
            Duration::from_millis(1),
        )
        .await
        .unwrap_err();
    ensure!(matches!(err, BrowserError::Deadline(_)), "{err}");
    let ok = capture(&pool, "<!doctype html><p>after", ImageFormat::Jpeg).await?;
    ensure!(ok.starts_with(&[0xFF, 0xD8, 0xFF]), "not a JPEG");
    pool.shutdown().await;
    Ok(())
}

/// A reused page's renderer is purged every 8 captures, and a purged page still renders each
/// document as it is: 17 captures on one page, each a different colour, all exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_page_is_purged_every_eight_captures_and_renders_the_same() -> anyhow::Result<()> {
    let pool = pool()?;
    pool.warm_up().await?;
    for i in 0..17u8 {
        let (r, g, b) = (i * 15, 255 - i * 15, 128);
        let html = format!(
            "<!doctype html><html><body style=\"margin:0;background:rgb({r},{g},{b})\"></body></html>"
        );
        let png = capture(&pool, &html, ImageFormat::Png).await?;
        let img = image::load_from_memory(&png)?.to_rgb8();
        ensure!(img.dimensions() == (1200, 630), "{:?}", img.dimensions());
        let pixel = img.get_pixel(600, 315).0;
        ensure!(
            pixel == [r, g, b],
            "capture {i}: {pixel:?}, expected {:?}",
            [r, g, b]
        );
        let expected = u64::from(i + 1) / 8;
        ensure!(
            pool.purges() == expected,
            "after {} captures: {} purges, expected {expected}",
            i + 1,
            pool.purges()
        );
    }
    pool.shutdown().await;
    Ok(())
}

/// A process carrying the pool's tag but in no slot (as a browser an abandoned driver finished
/// launching would be) is killed by the maintenance task after two probe rounds; the pool's own
/// browser is left alone and keeps rendering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_tagged_browser_is_killed_and_the_pool_keeps_its_own() -> anyhow::Result<()> {
    let pool = Arc::new(pool_with(&[("PLAYWRIGHT__HEALTH_INTERVAL_MS", "200")])?);
    pool.warm_up().await?;
    pool.start_health_probe();
    let own = pool.browser_pids();
    ensure!(own.len() == 1, "pool pids {own:?}");

    // `sh -c 'sleep 60' TAG MARKER`: both markers are arguments of the shell, as on Chromium's.
    let tag = pool.process_tag();
    let pool_id = tag.trim_start_matches("--card-service-pool=");
    let marker = format!("--card-service-browser={pool_id}-999999");
    let mut stray = std::process::Command::new("sh")
        .args(["-c", "sleep 60", &tag, &marker])
        .spawn()?;
    let killed = wait::until("the stray killed", Duration::from_secs(15), async || {
        Ok(stray.try_wait()?)
    })
    .await;
    if killed.is_err() {
        let _ = stray.kill();
        let _ = stray.wait();
    }
    killed?;
    ensure!(pool.strays() == 1, "strays killed: {}", pool.strays());
    ensure!(pool.browser_pids() == own, "the pool's own browser changed");
    let png = capture(&pool, "<!doctype html><p>still here", ImageFormat::Png).await?;
    ensure!(png.starts_with(b"\x89PNG"), "not a PNG");
    pool.shutdown().await;
    Ok(())
}

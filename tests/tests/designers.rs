//! The designers' platform over real HTTP: hot swap under load, rollback, A/B experiments,
//! impressions, the share page, and hostile components.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use card_e2e::service::{
    ADMIN_TOKEN, TestService, fresh_templates_dir, header, http, with_custom_section,
};
use card_e2e::wait;
use card_service::{Experiment, Variant};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn auth(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(ADMIN_TOKEN)
}

async fn start(
    tag: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<(TestService, std::path::PathBuf)> {
    let dir = fresh_templates_dir(tag)?;
    let mut settings = vec![
        ("ADMIN__TOKEN", ADMIN_TOKEN),
        ("TEMPLATES__WATCH_INTERVAL_MS", "100"),
    ];
    settings.extend_from_slice(extra);
    let svc = TestService::start_with_templates(&dir, &settings).await?;
    Ok((svc, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn designs_hot_swap_under_load_without_failing_a_request_and_roll_back() -> anyhow::Result<()>
{
    let (svc, dir) = start("hotswap", &[("PLAYWRIGHT__PAGES_PER_BROWSER", "2")]).await?;
    let original = std::fs::read(dir.join("classic.wasm"))?;
    let v2 = with_custom_section(&original, "v2");
    let v3 = with_custom_section(&original, "v3");

    // Stream requests over a few listings for the whole test, and at least `STREAMED` of them
    // however slow the machine; every one must succeed.
    const STREAMED: u32 = 6;
    let stop = Arc::new(AtomicBool::new(false));
    let base = svc.base.clone();
    let streamer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let client = http();
            let (mut ok, mut failures) = (0u32, Vec::new());
            let mut i = 0;
            while !(stop.load(Ordering::Relaxed) && (ok >= STREAMED || i >= 4 * STREAMED)) {
                let url = format!("{base}/api/og-image/dl-{:04}", 10 + i % 4);
                match client.get(&url).send().await {
                    Ok(r) if r.status() == StatusCode::OK => ok += 1,
                    Ok(r) => failures.push(format!("{url}: {}", r.status())),
                    Err(e) => failures.push(format!("{url}: {e}")),
                }
                i += 1;
            }
            (ok, failures)
        })
    };

    let url = svc.url("/api/og-image/dl-0010");
    let etag_of = |r: &reqwest::Response| header(r, "etag");
    let first = etag_of(&http().get(&url).send().await?);

    // Upload v2, then v3: each answers with the new digest, and the image's ETag changes with it.
    let mut etags = vec![first.clone()];
    for bytes in [&v2, &v3] {
        let r = auth(http().put(svc.url("/admin/templates/classic")))
            .body(bytes.clone())
            .send()
            .await?;
        ensure!(r.status() == StatusCode::OK, "upload: {}", r.status());
        let body: Value = r.json().await?;
        ensure!(body["changed"] == true, "{body}");
        let etag = etag_of(&http().get(&url).send().await?);
        ensure!(
            !etags.contains(&etag),
            "the ETag did not change after a swap"
        );
        etags.push(etag);
    }

    // Garbage is refused with the reason, and the live version keeps serving.
    let r = auth(http().put(svc.url("/admin/templates/classic")))
        .body(b"\0asm garbage".to_vec())
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "garbage: {}",
        r.status()
    );
    let body: Value = r.json().await?;
    ensure!(body["code"] == "template-invalid", "{body}");
    ensure!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("compile")),
        "{body}"
    );
    ensure!(
        etag_of(&http().get(&url).send().await?) == etags[2],
        "garbage changed the live design"
    );

    // Rollback restores v2, on disk too.
    let r = auth(http().post(svc.url("/admin/templates/classic/rollback")))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "rollback: {}", r.status());
    ensure!(
        etag_of(&http().get(&url).send().await?) == etags[1],
        "rollback did not restore v2"
    );
    ensure!(
        std::fs::read(dir.join("classic.wasm"))? == v2,
        "rollback was not written to TEMPLATES__DIR"
    );

    // A file dropped into TEMPLATES__DIR is picked up by the watcher (written then renamed).
    let tmp = dir.join(".classic.tmp");
    std::fs::write(&tmp, &original)?;
    std::fs::rename(&tmp, dir.join("classic.wasm"))?;
    wait::until_true(
        "the watcher swapping in the dropped file",
        Duration::from_secs(20),
        async || Ok(etag_of(&http().get(&url).send().await?) == first),
    )
    .await?;

    stop.store(true, Ordering::Relaxed);
    let (ok, failures) = streamer.await?;
    ensure!(
        failures.is_empty(),
        "{} requests failed during swaps: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    ensure!(ok >= STREAMED, "only {ok} requests streamed");

    let list: Value = auth(http().get(svc.url("/admin/templates")))
        .send()
        .await?
        .json()
        .await?;
    let classic = list["templates"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "classic"))
        .context("classic listed")?;
    ensure!(
        !classic["history"].as_array().is_none_or(Vec::is_empty),
        "{classic}"
    );
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiments_assign_stickily_by_weight_count_impressions_and_protect_their_designs()
-> anyhow::Result<()> {
    let (svc, _dir) = start("experiments", &[]).await?;
    ensure!(
        svc.state.designs().get("spotlight").is_some(),
        "spotlight is not built: run `cargo xtask templates build`"
    );
    let experiment = Experiment {
        name: "hero-figure".into(),
        variants: vec![
            Variant {
                name: "control".into(),
                design: "classic".into(),
                weight: 70,
            },
            Variant {
                name: "spot".into(),
                design: "spotlight".into(),
                weight: 30,
            },
        ],
    };
    let r = auth(http().put(svc.url("/admin/experiments")))
        .json(&experiment)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::OK,
        "put experiment: {}",
        r.status()
    );

    // `If-None-Match: *` answers 304 with the variant headers, no render: cheap to sample many ids.
    let ids: Vec<String> = svc
        .state
        .listings
        .top(card_service::Metric::CpuMark, 200)
        .await?
        .iter()
        .map(|l| l.id.clone())
        .collect();
    let mut spot = 0;
    for id in &ids {
        let r = http()
            .get(svc.url(&format!("/api/og-image/{id}")))
            .header("if-none-match", "*")
            .header("user-agent", "Twitterbot/1.0")
            .send()
            .await?;
        ensure!(
            r.status() == StatusCode::NOT_MODIFIED,
            "{id}: {}",
            r.status()
        );
        let variant = header(&r, "x-card-variant");
        ensure!(
            variant == experiment.assign(id).name,
            "{id}: served {variant}, expected {}",
            experiment.assign(id).name
        );
        spot += usize::from(variant == "spot");
    }
    ensure!(
        (20..=100).contains(&spot),
        "spot got {spot} of {}",
        ids.len()
    );

    // A rendered image carries its variant and design.
    let id = ids
        .iter()
        .find(|id| experiment.assign(id).name == "spot")
        .context("a spot listing")?;
    let r = http()
        .get(svc.url(&format!("/api/og-image/{id}")))
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::OK && header(&r, "x-card-template").starts_with("spotlight@"),
        "{}",
        header(&r, "x-card-template")
    );

    // ?variant overrides; an unknown one is a 400.
    let r = http()
        .get(svc.url(&format!("/api/og-image/{id}?variant=control")))
        .header("if-none-match", "*")
        .send()
        .await?;
    ensure!(header(&r, "x-card-variant") == "control");
    let r = http()
        .get(svc.url(&format!("/api/og-image/{id}?variant=nope")))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::BAD_REQUEST);

    // Impressions by crawler family, in the stats endpoint and /metrics.
    let stats: Value = auth(http().get(svc.url("/admin/experiments/hero-figure/stats")))
        .send()
        .await?
        .json()
        .await?;
    let counted = stats["variants"]["spot"]["by_agent"]["x"]
        .as_u64()
        .unwrap_or(0)
        + stats["variants"]["control"]["by_agent"]["x"]
            .as_u64()
            .unwrap_or(0);
    ensure!(
        counted == ids.len() as u64,
        "impressions {counted} ≠ {}: {stats}",
        ids.len()
    );
    let metrics = http().get(svc.url("/metrics")).send().await?.text().await?;
    ensure!(
        metrics.contains(
            r#"card_variant_impressions_total{experiment="hero-figure",variant="spot",agent="x"}"#
        ),
        "{metrics}"
    );

    // A design an experiment serves cannot be retired; an experiment naming a missing design is refused.
    let r = auth(http().delete(svc.url("/admin/templates/spotlight")))
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::CONFLICT,
        "delete served design: {}",
        r.status()
    );
    let bad = json!({"name": "broken", "variants": [{"name": "a", "design": "no-such-design", "weight": 1}]});
    let r = auth(http().put(svc.url("/admin/experiments")))
        .json(&bad)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "bad experiment: {}",
        r.status()
    );
    // TOML works too, and changing weights needs no restart.
    let toml = "name = \"hero-figure\"\n[[variants]]\nname = \"control\"\ndesign = \"classic\"\nweight = 1\n";
    let r = auth(http().put(svc.url("/admin/experiments")))
        .header("content-type", "application/toml")
        .body(toml)
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "toml: {}", r.status());
    let r = http()
        .get(svc.url(&format!("/api/og-image/{id}")))
        .header("if-none-match", "*")
        .send()
        .await?;
    ensure!(header(&r, "x-card-variant") == "control");
    // Now unserved, the design can be retired.
    let r = auth(http().delete(svc.url("/admin/templates/spotlight")))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "delete: {}", r.status());
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_the_token_and_are_off_without_one() -> anyhow::Result<()> {
    let (svc, _dir) = start("admin", &[("PLAYWRIGHT__ENABLED", "false")]).await?;
    let r = http().get(svc.url("/admin/templates")).send().await?;
    ensure!(r.status() == StatusCode::UNAUTHORIZED && header(&r, "www-authenticate") == "Bearer");
    let r = http()
        .get(svc.url("/admin/templates"))
        .bearer_auth("wrong-token-0123456789")
        .send()
        .await?;
    ensure!(r.status() == StatusCode::UNAUTHORIZED);
    let r = auth(http().get(svc.url("/admin/templates"))).send().await?;
    ensure!(r.status() == StatusCode::OK);
    svc.stop().await?;

    let off = TestService::start(&[("PLAYWRIGHT__ENABLED", "false")]).await?;
    let r = http()
        .get(off.url("/admin/templates"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::NOT_FOUND,
        "admin without ADMIN__TOKEN: {}",
        r.status()
    );
    off.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_components_are_refused_or_stopped_and_others_keep_serving() -> anyhow::Result<()> {
    let (svc, dir) = start("hostile", &[]).await?;
    let registry = svc.state.designs();
    // Importing what the world does not offer: refused when loading, at start-up and by upload.
    ensure!(
        registry.get("fixture-imports").is_none(),
        "fixture-imports went live"
    );
    let imports =
        std::fs::read(dir.join("fixture-imports.wasm")).context("fixture-imports is built")?;
    let r = auth(http().put(svc.url("/admin/templates/fixture-imports")))
        .body(imports)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "imports upload: {}",
        r.status()
    );
    let body: Value = r.json().await?;
    ensure!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("import")),
        "{body}"
    );
    // A design must answer to its name.
    let classic = std::fs::read(dir.join("classic.wasm"))?;
    let r = auth(http().put(svc.url("/admin/templates/impostor")))
        .body(classic)
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "impostor: {}",
        r.status()
    );

    // Loop, unbounded memory and 50 MB of HTML pass the load check and are stopped at render.
    for variant in ["fixture-spin", "fixture-greedy", "fixture-oversize"] {
        let r = http()
            .get(svc.url(&format!("/api/og-image/dl-0020?variant={variant}")))
            .send()
            .await?;
        ensure!(
            r.status() == StatusCode::INTERNAL_SERVER_ERROR,
            "{variant}: {}",
            r.status()
        );
        let body: Value = r.json().await?;
        ensure!(body["code"] == "template-failed", "{variant}: {body}");
        let ok = http().get(svc.url("/api/og-image/dl-0020")).send().await?;
        ensure!(
            ok.status() == StatusCode::OK,
            "classic after {variant}: {}",
            ok.status()
        );
    }
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_page_points_crawlers_at_the_variant_image() -> anyhow::Result<()> {
    let (svc, _dir) = start(
        "share",
        &[("SERVER__PUBLIC_URL", "https://cards.example.com")],
    )
    .await?;
    let r = http()
        .get(svc.url("/share/dl_edge-html-script"))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK);
    ensure!(header(&r, "content-type").starts_with("text/html"));
    let html = r.text().await?;
    let meta = |key: &str| -> Option<String> {
        let needle = format!("=\"{key}\" content=\"");
        let start = html.find(&needle)? + needle.len();
        Some(html[start..].split('"').next()?.to_string())
    };
    let image = meta("og:image").context("og:image")?;
    ensure!(
        image == "https://cards.example.com/api/og-image/dl_edge-html-script?variant=classic",
        "{image}"
    );
    // The image URL lets each crawler's `Accept` pick WebP or PNG, so no fixed type is claimed.
    ensure!(
        meta("og:image:type").is_none(),
        "og:image:type without ?format"
    );
    ensure!(meta("twitter:card").as_deref() == Some("summary_large_image"));
    ensure!(meta("twitter:image").as_deref() == Some(image.as_str()));
    ensure!(
        meta("og:image:width").as_deref() == Some("1200")
            && meta("og:image:height").as_deref() == Some("630")
    );
    ensure!(
        meta("og:url").as_deref() == Some("https://cards.example.com/share/dl_edge-html-script")
    );
    for key in [
        "og:title",
        "og:description",
        "og:type",
        "og:image:alt",
        "theme-color",
    ] {
        ensure!(meta(key).is_some_and(|v| !v.is_empty()), "{key} missing");
    }
    // The hostile title is escaped, never markup.
    ensure!(
        !html.contains("<script>alert"),
        "unescaped title in the share page"
    );
    // The image URL's path works against this instance.
    let path = image.trim_start_matches("https://cards.example.com");
    let png = http().get(svc.url(path)).send().await?;
    ensure!(png.status() == StatusCode::OK && header(&png, "content-type") == "image/png");
    // With `?format` the URL fixes the format, and the page says which.
    let jpeg_page = http()
        .get(svc.url("/share/dl_edge-html-script?format=jpeg"))
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        jpeg_page.contains("?variant=classic&amp;format=jpeg\"")
            && jpeg_page.contains("<meta property=\"og:image:type\" content=\"image/jpeg\">"),
        "{jpeg_page}"
    );
    let missing = http().get(svc.url("/share/no-such-listing")).send().await?;
    ensure!(missing.status() == StatusCode::NOT_FOUND);
    svc.stop().await
}

/// The gallery in a real headless Chromium (its own, with JavaScript and loopback access, unlike
/// the service's card pages): every image loads as a 1200×630 card, and comparing two variants works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_gallery_loads_in_chromium_and_compares_two_variants() -> anyhow::Result<()> {
    let (svc, _dir) = start("preview", &[("PLAYWRIGHT__PAGES_PER_BROWSER", "2")]).await?;
    let (playwright, browser) = card_e2e::service::test_browser().await?;
    let page = browser.new_page().await?;

    // Every image of the gallery must be complete with the card's natural size.
    let loaded = "() => [...document.images].every(i => i.complete && i.naturalWidth === 1200 && i.naturalHeight === 630)";
    page.goto(&svc.url("/preview?listing=dl-0001"), None)
        .await?;
    wait::until_true(
        "every gallery image loaded",
        Duration::from_secs(90),
        async || Ok(page.evaluate::<(), bool>(loaded, None).await?),
    )
    .await?;
    let designs: Vec<String> = page
        .evaluate(
            "() => [...document.querySelectorAll('th.design')].map(t => t.dataset.design)",
            None::<&()>,
        )
        .await?;
    ensure!(
        designs.contains(&"classic".to_string())
            && !designs.iter().any(|d| d.starts_with("fixture-")),
        "{designs:?}"
    );

    // Compare: pick A and B in the form and submit, as a designer would.
    page.evaluate::<(), ()>(
        "() => { const f = document.getElementById('compare'); f.a.value = 'classic'; f.b.value = 'fixture-reject'; f.listing.value = 'dl-0002'; }",
        None,
    )
    .await?;
    // Submit after the evaluate returns, so the navigation does not race the call.
    page.evaluate::<(), ()>(
        "() => { setTimeout(() => document.getElementById('compare').submit(), 0); }",
        None,
    )
    .await?;
    wait::until_true(
        "the compare form navigating",
        Duration::from_secs(30),
        async || {
            // Mid-navigation the old context is gone: an error here only means "not yet".
            let url: Option<String> = page
                .evaluate(
                    "() => document.readyState === 'complete' ? location.href : ''",
                    None::<&()>,
                )
                .await
                .ok();
            Ok(url.is_some_and(|u| u.contains("a=classic")))
        },
    )
    .await?;
    let compared: Vec<String> = page
        .evaluate(
            "() => [...document.querySelectorAll('img')].map(i => i.dataset.design)",
            None::<&()>,
        )
        .await?;
    ensure!(compared == ["classic", "fixture-reject"], "{compared:?}");
    // classic loads; the rejecting fixture's image fails with its 422, which the page shows as broken.
    let states: Vec<bool> = wait::until(
        "the compared images finishing loading",
        Duration::from_secs(60),
        async || {
            let done: bool = page
                .evaluate(
                    "() => [...document.images].every(i => i.complete)",
                    None::<&()>,
                )
                .await?;
            if !done {
                return Ok(None);
            }
            Ok(Some(
                page.evaluate(
                    "() => [...document.images].map(i => i.naturalWidth === 1200)",
                    None::<&()>,
                )
                .await?,
            ))
        },
    )
    .await?;
    ensure!(
        states == [true, false],
        "classic should load and fixture-reject fail: {states:?}"
    );
    browser.close().await?;
    playwright.shutdown().await?;
    svc.stop().await
}

//! The render checks an upload passes before a design goes live, in real Chromium: a design that
//! clips its title or renders a blank card is refused with a report naming the listing, the check
//! and the text; a font without CJK glyphs is a warning and goes live; a dry run checks and diffs
//! against the live version without publishing; the shipped designs pass every refusing check.

use anyhow::{Context, ensure};
use card_e2e::service::{
    ADMIN_TOKEN, TestService, dist_dir, fresh_templates_dir, http, live_designs, served_digest,
};
use reqwest::StatusCode;
use serde_json::Value;

const FIXTURES: [&str; 3] = ["fixture-clip", "fixture-blank", "fixture-nocjk"];

/// `PUT /admin/templates/{target}`; `target` is the name, and the query if any.
async fn upload(
    svc: &TestService,
    target: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<(StatusCode, Value)> {
    let r = http()
        .put(svc.url(&format!("/admin/templates/{target}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(bytes)
        .send()
        .await?;
    Ok((r.status(), r.json().await?))
}

async fn live(svc: &TestService) -> anyhow::Result<Vec<String>> {
    Ok(live_designs(&svc.base)
        .await?
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect())
}

async fn digest_of(svc: &TestService, design: &str) -> anyhow::Result<String> {
    served_digest(&svc.base, design)
        .await?
        .with_context(|| format!("{design} is not live"))
}

async fn page(svc: &TestService, path: &str) -> anyhow::Result<String> {
    Ok(http().get(svc.url(path)).send().await?.text().await?)
}

fn findings<'a>(checks: &'a Value, check: &str) -> Vec<&'a Value> {
    checks["findings"]
        .as_array()
        .map(|f| f.iter().filter(|x| x["check"] == check).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_looked_at_in_chromium_before_they_go_live() -> anyhow::Result<()> {
    // The fixtures are uploaded, not loaded from the directory at start-up.
    let dir = fresh_templates_dir("design-checks")?;
    for name in FIXTURES {
        std::fs::remove_file(dir.join(format!("{name}.wasm")))?;
    }
    let svc = TestService::start_with_templates(
        &dir,
        &[
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("PLAYWRIGHT__PAGES_PER_BROWSER", "2"),
        ],
    )
    .await?;
    let fixtures = dist_dir()?.join("fixtures");
    let bytes = |name: &str| std::fs::read(fixtures.join(format!("{name}.wasm")));

    // A title cut off by its box: refused, naming the listing, the check and the text.
    let (status, body) = upload(&svc, "fixture-clip", bytes("fixture-clip")?).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && body["code"] == "design-check-failed",
        "{status} {body}"
    );
    let clipped = findings(&body["checks"], "overflow");
    ensure!(
        clipped.iter().any(|f| f["listing"] == "typical"
            && f["level"] == "refuse"
            && f["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Beelink SER5"))),
        "{body}"
    );
    ensure!(body["checks"]["listings"] == 8, "{body}");
    ensure!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("overflow on `typical`")),
        "{body}"
    );

    // An empty card: refused by the blank check on every listing.
    let (status, body) = upload(&svc, "fixture-blank", bytes("fixture-blank")?).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && body["code"] == "design-check-failed",
        "{status} {body}"
    );
    ensure!(findings(&body["checks"], "blank").len() == 8, "{body}");
    let names = live(&svc).await?;
    ensure!(
        !names
            .iter()
            .any(|n| n == "fixture-clip" || n == "fixture-blank"),
        "a refused design went live: {names:?}"
    );

    // A font without CJK glyphs: a warning naming the CJK title; the design goes live.
    let (status, body) = upload(&svc, "fixture-nocjk", bytes("fixture-nocjk")?).await?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    let glyphs = findings(&body["checks"], "glyphs");
    ensure!(
        glyphs.iter().any(|f| f["listing"] == "cjk"
            && f["level"] == "warn"
            && f["text"].as_str().is_some_and(|t| t.contains("ミニPC"))),
        "{body}"
    );
    ensure!(live(&svc).await?.iter().any(|n| n == "fixture-nocjk"));
    // The gallery marks the warned cell and links the run; the run's page lists the findings.
    let gallery = page(&svc, "/preview?listing=dl_edge-cjk-ja&a=fixture-nocjk").await?;
    ensure!(
        gallery.contains(r#"<td class="warned" title="glyphs (warn): drawn with"#),
        "{gallery}"
    );
    ensure!(
        gallery.contains(r#"href="/preview/diff?design=fixture-nocjk""#),
        "{gallery}"
    );
    let html = page(&svc, "/preview/diff?design=fixture-nocjk").await?;
    ensure!(
        html.contains("glyphs (warn) on cjk") && html.contains("published"),
        "{html}"
    );
    eprintln!("fixture-nocjk warnings: {}", body["checks"]["findings"]);

    // A dry run checks and diffs against the live version and publishes nothing. `minimal`
    // with its 10 px bottom band recoloured (the same bytes otherwise): the diff finds the band.
    let minimal = std::fs::read(dist_dir()?.join("minimal.wasm"))?;
    let needle = b"height:10px;background:#2563EB";
    let at = minimal
        .windows(needle.len())
        .position(|w| w == needle)
        .context("minimal's band style in its component")?;
    let mut recoloured = minimal.clone();
    recoloured[at + needle.len() - 6..at + needle.len()].copy_from_slice(b"EB2563");
    let before = digest_of(&svc, "minimal").await?;
    let (status, body) = upload(&svc, "minimal?dry_run=true", recoloured).await?;
    ensure!(
        status == StatusCode::OK && body["dry_run"] == true && body["published"] == false,
        "{status} {body}"
    );
    let diff = body["diff"]["listings"].as_array().context("diff")?;
    ensure!(diff.len() == 8, "{body}");
    // Without the control plane the run is kept by this instance.
    ensure!(body["checks"]["kept"]["where"] == "instance", "{body}");
    for listing in diff {
        ensure!(
            listing["region"] == serde_json::json!({"x": 0, "y": 620, "width": 1200, "height": 10}),
            "the band, and only the band: {listing}"
        );
        ensure!(
            (listing["changed"].as_f64().unwrap_or(0.0) - 0.0159).abs() < 0.0001,
            "{listing}"
        );
    }
    ensure!(
        digest_of(&svc, "minimal").await? == before,
        "a dry run published"
    );
    eprintln!(
        "dry run of minimal: checks {} ms, diff {} ms",
        body["checks"]["ms"], body["diff"]["ms"]
    );
    // Its cards: the live one, the candidate and the overlay, and the page showing them.
    for kind in ["before", "after", "diff"] {
        let url = diff[0]["images"][kind].as_str().context("image link")?;
        let r = http().get(svc.url(url)).send().await?;
        ensure!(r.status() == StatusCode::OK, "{url}: {}", r.status());
        let png = r.bytes().await?;
        ensure!(png.starts_with(b"\x89PNG"), "{url}");
    }
    let html = page(&svc, "/preview/diff?design=minimal").await?;
    ensure!(
        html.contains("dry run: not published") && html.matches("/diff.png").count() == 8,
        "{html}"
    );
    let r = http()
        .get(svc.url("/preview/diff?design=ticket"))
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.status()
    );
    let body: Value = r.json().await?;
    ensure!(body["code"] == "no-check-run", "{body}");
    // Identical bytes: nothing changed anywhere.
    let (status, body) = upload(&svc, "minimal", minimal).await?;
    ensure!(
        status == StatusCode::OK && body["diff"]["most_changed"] == 0.0,
        "{status} {body}"
    );
    ensure!(
        body["diff"]["listings"]
            .as_array()
            .is_some_and(|l| l.iter().all(|x| x["region"].is_null())),
        "{body}"
    );
    // Bad query parameters are refused before anything runs.
    let (status, body) = upload(&svc, "minimal?dry_run=maybe", vec![0u8; 8]).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && body["code"] == "invalid-parameter",
        "{status} {body}"
    );

    // The shipped designs pass every refusing check (their warnings, if any, are printed).
    for design in ["classic", "spotlight", "minimal", "ticket"] {
        let (status, body) = upload(
            &svc,
            design,
            std::fs::read(dist_dir()?.join(format!("{design}.wasm")))?,
        )
        .await?;
        ensure!(status == StatusCode::OK, "{design}: {status} {body}");
        ensure!(
            body["checks"]["refused"] == false && body["checks"]["listings"] == 8,
            "{design}: {body}"
        );
        eprintln!(
            "{design}: checks in {} ms, findings {}",
            body["checks"]["ms"], body["checks"]["findings"]
        );
    }
    svc.stop().await
}

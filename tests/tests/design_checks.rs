//! The render checks an upload passes before a design goes live, in real Chromium: a design that
//! clips its title or renders a blank card is refused with a report naming the listing, the check
//! and the text; a font without CJK glyphs is a warning and goes live; the shipped designs pass
//! every refusing check.

use anyhow::{Context, ensure};
use card_e2e::service::{ADMIN_TOKEN, TestService, dist_dir, fresh_templates_dir, http};
use reqwest::StatusCode;
use serde_json::Value;

const FIXTURES: [&str; 3] = ["fixture-clip", "fixture-blank", "fixture-nocjk"];

async fn upload(
    svc: &TestService,
    name: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<(StatusCode, Value)> {
    let r = http()
        .put(svc.url(&format!("/admin/templates/{name}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(bytes)
        .send()
        .await?;
    Ok((r.status(), r.json().await?))
}

async fn live(svc: &TestService) -> anyhow::Result<Vec<String>> {
    let list: Value = http()
        .get(svc.url("/admin/templates"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?
        .json()
        .await?;
    Ok(list["templates"]
        .as_array()
        .context("templates")?
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect())
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
    eprintln!("fixture-nocjk warnings: {}", body["checks"]["findings"]);

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

//! The experiment results page as a designer uses it, in real headless Chromium against a real
//! service with its control plane on a real S3 server: signing in, reading the bars and the
//! verdict of a seeded experiment, promoting a variant; a wrong token, a forged or expired
//! session and a post without the CSRF token are refused and change nothing.

use std::time::Duration;

use anyhow::{Context, ensure};
use card_e2e::s3::S3Server;
use card_e2e::service::{
    ADMIN_TOKEN, TestService, fresh_templates_dir, http, require_browser, s3_settings,
};
use card_e2e::wait;
use card_request::{SESSION_COOKIE, SessionKey};
use playwright_rs::protocol::Page;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FACEBOOK: &str = "facebookexternalhit/1.1";

async fn api(svc: &TestService, path: &str) -> anyhow::Result<Value> {
    let r = http()
        .get(svc.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    ensure!(status == StatusCode::OK, "{path}: {status} {body}");
    Ok(body)
}

/// The page's path once a navigation settled (`None` while it is still navigating).
async fn path(page: &Page) -> Option<String> {
    page.evaluate::<(), String>("() => location.pathname + location.search", None)
        .await
        .ok()
}

async fn wait_for_path(page: &Page, prefix: &str) -> anyhow::Result<()> {
    wait::until_true(
        &format!("the browser at {prefix}"),
        Duration::from_secs(30),
        async || Ok(path(page).await.is_some_and(|p| p.starts_with(prefix))),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_designer_signs_in_reads_the_results_and_promotes_the_winner() -> anyhow::Result<()> {
    require_browser()?;
    let s3 = S3Server::start().await?;
    let bucket = "experiment-page";
    s3.create_bucket(bucket).await?;
    let dir = fresh_templates_dir(bucket)?;
    let mut settings = s3_settings(s3.endpoint(), bucket);
    settings.extend([
        ("ADMIN__TOKEN", ADMIN_TOKEN),
        ("CONTROL__POLL_INTERVAL_MS", "200"),
        ("CONTROL__INSTANCE_ID", "experiment-page-0"),
        ("EXPERIMENTS__MIN_UNFURLS", "100"),
    ]);
    let svc = TestService::start_with_templates(&dir, &settings).await?;
    let r = http()
        .put(svc.url("/admin/experiments"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "page-ab", "variants": [
            {"name": "a", "design": "classic", "weight": 1},
            {"name": "b", "design": "ticket", "weight": 1},
        ]}))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "{}", r.status());
    // 150 unfurls each; 10 people click a, 30 click b: b leads clearly.
    let people = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for (variant, clicks) in [("a", 10), ("b", 30)] {
        let url = svc.url(&format!("/share/dl-0003?v={variant}"));
        for _ in 0..150 {
            people
                .get(&url)
                .header("user-agent", FACEBOOK)
                .send()
                .await?;
        }
        for n in 0..clicks {
            let agent = format!("Mozilla/5.0 person-{variant}-{n}");
            people.get(&url).header("user-agent", agent).send().await?;
        }
    }
    let results = api(&svc, "/admin/experiments/page-ab/results").await?;
    ensure!(results["verdict"]["code"] == "variant-leads", "{results}");
    let verdict = results["verdict"]["text"]
        .as_str()
        .context("verdict")?
        .to_owned();

    // A forged and an expired session are refused as JSON, naming what to do.
    let forged = format!("{SESSION_COOKIE}=v1.9999999999.00.AAAA");
    let expired = {
        let (value, _) = SessionKey::derive(ADMIN_TOKEN).issue(1, [9; 16]);
        format!("{SESSION_COOKIE}={value}")
    };
    for (cookie, code) in [(forged, "session-invalid"), (expired, "session-expired")] {
        let r = http()
            .get(svc.url("/admin/experiments/page-ab"))
            .header("cookie", cookie)
            .send()
            .await?;
        ensure!(r.status() == StatusCode::UNAUTHORIZED, "{}", r.status());
        let body: Value = r.json().await?;
        ensure!(
            body["code"] == code
                && body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("/admin/login")),
            "{body}"
        );
    }

    let (playwright, browser) = card_e2e::service::test_browser().await?;
    let page = browser.new_page().await?;

    // The gallery links to the running experiment; its listing-id column stays readable.
    page.goto(&svc.url("/preview"), None).await?;
    let link: Option<String> = page
        .evaluate(
            "() => document.querySelector('#experiment')?.getAttribute('href')",
            None::<&()>,
        )
        .await?;
    ensure!(
        link.as_deref() == Some("/admin/experiments/page-ab"),
        "{link:?}"
    );
    // The most lines any listing id wraps over (the line boxes of its text).
    let id_lines: u32 = page
        .evaluate(
            "() => Math.max(0, ...[...document.querySelectorAll('td.id')].map(td => { const r = document.createRange(); r.selectNodeContents(td); return new Set([...r.getClientRects()].map(q => Math.round(q.top))).size; }))",
            None::<&()>,
        )
        .await?;
    ensure!(
        (1..=2).contains(&id_lines),
        "a listing id wraps over {id_lines} lines"
    );

    // Not signed in: the page sends the browser to sign in, and comes back after.
    page.goto(&svc.url("/admin/experiments/page-ab"), None)
        .await?;
    wait_for_path(&page, "/admin/login").await?;
    page.locator("input[name=token]")
        .fill("not-the-admin-token-at-all", None)
        .await?;
    page.locator("button[type=submit]").click(None).await?;
    wait::until_true("the refusal shown", Duration::from_secs(30), async || {
        Ok(page
            .evaluate::<(), bool>("() => !!document.querySelector('.error')", None)
            .await
            .unwrap_or(false))
    })
    .await?;
    ensure!(
        path(&page)
            .await
            .is_some_and(|p| p.starts_with("/admin/login"))
    );
    page.locator("input[name=token]")
        .fill(ADMIN_TOKEN, None)
        .await?;
    page.locator("button[type=submit]").click(None).await?;
    wait_for_path(&page, "/admin/experiments/page-ab").await?;

    // The bars, their intervals, the verdict and a Promote button per variant.
    let shown: Value = page
        .evaluate(
            r#"() => ({
                bars: [...document.querySelectorAll('svg.ctr-chart rect.bar')].map(b => [b.dataset.variant, +b.dataset.ctr, b.getBBox().width]),
                intervals: document.querySelectorAll('svg.ctr-chart g.interval').length,
                verdict: document.querySelector('.verdict').textContent,
                buttons: [...document.querySelectorAll('form[action$="/promote"] button')].map(b => b.value),
                csrf: !!document.querySelector('form[action$="/promote"] input[name=csrf]'),
            })"#,
            None::<&()>,
        )
        .await?;
    ensure!(shown["verdict"] == verdict.as_str(), "{shown}");
    ensure!(
        shown["intervals"] == 2 && shown["buttons"] == json!(["a", "b"]) && shown["csrf"] == true,
        "{shown}"
    );
    let bars = shown["bars"].as_array().context("bars")?;
    ensure!(
        bars.len() == 2 && bars[0][0] == "a" && bars[1][0] == "b",
        "{shown}"
    );
    ensure!(
        bars[1][2].as_f64() > bars[0][2].as_f64()
            && (bars[1][1].as_f64().unwrap_or(0.0) - 0.2).abs() < 1e-6,
        "b's bar (20 %) is longer than a's (6.7 %): {shown}"
    );
    // The variants' cards, rendered by the service.
    wait::until_true("both variant cards loaded", Duration::from_secs(90), async || {
        Ok(page
            .evaluate::<(), bool>(
                "() => [...document.querySelectorAll('figure img')].every(i => i.complete && i.naturalWidth === 1200)",
                None,
            )
            .await?)
    })
    .await?;

    // A post without the CSRF token, or with another, is refused and changes nothing.
    let statuses: Vec<u16> = page
        .evaluate(
            r#"async () => {
                const post = body => fetch('/admin/experiments/page-ab/promote', {method: 'POST',
                    headers: {'content-type': 'application/x-www-form-urlencoded'}, body}).then(r => r.status);
                return [await post('variant=b'), await post('variant=b&csrf=forged')];
            }"#,
            None::<&()>,
        )
        .await?;
    ensure!(statuses == [403, 403], "{statuses:?}");
    let current = api(&svc, "/admin/experiments").await?;
    ensure!(current["name"] == "page-ab", "nothing changed: {current}");

    // Promote b with its button.
    page.locator("form[action$='/promote'] button[value=b]")
        .click(None)
        .await?;
    wait::until_true(
        "the page showing b promoted",
        Duration::from_secs(30),
        async || {
            Ok(page
                .evaluate::<(), String>(
                    "() => document.querySelector('h1 .status')?.textContent ?? ''",
                    None,
                )
                .await
                .unwrap_or_default()
                == "ended · b promoted")
        },
    )
    .await?;
    let current = api(&svc, "/admin/experiments").await?;
    ensure!(
        current["name"] == "default" && current["variants"][0]["design"] == "ticket",
        "{current}"
    );
    let history = api(&svc, "/admin/experiments/history").await?;
    let last = &history["experiments"][0];
    ensure!(
        last["name"] == "page-ab" && last["promoted"] == "b",
        "{history}"
    );
    ensure!(
        last["results"]["verdict"]["text"] == verdict.as_str(),
        "{history}"
    );

    // Signing out ends the session in this browser.
    page.locator("form[action='/admin/logout'] button")
        .click(None)
        .await?;
    wait_for_path(&page, "/admin/login").await?;
    page.goto(&svc.url("/admin/experiments/page-ab"), None)
        .await?;
    wait_for_path(&page, "/admin/login").await?;

    browser.close().await?;
    playwright.shutdown().await?;
    svc.stop().await
}

//! Share links as people and crawlers meet them: crawlers get the tag page and count an unfurl,
//! people are redirected to the listing with UTM parameters and count one click for the variant
//! the link names; the results name a winner with the statistics documented in docs/templates.md.

use anyhow::{Context, ensure};
use card_e2e::service::{ADMIN_TOKEN, TestService, fresh_templates_dir, header, http};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const FACEBOOK: &str = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";
const DISCORD: &str = "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| http())
}

async fn start() -> anyhow::Result<TestService> {
    // Every built design: the experiment runs `classic` against `ticket`.
    let dir = fresh_templates_dir("share-links")?;
    TestService::start_with_templates(
        &dir,
        &[
            ("PLAYWRIGHT__ENABLED", "false"),
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("EXPERIMENTS__MIN_UNFURLS", "200"),
        ],
    )
    .await
}

async fn put_experiment(svc: &TestService, weights: (u32, u32)) -> anyhow::Result<()> {
    let r = http()
        .put(svc.url("/admin/experiments"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "share-ab", "variants": [
            {"name": "a", "design": "classic", "weight": weights.0},
            {"name": "b", "design": "ticket", "weight": weights.1},
        ]}))
        .send()
        .await?;
    let status = r.status();
    ensure!(status == StatusCode::OK, "{status}: {}", r.text().await?);
    Ok(())
}

async fn results(svc: &TestService) -> anyhow::Result<Value> {
    let r = http()
        .get(svc.url("/admin/experiments/share-ab/results"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await?;
    ensure!(r.status() == StatusCode::OK, "{}", r.status());
    Ok(r.json().await?)
}

fn variant<'a>(results: &'a Value, name: &str) -> anyhow::Result<&'a Value> {
    results["variants"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["name"] == name))
        .with_context(|| format!("variant {name} in {results}"))
}

async fn visit(
    url: &str,
    agent: &str,
    extra: Option<(&str, &str)>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = no_redirects().get(url).header("user-agent", agent);
    if let Some((name, value)) = extra {
        request = request.header(name, value);
    }
    Ok(request.send().await?)
}

#[tokio::test]
async fn crawlers_unfurl_people_click_through_and_each_counts_once_for_its_variant()
-> anyhow::Result<()> {
    let svc = start().await?;
    put_experiment(&svc, (1, 1)).await?;
    let link: Value = http()
        .get(svc.url("/api/share-link/dl-0001"))
        .send()
        .await?
        .json()
        .await?;
    let published = link["variant"].as_str().context("variant")?.to_owned();
    let url = link["url"].as_str().context("url")?.to_owned();
    ensure!(
        url.ends_with(&format!("/share/dl-0001?v={published}")),
        "{link}"
    );
    ensure!(link["experiment"] == "share-ab", "{link}");
    ensure!(
        link["image_url"]
            .as_str()
            .is_some_and(|u| u.contains(&format!("/api/og-image/dl-0001?variant={published}"))),
        "{link}"
    );

    // A crawler: the tag page, naming the variant in og:url, with a visible link to the listing.
    let r = visit(&url, FACEBOOK, None).await?;
    ensure!(r.status() == StatusCode::OK, "{}", r.status());
    ensure!(
        header(&r, "vary")
            .to_ascii_lowercase()
            .contains("user-agent")
    );
    let page = r.text().await?;
    ensure!(
        page.contains(&format!("/share/dl-0001?v={published}\"")),
        "og:url: {page}"
    );
    ensure!(
        page.contains("href=\"https://dealbrain.app/listings/dl-0001\""),
        "{page}"
    );
    visit(&url, DISCORD, None).await?;

    // A person: redirected with the UTM parameters, never cached.
    let r = visit(&url, BROWSER, None).await?;
    ensure!(r.status().is_redirection(), "{}", r.status());
    ensure!(
        header(&r, "location")
            == format!(
                "https://dealbrain.app/listings/dl-0001?utm_source=share&utm_medium=og-card&utm_campaign=share-ab&utm_content={published}"
            ),
        "{}",
        header(&r, "location")
    );
    ensure!(header(&r, "cache-control") == "private, no-store");
    // The same person again, a prefetch, a bot with a browser-like agent: no more clicks.
    visit(&url, BROWSER, None).await?;
    visit(
        &url,
        "Mozilla/5.0 Firefox/121.0",
        Some(("sec-purpose", "prefetch")),
    )
    .await?;
    visit(
        &url,
        "Mozilla/5.0 Firefox/121.0",
        Some(("purpose", "prefetch")),
    )
    .await?;
    // Another person counts.
    visit(&url, "Mozilla/5.0 Firefox/121.0", None).await?;

    // Bad input answers 400 and counts nothing.
    let r = visit(&svc.url("/share/dl-0001?v=nope"), BROWSER, None).await?;
    ensure!(r.status() == StatusCode::BAD_REQUEST, "{}", r.status());
    let r = visit(&url, &format!("Mozilla/5.0 {}", "x".repeat(600)), None).await?;
    ensure!(r.status() == StatusCode::BAD_REQUEST, "{}", r.status());
    let body: Value = r.json().await?;
    ensure!(body["code"] == "invalid-user-agent", "{body}");

    // A weight change leaves the published link on its variant.
    let other = if published == "a" {
        (1, 1000)
    } else {
        (1000, 1)
    };
    put_experiment(&svc, other).await?;
    let r = visit(&url, "Mozilla/5.0 Safari/17", None).await?;
    ensure!(
        header(&r, "location").ends_with(&format!("utm_content={published}")),
        "{}",
        header(&r, "location")
    );

    let results = results(&svc).await?;
    let v = variant(&results, &published)?;
    ensure!(v["clicks"] == 3, "clicks: {results}");
    ensure!(
        v["unfurls"] == 2 && v["unfurls_by_agent"]["facebook"] == 1,
        "{results}"
    );
    let unpublished = if published == "a" { "b" } else { "a" };
    ensure!(variant(&results, unpublished)?["clicks"] == 0, "{results}");
    ensure!(results["verdict"]["code"] == "not-enough-data", "{results}");
    svc.stop().await
}

#[tokio::test]
async fn results_name_a_winner_once_every_variant_has_enough_unfurls() -> anyhow::Result<()> {
    let svc = start().await?;
    put_experiment(&svc, (1, 1)).await?;
    // 250 unfurls of each variant; 25 people click a, 50 click b (each a different browser).
    for (name, clicks) in [("a", 25), ("b", 50)] {
        let url = svc.url(&format!("/share/dl-0002?v={name}"));
        for _ in 0..250 {
            visit(&url, FACEBOOK, None).await?;
        }
        for n in 0..clicks {
            visit(&url, &format!("Mozilla/5.0 person-{name}-{n}"), None).await?;
        }
    }
    let results = results(&svc).await?;
    let b = variant(&results, "b")?;
    ensure!(b["clicks"] == 50 && b["unfurls"] == 250, "{results}");
    ensure!(
        (b["ctr"].as_f64().unwrap_or(0.0) - 0.2).abs() < 1e-12,
        "{results}"
    );
    ensure!(
        (b["lift"].as_f64().unwrap_or(0.0) - 1.0).abs() < 1e-12,
        "b doubles a's rate: {results}"
    );
    ensure!(results["verdict"]["code"] == "variant-leads", "{results}");
    ensure!(
        results["verdict"]["text"] == "b leads a by +100.0 % (p = 0.0017)",
        "{results}"
    );
    svc.stop().await
}

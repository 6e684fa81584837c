//! Three instances sharing one bucket (in this process, real HTTP, a real S3 server): a change
//! made through any of them is what all of them serve. Rendering is off: these tests are about
//! which design, experiment and counts each instance serves, which needs no pixels. The same
//! behaviours through HAProxy and real processes are in `fleet.rs`.

use std::time::Duration;

use anyhow::{Context, ensure};
use card_e2e::s3::{DedicatedS3, S3Server};
use card_e2e::service::{
    ADMIN_TOKEN, TestService, dist_dir, fresh_templates_dir, header, http, s3_settings,
    served_digest, with_custom_section,
};
use card_e2e::wait;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The bound on a change reaching every instance: many poll intervals (200 ms here), for a
/// loaded 2-core machine. A bounded wait, not a speed assertion.
const CONVERGE: Duration = Duration::from_secs(20);

fn auth(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(ADMIN_TOKEN)
}

async fn fleet(s3: &S3Server, bucket: &str, n: usize) -> anyhow::Result<Vec<TestService>> {
    fleet_rendering(s3, bucket, n, false, &[]).await
}

/// `n` instances on one bucket, rendering or not, with `extra` settings on each.
async fn fleet_rendering(
    s3: &S3Server,
    bucket: &str,
    n: usize,
    render: bool,
    extra: &[(&str, &str)],
) -> anyhow::Result<Vec<TestService>> {
    s3.create_bucket(bucket).await?;
    let mut instances = Vec::new();
    for i in 0..n {
        let dir = fresh_templates_dir(&format!("{bucket}-{i}"))?;
        let id = format!("{bucket}-{i}");
        let mut settings = s3_settings(s3.endpoint(), bucket);
        settings.extend([
            ("PLAYWRIGHT__ENABLED", if render { "true" } else { "false" }),
            ("ADMIN__TOKEN", ADMIN_TOKEN),
            ("CONTROL__POLL_INTERVAL_MS", "200"),
            ("CONTROL__FLUSH_INTERVAL_MS", "1000"),
            ("CONTROL__HEARTBEAT_INTERVAL_MS", "1000"),
            ("CONTROL__INSTANCE_ID", id.as_str()),
            ("LISTINGS__PAGE_URL_TEMPLATE", PAGE_URL_TEMPLATE),
        ]);
        settings.extend(extra.iter().copied());
        instances.push(TestService::start_with_templates(&dir, &settings).await?);
    }
    Ok(instances)
}

/// `GET /admin/experiments/{name}/results` through `svc`.
async fn results(svc: &TestService, name: &str) -> anyhow::Result<Value> {
    json_of(
        auth(http().get(svc.url(&format!("/admin/experiments/{name}/results"))))
            .send()
            .await?,
    )
    .await
}

/// The check run an upload's answer names (from its page link).
fn run_of(body: &Value) -> anyhow::Result<String> {
    let page = body["checks"]["page"].as_str().context("checks.page")?;
    let (_, run) = page.split_once("&run=").context("a run in the page link")?;
    Ok(run.to_owned())
}

/// A page's text; 200 or an error naming the status.
async fn text_of(svc: &TestService, path: &str) -> anyhow::Result<String> {
    let r = http().get(svc.url(path)).send().await?;
    let status = r.status();
    let text = r.text().await?;
    ensure!(status == StatusCode::OK, "{path}: {status}: {text}");
    Ok(text)
}

async fn json_of(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status == StatusCode::OK, "{status}: {body}");
    Ok(body)
}

async fn all_serve(
    fleet: &[TestService],
    design: &str,
    digest: Option<&str>,
) -> anyhow::Result<()> {
    for svc in fleet {
        wait::until_true(
            &format!("{} serving {design} = {digest:?}", svc.base),
            CONVERGE,
            async || Ok(served_digest(&svc.base, design).await?.as_deref() == digest),
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn uploads_rollbacks_and_retirements_reach_every_instance() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let fleet = fleet(&s3, "control-designs", 3).await?;
    let original = std::fs::read(dist_dir()?.join("classic.wasm"))?;
    let v2 = with_custom_section(&original, "fleet-v2");
    let seeded = served_digest(&fleet[0].base, "classic")
        .await?
        .context("classic")?;
    // Every instance seeded the same bytes: one version, whoever won the first write.
    all_serve(&fleet, "classic", Some(&seeded)).await?;

    let r = auth(http().put(fleet[1].url("/admin/templates/classic")))
        .body(v2.clone())
        .send()
        .await?;
    let body = json_of(r).await?;
    ensure!(body["changed"] == true, "{body}");
    let v2_digest = body["template"]["digest"]
        .as_str()
        .context("digest")?
        .to_owned();
    all_serve(&fleet, "classic", Some(&v2_digest)).await?;

    let r = auth(http().post(fleet[2].url("/admin/templates/classic/rollback")))
        .send()
        .await?;
    let body = json_of(r).await?;
    ensure!(body["serving"] == true, "{body}");
    all_serve(&fleet, "classic", Some(&seeded)).await?;

    // Retiring a design the experiment serves is refused; another goes everywhere.
    let r = auth(http().delete(fleet[0].url("/admin/templates/classic")))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::CONFLICT, "{}", r.status());
    let r = auth(http().delete(fleet[0].url("/admin/templates/spotlight")))
        .send()
        .await?;
    json_of(r).await?;
    all_serve(&fleet, "spotlight", None).await?;

    // Every instance reports itself in sync, in the fleet view read from any of them.
    let view = wait::until(
        "every instance in sync in /admin/fleet",
        CONVERGE,
        async || {
            let view = json_of(
                auth(http().get(fleet[1].url("/admin/fleet")))
                    .send()
                    .await?,
            )
            .await?;
            let instances = view["instances"].as_array().context("instances")?;
            let synced = instances.len() == 3 && instances.iter().all(|i| i["in_sync"] == true);
            Ok(synced.then_some(view))
        },
    )
    .await?;
    ensure!(view["live"]["classic"] == json!(seeded), "{view}");
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn simultaneous_uploads_all_land_in_the_history_and_the_fleet_agrees() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let fleet = fleet(&s3, "control-race", 3).await?;
    let original = std::fs::read(dist_dir()?.join("classic.wasm"))?;
    let uploads = fleet.iter().enumerate().map(|(i, svc)| {
        let bytes = with_custom_section(&original, &format!("race-{i}"));
        let url = svc.url("/admin/templates/classic");
        async move {
            let r = auth(http().put(url)).body(bytes).send().await?;
            let body = json_of(r).await?;
            anyhow::Ok(
                body["template"]["digest"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    });
    let digests: Vec<String> = futures_util_join(uploads).await?;
    // One revision for the seed, one per upload: wait until instance 0 has read the last.
    let list = wait::until("instance 0 reads revision 4", CONVERGE, async || {
        let list = json_of(
            auth(http().get(fleet[0].url("/admin/templates")))
                .send()
                .await?,
        )
        .await?;
        Ok((list["revision"] == 4).then_some(list))
    })
    .await?;
    let classic = list["templates"]
        .as_array()
        .context("templates")?
        .iter()
        .find(|t| t["name"] == "classic")
        .context("classic")?
        .clone();
    let live = classic["published"]["digest"]
        .as_str()
        .context("live")?
        .to_owned();
    let mut named: Vec<String> = classic["history"]
        .as_array()
        .context("history")?
        .iter()
        .filter_map(|v| v["digest"].as_str().map(str::to_owned))
        .collect();
    named.push(live.clone());
    for d in &digests {
        ensure!(named.contains(d), "upload {d} lost: {classic}");
    }
    all_serve(&fleet, "classic", Some(&live)).await?;
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

/// Runs the futures side by side and collects their results in order.
async fn futures_util_join<T>(
    futures: impl Iterator<Item = impl Future<Output = anyhow::Result<T>> + Send + 'static>,
) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await??);
    }
    Ok(out)
}

#[tokio::test]
async fn experiments_assign_alike_everywhere_and_counts_add_up_across_restarts()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let mut fleet = fleet(&s3, "control-experiment", 3).await?;
    let experiment = json!({
        "name": "fleet-ab",
        "variants": [
            {"name": "a", "design": "classic", "weight": 1},
            {"name": "b", "design": "ticket", "weight": 1},
        ]
    });
    let r = auth(http().put(fleet[0].url("/admin/experiments")))
        .json(&experiment)
        .send()
        .await?;
    json_of(r).await?;
    for svc in &fleet {
        wait::until_true("the experiment everywhere", CONVERGE, async || {
            let e = json_of(
                auth(http().get(svc.url("/admin/experiments")))
                    .send()
                    .await?,
            )
            .await?;
            Ok(e["name"] == "fleet-ab")
        })
        .await?;
    }
    // Every instance names the same variant for each listing.
    for n in 1..=60 {
        let id = format!("dl-{n:04}");
        let mut seen = Vec::new();
        for svc in &fleet {
            let r = http().get(svc.url(&format!("/share/{id}"))).send().await?;
            ensure!(r.status() == StatusCode::OK, "share {id}: {}", r.status());
            seen.push(header(&r, "x-card-variant"));
        }
        ensure!(seen.iter().all(|v| *v == seen[0]), "{id}: {seen:?}");
    }

    // Impressions sent to each instance directly add up, read from any instance.
    let crawler = "facebookexternalhit/1.1";
    for (i, svc) in fleet.iter().enumerate() {
        for _ in 0..=i {
            // Rendering is off, so the image answers 503; the impression is counted on the pick.
            let _ = http()
                .get(svc.url("/api/og-image/dl-0001"))
                .header("user-agent", crawler)
                .send()
                .await?;
        }
    }
    let total = async |svc: &TestService| -> anyhow::Result<u64> {
        let stats = json_of(
            auth(http().get(svc.url("/admin/experiments/fleet-ab/stats")))
                .send()
                .await?,
        )
        .await?;
        Ok(stats["variants"]
            .as_object()
            .map(|v| v.values().filter_map(|x| x["impressions"].as_u64()).sum())
            .unwrap_or(0))
    };
    wait::until_true(
        "1 + 2 + 3 impressions, read through instance 0",
        CONVERGE,
        async || Ok(total(&fleet[0]).await? == 6),
    )
    .await?;

    // A restarted instance (graceful: it flushes) keeps its counts, and so does the sum.
    let restarted = fleet.remove(2);
    let dir = restarted.state.settings().templates.dir.clone();
    restarted.stop().await?;
    let mut settings = s3_settings(s3.endpoint(), "control-experiment");
    settings.extend([
        ("PLAYWRIGHT__ENABLED", "false"),
        ("ADMIN__TOKEN", ADMIN_TOKEN),
        ("CONTROL__POLL_INTERVAL_MS", "200"),
        ("CONTROL__FLUSH_INTERVAL_MS", "1000"),
        ("CONTROL__INSTANCE_ID", "control-experiment-2"),
    ]);
    let again = TestService::start_with_templates(&dir, &settings).await?;
    wait::until_true(
        "the sum after a restart, read through the restarted instance",
        CONVERGE,
        async || Ok(total(&again).await? == 6),
    )
    .await?;
    let _ = http()
        .get(again.url("/api/og-image/dl-0001"))
        .header("user-agent", crawler)
        .send()
        .await?;
    wait::until_true("one more impression counted on top", CONVERGE, async || {
        Ok(total(&fleet[1]).await? == 7)
    })
    .await?;
    again.stop().await?;
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn an_invalidation_through_one_instance_reaches_the_others() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let fleet = fleet_rendering(&s3, "control-invalidate", 2, true, &[]).await?;
    let url = fleet[1].url("/api/og-image/dl-0003");
    let cache_of = async || -> anyhow::Result<String> {
        let r = http().get(&url).send().await?;
        ensure!(r.status() == StatusCode::OK, "{}", r.status());
        Ok(header(&r, "x-cache"))
    };
    cache_of().await?;
    ensure!(
        cache_of().await? == "hit-memory",
        "the second fetch is a memory hit"
    );
    let r = auth(http().post(fleet[0].url("/admin/invalidate/dl-0003")))
        .send()
        .await?;
    ensure!(r.status() == StatusCode::ACCEPTED, "{}", r.status());
    // The other instance drops its memory entry: its next answer comes from S3 (or a render).
    wait::until_true(
        "instance 1 stops serving its memory entry",
        CONVERGE,
        async || Ok(cache_of().await? != "hit-memory"),
    )
    .await?;
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn cleanup_deletes_only_the_counts_of_experiments_ended_past_retention() -> anyhow::Result<()>
{
    use card_service::{CleanupOptions, RunRequest, Trigger};
    let s3 = S3Server::start().await?;
    let bucket = "control-retention";
    let fleet = fleet(&s3, bucket, 1).await?;
    let svc = &fleet[0];
    let crawler = "Discordbot/2.0";
    for name in ["old-ab", "new-ab"] {
        let experiment =
            json!({"name": name, "variants": [{"name": "a", "design": "classic", "weight": 1}]});
        json_of(
            auth(http().put(svc.url("/admin/experiments")))
                .json(&experiment)
                .send()
                .await?,
        )
        .await?;
        let _ = http()
            .get(svc.url("/api/og-image/dl-0001"))
            .header("user-agent", crawler)
            .send()
            .await?;
        let prefix = format!("control/counts/{name}/");
        wait::until_true(&format!("{prefix} flushed"), CONVERGE, async || {
            Ok(!s3.keys(bucket, &prefix).await?.is_empty())
        })
        .await?;
    }
    let before = s3.keys(bucket, "control/").await?;
    let later = std::time::SystemTime::now() + Duration::from_secs(91 * 86_400);
    let run = svc
        .state
        .jobs
        .run(
            RunRequest::Cleanup(CleanupOptions {
                dry_run: false,
                now: Some(later),
            }),
            Trigger::Manual,
        )
        .await?;
    let report = serde_json::to_value(&run.report)?;
    ensure!(report["deleted_counts"] == 1, "{report}");
    let after = s3.keys(bucket, "control/").await?;
    let gone: Vec<&String> = before.iter().filter(|k| !after.contains(k)).collect();
    ensure!(
        gone.len() == 1 && gone[0].starts_with("control/counts/old-ab/"),
        "cleanup deleted {gone:?}"
    );
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

/// A scripted population (five crawler families unfurling the share page and fetching the image,
/// people clicking, clicking again, prefetching, a bot with a browser-like agent) on two variants
/// across three instances: every count adds up exactly, through any instance and across a
/// restart; a weight change keeps published links on their variant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_population_of_crawlers_and_people_adds_up_exactly_across_instances_and_restarts()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "control-clicks";
    let mut fleet = fleet(&s3, bucket, 3).await?;
    put_experiment_everywhere(&fleet, "clicks-ab", (1, 1)).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    const CRAWLERS: [&str; 5] = [
        "facebookexternalhit/1.1",
        "Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    ];
    // People per instance and variant: a gets 2, b gets 3.
    let people = |variant: &str| if variant == "a" { 2 } else { 3 };
    for variant in ["a", "b"] {
        for (i, svc) in fleet.iter().enumerate() {
            let share = svc.url(&format!("/share/dl-0005?v={variant}"));
            let image = svc.url(&format!("/api/og-image/dl-0005?variant={variant}"));
            for agent in CRAWLERS {
                let r = client
                    .get(&share)
                    .header("user-agent", agent)
                    .send()
                    .await?;
                ensure!(r.status() == StatusCode::OK, "{agent}: {}", r.status());
                client
                    .get(&image)
                    .header("user-agent", agent)
                    .send()
                    .await?;
            }
            // Known bots never click, even with a browser-like agent: an unfurl by google.
            let r = client
                .get(&share)
                .header("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")
                .send()
                .await?;
            ensure!(r.status() == StatusCode::OK);
            for n in 0..people(variant) {
                let agent = format!("Mozilla/5.0 person-{variant}-{i}-{n}");
                for extra in [
                    None,
                    None,
                    Some(("sec-purpose", "prefetch")),
                    Some(("purpose", "prefetch")),
                ] {
                    let mut request = client.get(&share).header("user-agent", &agent);
                    if let Some((name, value)) = extra {
                        request = request.header(name, value);
                    }
                    let r = request.send().await?;
                    ensure!(r.status().is_redirection(), "{}", r.status());
                    ensure!(
                        header(&r, "location")
                            == format!(
                                "https://deals.example/l/dl-0005?ref=og&utm_source=share&utm_medium=og-card&utm_campaign=clicks-ab&utm_content={variant}"
                            ),
                        "{}",
                        header(&r, "location")
                    );
                }
            }
        }
    }
    // Per variant: 3 instances × (5 families + google) unfurls, 3 × 5 impressions, 3 × people.
    let expected = |variant: &str| (18, 15, 3 * people(variant));
    let totals = async |svc: &TestService, variant: &str| -> anyhow::Result<(u64, u64, u64)> {
        let r = results(svc, "clicks-ab").await?;
        let v = r["variants"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["name"] == variant).cloned())
            .with_context(|| format!("{variant} in {r}"))?;
        ensure!(v["unfurls_by_agent"]["bot"].is_null(), "{r}");
        Ok((
            v["unfurls"].as_u64().unwrap_or(0),
            v["impressions"].as_u64().unwrap_or(0),
            v["clicks"].as_u64().unwrap_or(0),
        ))
    };
    for variant in ["a", "b"] {
        wait::until_true(
            &format!("{variant}'s counts through instance 0"),
            CONVERGE,
            async || Ok(totals(&fleet[0], variant).await? == expected(variant)),
        )
        .await?;
    }
    // A graceful restart flushes first: nothing is lost, nothing counted twice.
    let restarted = fleet.remove(1);
    let dir = restarted.state.settings().templates.dir.clone();
    restarted.stop().await?;
    let mut settings = s3_settings(s3.endpoint(), bucket);
    settings.extend([
        ("PLAYWRIGHT__ENABLED", "false"),
        ("ADMIN__TOKEN", ADMIN_TOKEN),
        ("CONTROL__POLL_INTERVAL_MS", "200"),
        ("CONTROL__INSTANCE_ID", "control-clicks-1"),
        ("LISTINGS__PAGE_URL_TEMPLATE", PAGE_URL_TEMPLATE),
    ]);
    fleet.push(TestService::start_with_templates(&dir, &settings).await?);
    for variant in ["a", "b"] {
        wait::until_true(
            &format!("{variant}'s counts through the restarted instance"),
            CONVERGE,
            async || Ok(totals(&fleet[2], variant).await? == expected(variant)),
        )
        .await?;
    }
    // A weight change mid-test: a link published with `v=a` stays attributed to a.
    put_experiment_everywhere(&fleet, "clicks-ab", (1, 1000)).await?;
    let r = client
        .get(fleet[1].url("/share/dl-0005?v=a"))
        .header("user-agent", "Mozilla/5.0 late-person")
        .send()
        .await?;
    ensure!(
        header(&r, "location").ends_with("utm_content=a"),
        "{}",
        header(&r, "location")
    );
    wait::until_true("the late click on a", CONVERGE, async || {
        Ok(totals(&fleet[0], "a").await? == (18, 15, 7))
    })
    .await?;
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

/// Promotion end to end: the variant's design becomes the default on every instance, the
/// experiment moves to the history with its results, new share links name no variant, and an old
/// link still takes people to the listing without counting. Bad promotions change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promoting_a_variant_makes_its_design_the_default_everywhere_and_keeps_the_results()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let fleet = fleet(&s3, "control-promote", 2).await?;
    put_experiment_everywhere(&fleet, "promo-ab", (1, 1)).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let share = fleet[1].url("/share/dl-0001?v=b");
    client
        .get(&share)
        .header("user-agent", "Twitterbot/1.0")
        .send()
        .await?;
    client
        .get(&share)
        .header("user-agent", "Mozilla/5.0 one-person")
        .send()
        .await?;

    let promote = async |svc: &TestService,
                         experiment: &str,
                         body: Value|
           -> anyhow::Result<(StatusCode, Value)> {
        let r = auth(http().post(svc.url(&format!("/admin/experiments/{experiment}/promote"))))
            .json(&body)
            .send()
            .await?;
        Ok((r.status(), r.json().await?))
    };
    for (experiment, body, status, code) in [
        (
            "promo-ab",
            json!({"variant": "nope"}),
            StatusCode::BAD_REQUEST,
            "unknown-variant",
        ),
        (
            "promo-ab",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "promote-invalid",
        ),
        (
            "no-such-test",
            json!({"variant": "b"}),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
    ] {
        let (got, answer) = promote(&fleet[0], experiment, body).await?;
        ensure!(
            got == status && answer["code"] == code,
            "{experiment}: {got} {answer}"
        );
    }
    let current = json_of(
        auth(http().get(fleet[1].url("/admin/experiments")))
            .send()
            .await?,
    )
    .await?;
    ensure!(
        current["name"] == "promo-ab",
        "a refused promotion changes nothing: {current}"
    );

    // The designer promotes once the counts show (instance 1 flushes them within a second).
    wait::until_true("b's click through instance 0", CONVERGE, async || {
        let r = results(&fleet[0], "promo-ab").await?;
        Ok(r["variants"][1]["clicks"] == 1 && r["variants"][1]["unfurls"] == 1)
    })
    .await?;
    let (status, promoted) = promote(&fleet[0], "promo-ab", json!({"variant": "b"})).await?;
    ensure!(
        status == StatusCode::OK && promoted["default"] == "ticket",
        "{promoted}"
    );
    ensure!(
        promoted["results"]["variants"][1]["clicks"] == 1,
        "{promoted}"
    );
    for svc in &fleet {
        wait::until_true(
            &format!("{} serving ticket by default", svc.base),
            CONVERGE,
            async || {
                let link = json_of(
                    http()
                        .get(svc.url("/api/share-link/dl-0001"))
                        .send()
                        .await?,
                )
                .await?;
                let current = json_of(
                    auth(http().get(svc.url("/admin/experiments")))
                        .send()
                        .await?,
                )
                .await?;
                Ok(link["variant"].is_null()
                    && link["url"]
                        .as_str()
                        .is_some_and(|u| u.ends_with("/share/dl-0001"))
                    && current["variants"][0]["design"] == "ticket")
            },
        )
        .await?;
        let history = json_of(
            auth(http().get(svc.url("/admin/experiments/history")))
                .send()
                .await?,
        )
        .await?;
        let last = &history["experiments"][0];
        ensure!(
            last["name"] == "promo-ab"
                && last["promoted"] == "b"
                && last["promoted_design"] == "ticket",
            "{history}"
        );
        ensure!(last["results"]["variants"][1]["clicks"] == 1, "{history}");
    }
    let (status, again) = promote(&fleet[1], "promo-ab", json!({"variant": "a"})).await?;
    ensure!(
        status == StatusCode::CONFLICT && again["code"] == "experiment-not-running",
        "{again}"
    );
    // A link published during the test still takes people to the listing, labelled with the
    // experiment it came from, and counts nothing more.
    let r = client
        .get(&share)
        .header("user-agent", "Mozilla/5.0 late-person")
        .send()
        .await?;
    ensure!(
        header(&r, "location").ends_with("utm_campaign=promo-ab&utm_content=b"),
        "{}",
        header(&r, "location")
    );
    let results = results(&fleet[0], "promo-ab").await?;
    ensure!(
        results["running"] == false && results["promoted"] == "b",
        "{results}"
    );
    ensure!(results["variants"][1]["clicks"] == 1, "{results}");
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

const PAGE_URL_TEMPLATE: &str = "https://deals.example/l/{id}?ref=og";

async fn put_experiment_everywhere(
    fleet: &[TestService],
    name: &str,
    weights: (u32, u32),
) -> anyhow::Result<()> {
    let experiment = json!({"name": name, "variants": [
        {"name": "a", "design": "classic", "weight": weights.0},
        {"name": "b", "design": "ticket", "weight": weights.1},
    ]});
    json_of(
        auth(http().put(fleet[0].url("/admin/experiments")))
            .json(&experiment)
            .send()
            .await?,
    )
    .await?;
    for svc in fleet {
        wait::until_true(
            &format!("{name} {weights:?} on {}", svc.base),
            CONVERGE,
            async || {
                let e = json_of(
                    auth(http().get(svc.url("/admin/experiments")))
                        .send()
                        .await?,
                )
                .await?;
                Ok(e["name"] == name && e["variants"][1]["weight"] == weights.1)
            },
        )
        .await?;
    }
    Ok(())
}

/// A dry run through one instance publishes nothing on any: no component in the bucket, no
/// manifest change, every instance keeps its version. A real upload of the same bytes then
/// reaches every instance, so the quiet wait above could have seen one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_publishes_nothing_on_any_instance() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "control-dry-run";
    let fleet = fleet_rendering(&s3, bucket, 2, true, &[("CONTROL__CHECK_RUNS_KEPT", "2")]).await?;
    let store = card_control::ControlStore::new(s3.client(), bucket);
    let minimal = std::fs::read(dist_dir()?.join("minimal.wasm"))?;
    let rebuilt = with_custom_section(&minimal, "dry-run");
    let revision = async || -> anyhow::Result<u64> {
        let list = json_of(
            auth(http().get(fleet[1].url("/admin/templates")))
                .send()
                .await?,
        )
        .await?;
        list["revision"].as_u64().context("revision")
    };
    wait::until_true("a manifest on every instance", CONVERGE, async || {
        Ok(revision().await.is_ok())
    })
    .await?;
    let (before, components) = (
        revision().await?,
        store.list("control/designs/minimal/").await?,
    );
    ensure!(
        !components.is_empty(),
        "minimal's component is in the bucket"
    );
    let served = [
        served_digest(&fleet[0].base, "minimal").await?,
        served_digest(&fleet[1].base, "minimal").await?,
    ];

    let r = auth(http().put(fleet[0].url("/admin/templates/minimal?dry_run=true")))
        .body(rebuilt.clone())
        .send()
        .await?;
    let body = json_of(r).await?;
    ensure!(
        body["dry_run"] == true && body["published"] == false,
        "{body}"
    );
    ensure!(
        body["diff"]["most_changed"] == 0.0,
        "same pixels, another digest: {body}"
    );
    wait::never(
        "a dry run reached the fleet",
        Duration::from_secs(3),
        async || {
            Ok(revision().await? != before
                || store.list("control/designs/minimal/").await? != components
                || served_digest(&fleet[0].base, "minimal").await? != served[0]
                || served_digest(&fleet[1].base, "minimal").await? != served[1])
        },
    )
    .await?;

    // The run is in the control plane: the other instance shows its page and serves its cards.
    ensure!(body["checks"]["kept"]["where"] == "fleet", "{body}");
    let first = run_of(&body)?;
    let html = text_of(&fleet[1], "/preview/diff?design=minimal").await?;
    ensure!(
        html.contains(&first)
            && html.contains("dry run: not published")
            && html.contains("checked on control-dry-run-0"),
        "instance 1 shows instance 0's run: {html}"
    );
    for listing in body["diff"]["listings"].as_array().context("diff")? {
        for kind in ["before", "after", "diff"] {
            let url = listing["images"][kind].as_str().context("image link")?;
            let r = http().get(fleet[1].url(url)).send().await?;
            ensure!(r.status() == StatusCode::OK, "{url}: {}", r.status());
            ensure!(
                r.headers()[reqwest::header::CONTENT_TYPE] == "image/png",
                "{url}"
            );
            ensure!(r.bytes().await?.starts_with(b"\x89PNG"), "{url}");
        }
    }
    // The bucket keeps the last CONTROL__CHECK_RUNS_KEPT (2) runs of the design: two more dry
    // runs push the first out, on every instance.
    let mut runs = vec![first.clone()];
    for svc in &fleet {
        let r = auth(http().put(svc.url("/admin/templates/minimal?dry_run=true")))
            .body(rebuilt.clone())
            .send()
            .await?;
        runs.push(run_of(&json_of(r).await?)?);
    }
    let kept: std::collections::BTreeSet<String> = store
        .list("control/checks/minimal/")
        .await?
        .iter()
        .filter_map(|k| k.split('/').nth(3).map(str::to_owned))
        .collect();
    ensure!(
        kept.iter().eq(runs[1..].iter()),
        "the newest two runs {:?} are kept, not {kept:?}",
        &runs[1..]
    );
    let r = http()
        .get(fleet[1].url(&format!("/preview/diff?design=minimal&run={first}")))
        .send()
        .await?;
    ensure!(
        r.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "the pruned run: {}",
        r.status()
    );
    let html = text_of(&fleet[0], "/preview/diff?design=minimal").await?;
    ensure!(
        html.contains(&runs[2]) && html.contains(&format!("run={}", runs[1])),
        "the latest run, with a link to the one before: {html}"
    );

    let r = auth(http().put(fleet[0].url("/admin/templates/minimal")))
        .body(rebuilt)
        .send()
        .await?;
    let body = json_of(r).await?;
    let digest = body["template"]["digest"]
        .as_str()
        .context("digest")?
        .to_owned();
    all_serve(&fleet, "minimal", Some(&digest)).await?;
    ensure!(revision().await? > before);
    for svc in fleet {
        svc.stop().await?;
    }
    Ok(())
}

/// With the bucket gone, a dry run still runs its checks; its run stays on the instance that took
/// it (the answer says why) and that instance's page shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_run_the_bucket_refuses_stays_on_its_instance() -> anyhow::Result<()> {
    let mut s3 = DedicatedS3::start("control-checks-outage").await?;
    let dir = fresh_templates_dir("control-checks-outage")?;
    let mut settings = s3_settings(s3.endpoint(), s3.bucket());
    settings.extend([
        ("PLAYWRIGHT__ENABLED", "true"),
        ("ADMIN__TOKEN", ADMIN_TOKEN),
        ("CONTROL__POLL_INTERVAL_MS", "200"),
        ("S3__TIMEOUT_MS", "1000"),
    ]);
    let svc = TestService::start_with_templates(&dir, &settings).await?;
    wait::until_true(
        "the instance joined the control plane",
        CONVERGE,
        async || {
            let r = auth(http().get(svc.url("/admin/templates"))).send().await?;
            Ok(r.json::<Value>().await?["revision"].as_u64().is_some())
        },
    )
    .await?;
    s3.stop();
    let minimal = std::fs::read(dist_dir()?.join("minimal.wasm"))?;
    let r = auth(http().put(svc.url("/admin/templates/minimal?dry_run=true")))
        .body(with_custom_section(&minimal, "outage"))
        .send()
        .await?;
    let body = json_of(r).await?;
    let kept = &body["checks"]["kept"];
    ensure!(
        kept["where"] == "instance"
            && kept["message"]
                .as_str()
                .is_some_and(|m| m.contains("could not be written to the control plane")),
        "{body}"
    );
    let run = run_of(&body)?;
    let html = text_of(&svc, "/preview/diff?design=minimal").await?;
    ensure!(html.contains(&run), "{html}");
    let url = body["diff"]["listings"][0]["images"]["diff"]
        .as_str()
        .context("diff image")?;
    let r = http().get(svc.url(url)).send().await?;
    ensure!(r.status() == StatusCode::OK, "{url}: {}", r.status());
    svc.stop().await?;
    Ok(())
}

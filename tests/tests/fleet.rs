//! A fleet of real `card-service` processes behind a real HAProxy, sharing a real S3 bucket
//! (`card_e2e::fleet`, what `cargo xtask dev --instances N` runs): requests through the load
//! balancer reach every instance, and a killed instance is routed around, then taken back.
//!
//! HAProxy missing is a failure naming `cargo xtask test` (which installs it), never a skip.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use card_e2e::build::service_binary;
use card_e2e::fleet::{Fleet, FleetOptions, FleetS3, free_port_run};
use card_e2e::s3::{DedicatedS3, S3Server};
use card_e2e::service::{
    ADMIN_TOKEN, dist_dir, fresh_templates_dir, header, http, require_browser, served_digest,
    test_settings, with_custom_section,
};
use card_e2e::wait;
use card_service::procfs;

const BUCKET: &str = "fleet-card-images";
const INSTANCES: u16 = 3;
/// How many requests a round over the load balancer makes: four per instance, round robin.
const ROUND: usize = 12;
/// Ample for HAProxy to see a dead instance (2 failed checks, 1 s apart) on a loaded machine.
const DETECTION: Duration = Duration::from_secs(30);

/// One image request through `url`: a 200 with an image, and the instance that answered.
async fn image_from(url: &str) -> anyhow::Result<String> {
    let response = http()
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let instance = header(&response, "x-card-instance");
    ensure!(
        status == 200,
        "GET {url}: {status} from {instance:?}: {}",
        response.text().await.unwrap_or_default()
    );
    ensure!(
        header(&response, "content-type").starts_with("image/"),
        "GET {url} from {instance}: not an image"
    );
    ensure!(!instance.is_empty(), "GET {url}: no X-Card-Instance");
    Ok(instance)
}

/// `ROUND` image requests through `url`: how many each instance answered.
async fn round(url: &str) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut answered = BTreeMap::new();
    for _ in 0..ROUND {
        *answered.entry(image_from(url).await?).or_default() += 1;
    }
    Ok(answered)
}

/// Every process of `pid`'s tree now, by identity (pid and start time: immune to pid reuse).
fn tree_identities(pid: u32) -> Vec<(i32, u64)> {
    procfs::tree(i32::try_from(pid).unwrap_or_default())
        .into_iter()
        .filter_map(procfs::identity)
        .collect()
}

/// Waits (bounded: a SIGKILLed process takes a moment to exit) until none of `processes` lives.
async fn all_gone(what: &str, processes: &[(i32, u64)]) -> anyhow::Result<()> {
    let mut left = Vec::new();
    let gone = wait::until_true(
        &format!("{what} gone"),
        Duration::from_secs(10),
        async || {
            left = processes.iter().filter(|p| procfs::is_alive(**p)).collect();
            Ok(left.is_empty())
        },
    )
    .await;
    gone.with_context(|| format!("still alive: {left:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_behind_haproxy_serves_from_every_instance_and_routes_around_a_killed_one()
-> anyhow::Result<()> {
    require_browser()?;
    let designs = dist_dir()?;
    let s3 = S3Server::start().await?;
    s3.create_bucket(BUCKET).await?;
    let binary = service_binary(false)?;
    let base = free_port_run(INSTANCES)?;
    let state_dir = std::env::temp_dir().join(format!("card-e2e-fleet-{}", std::process::id()));
    let mut options = FleetOptions::new(
        binary,
        usize::from(INSTANCES),
        SocketAddr::from((Ipv4Addr::LOCALHOST, base)),
        state_dir.clone(),
        designs.clone(),
        FleetS3::local(s3.endpoint(), BUCKET),
    );
    options.env = test_settings(&designs);
    let started = Instant::now();
    let mut fleet = Fleet::start(options).await?;
    eprintln!(
        "{INSTANCES} instances and HAProxy ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let ids: Vec<String> = fleet.instances().iter().map(|i| i.id.clone()).collect();
    let url = format!("{}/api/og-image/dl-0001", fleet.lb_url());

    // (a) Round robin: every instance answers through the load balancer.
    let answered = round(&url).await?;
    ensure!(
        answered.keys().eq(ids.iter()),
        "{ROUND} requests through {} reached {answered:?}, not each of {ids:?}",
        fleet.lb_url()
    );
    // Share pages name the load balancer, not the instance that rendered them.
    let share = http()
        .get(format!("{}/share/dl-0001", fleet.lb_url()))
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        share.contains(&format!("{}/api/og-image/dl-0001", fleet.lb_url())),
        "the share page does not point at the load balancer {}:\n{share}",
        fleet.lb_url()
    );

    // (b) A crash: the instance and everything it started die; requests keep succeeding while
    // HAProxy notices (a refused connection is retried on another instance), then it is DOWN.
    let victim = 1;
    let victim_id = ids[victim].clone();
    let pid = fleet.instances()[victim]
        .pid()
        .context("the victim is not running")?;
    let tree = tree_identities(pid);
    ensure!(tree.len() > 1, "{victim_id} started no Chromium or driver");
    fleet.kill(victim);
    all_gone(&format!("{victim_id}'s killed tree"), &tree).await?;
    let mut served_meanwhile = 0;
    wait::until(
        &format!("HAProxy marks the killed {victim_id} DOWN"),
        DETECTION,
        async || {
            let instance = image_from(&url).await?;
            ensure!(instance != victim_id, "a dead instance answered");
            served_meanwhile += 1;
            let states = fleet.server_states().await?;
            Ok(states
                .iter()
                .any(|s| s.id == victim_id && s.status.starts_with("DOWN"))
                .then_some(()))
        },
    )
    .await?;
    eprintln!("{served_meanwhile} requests served while HAProxy noticed the crash");
    let answered = round(&url).await?;
    let expected: Vec<&String> = ids.iter().filter(|id| **id != victim_id).collect();
    ensure!(
        answered.keys().eq(expected.iter().copied()),
        "with {victim_id} down, {ROUND} requests reached {answered:?}, not each of {expected:?}"
    );

    // Restarted with the same id and port, it is UP again and takes its share.
    fleet.restart(victim).await?;
    ensure!(
        fleet.is_up(victim).await?,
        "{victim_id} is not UP after restart"
    );
    wait::until(
        &format!("the restarted {victim_id} answers through the load balancer"),
        DETECTION,
        async || Ok((image_from(&url).await? == victim_id).then_some(())),
    )
    .await?;

    // Stopping leaves nothing behind: no instance, Chromium, driver or HAProxy, no listener.
    let everything: Vec<(i32, u64)> = fleet
        .instances()
        .iter()
        .filter_map(|i| i.pid())
        .flat_map(tree_identities)
        .collect();
    let ports: Vec<u16> = (base..=base + INSTANCES).collect();
    let graceful = fleet.stop().await;
    eprintln!(
        "the fleet stopped {}",
        if graceful {
            "gracefully"
        } else {
            "(some killed)"
        }
    );
    all_gone("the stopped fleet's processes", &everything).await?;
    for port in ports {
        ensure!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "127.0.0.1:{port} still accepts connections after stop"
        );
    }
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(())
}

/// The bound on a change reaching every instance (poll interval 500 ms here): a bounded wait
/// for a loaded 2-core machine, not the target, which the printed p95 is compared with.
const CONVERGE: Duration = Duration::from_secs(30);

fn admin(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(ADMIN_TOKEN)
}

async fn json_ok(response: reqwest::Response) -> anyhow::Result<serde_json::Value> {
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    ensure!(status == 200, "{status}: {body}");
    Ok(body)
}

/// Whether `/admin/fleet` through `lb` shows instance `id` with `flag` (`stale`, `in_sync`) true.
async fn fleet_flag(lb: &str, id: &str, flag: &str) -> anyhow::Result<bool> {
    let view = json_ok(
        admin(http().get(format!("{lb}/admin/fleet")))
            .send()
            .await?,
    )
    .await?;
    Ok(view["instances"]
        .as_array()
        .is_some_and(|all| all.iter().any(|i| i["instance"] == id && i[flag] == true)))
}

/// Waits until every instance serves `digest` of `design`; returns how long it took.
async fn converge(fleet: &Fleet, design: &str, digest: Option<&str>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for instance in fleet.instances() {
        wait::until_true(
            &format!("{} serving {design} {digest:?}", instance.id),
            CONVERGE,
            async || Ok(served_digest(&instance.url, design).await?.as_deref() == digest),
        )
        .await?;
    }
    Ok(started.elapsed())
}

/// `/readyz`'s control detail of every instance satisfies `holds`.
async fn every_control(
    fleet: &Fleet,
    what: &str,
    holds: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<()> {
    for instance in fleet.instances() {
        let mut last = serde_json::Value::Null;
        wait::until_true(&format!("{}: {what}", instance.id), CONVERGE, async || {
            let ready: serde_json::Value = http()
                .get(format!("{}/readyz", instance.url))
                .send()
                .await?
                .json()
                .await?;
            last = ready["control"].clone();
            Ok(holds(&last))
        })
        .await
        .with_context(|| format!("last control detail {last}"))?;
    }
    Ok(())
}

fn p95(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 95).div_ceil(100).saturating_sub(1)]
}

/// Requests through the load balancer until stopped: every answer must be a 200 image from a
/// design the manifest named (`classic@…`, `ticket@…`). Returns how many were served.
fn stream(lb: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<anyhow::Result<usize>> {
    tokio::spawn(async move {
        let mut served = 0;
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let url = format!("{lb}/api/og-image/dl-{:04}", 1 + n % 3);
            let r = http().get(&url).send().await?;
            let label = header(&r, "x-card-template");
            ensure!(
                r.status() == 200
                    && (label.starts_with("classic@") || label.starts_with("ticket@")),
                "during changes, {url}: {} {label:?} from {}",
                r.status(),
                header(&r, "x-card-instance")
            );
            served += 1;
        }
        Ok(served)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_keeps_a_fleet_behind_haproxy_in_step() -> anyhow::Result<()> {
    require_browser()?;
    let s3 = DedicatedS3::start("fleet-control").await?;
    // The designs directory holds the original classic: the "older image" a restart must not
    // bring back once the manifest names a newer version.
    let designs = fresh_templates_dir("fleet-control")?;
    let original = std::fs::read(designs.join("classic.wasm"))?;
    let binary = service_binary(false)?;
    let base = free_port_run(INSTANCES)?;
    let state_dir =
        std::env::temp_dir().join(format!("card-e2e-fleet-control-{}", std::process::id()));
    let mut options = FleetOptions::new(
        binary,
        usize::from(INSTANCES),
        SocketAddr::from((Ipv4Addr::LOCALHOST, base)),
        state_dir.clone(),
        designs.clone(),
        FleetS3::local(s3.endpoint(), s3.bucket()),
    );
    options.admin_token = Some(ADMIN_TOKEN.into());
    options.env = test_settings(&designs);
    options.env.extend(
        [
            ("CONTROL__POLL_INTERVAL_MS", "500"),
            ("CONTROL__HEARTBEAT_INTERVAL_MS", "1000"),
            ("CONTROL__FLUSH_INTERVAL_MS", "1000"),
            ("S3__TIMEOUT_MS", "1000"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut fleet = Fleet::start(options).await?;
    let lb = fleet.lb_url().to_owned();

    // 20 uploads through the load balancer while requests stream through it: every instance
    // serves each within the bound, and no request sees anything but a 200 from a named design.
    let stop = Arc::new(AtomicBool::new(false));
    let streaming = stream(lb.clone(), stop.clone());
    let mut times = Vec::new();
    let mut digests = Vec::new();
    for n in 0..20 {
        let bytes = with_custom_section(&original, &format!("fleet-{n}"));
        let body = json_ok(
            admin(http().put(format!("{lb}/admin/templates/classic")))
                .body(bytes)
                .send()
                .await?,
        )
        .await?;
        let digest = body["template"]["digest"]
            .as_str()
            .context("digest")?
            .to_owned();
        times.push(converge(&fleet, "classic", Some(&digest)).await?);
        digests.push(digest);
    }
    // A rollback and a retirement, the same way.
    json_ok(
        admin(http().post(format!("{lb}/admin/templates/classic/rollback")))
            .send()
            .await?,
    )
    .await?;
    times.push(converge(&fleet, "classic", Some(&digests[18])).await?);
    json_ok(
        admin(http().delete(format!("{lb}/admin/templates/spotlight")))
            .send()
            .await?,
    )
    .await?;
    times.push(converge(&fleet, "spotlight", None).await?);

    // An experiment through the load balancer: every instance assigns each of 200 listings alike.
    let experiment = serde_json::json!({"name": "fleet-ab", "variants": [
        {"name": "a", "design": "classic", "weight": 1},
        {"name": "b", "design": "ticket", "weight": 1},
    ]});
    json_ok(
        admin(http().put(format!("{lb}/admin/experiments")))
            .json(&experiment)
            .send()
            .await?,
    )
    .await?;
    let started = Instant::now();
    for instance in fleet.instances() {
        wait::until_true(
            &format!("{} runs fleet-ab", instance.id),
            CONVERGE,
            async || {
                let e = json_ok(
                    admin(http().get(format!("{}/admin/experiments", instance.url)))
                        .send()
                        .await?,
                )
                .await?;
                Ok(e["name"] == "fleet-ab")
            },
        )
        .await?;
    }
    times.push(started.elapsed());
    let mut variants = BTreeMap::new();
    for n in 1..=200 {
        let mut seen = Vec::new();
        for instance in fleet.instances() {
            let r = http()
                .get(format!("{}/share/dl-{n:04}", instance.url))
                .send()
                .await?;
            ensure!(r.status() == 200, "share dl-{n:04}: {}", r.status());
            seen.push(header(&r, "x-card-variant"));
        }
        ensure!(seen.iter().all(|v| *v == seen[0]), "dl-{n:04}: {seen:?}");
        *variants.entry(seen[0].clone()).or_insert(0) += 1;
    }
    ensure!(
        variants.len() == 2,
        "200 listings all on one variant: {variants:?}"
    );
    stop.store(true, Ordering::Relaxed);
    let during = streaming.await??;
    eprintln!(
        "fleet: {} changes, convergence on all {INSTANCES} instances p95 {} ms (max {} ms); {during} requests through HAProxy during them, all 200; variants {variants:?}",
        times.len(),
        p95(times.clone()).as_millis(),
        times.iter().max().copied().unwrap_or_default().as_millis()
    );

    // Impressions sent to each instance directly add up in the stats read through the LB (the
    // crawler family only: the stream above was counted too, as `other`).
    let crawler = "Slackbot-LinkExpanding 1.0";
    let mut sent = 0;
    for (i, instance) in fleet.instances().iter().enumerate() {
        for _ in 0..=i {
            let r = http()
                .get(format!("{}/api/og-image/dl-0001", instance.url))
                .header("user-agent", crawler)
                .send()
                .await?;
            ensure!(r.status() == 200, "{}", r.status());
            sent += 1;
        }
    }
    let total = async |base: &str| -> anyhow::Result<u64> {
        let stats = json_ok(
            admin(http().get(format!("{base}/admin/experiments/fleet-ab/stats")))
                .send()
                .await?,
        )
        .await?;
        Ok(stats["variants"]
            .as_object()
            .map(|v| {
                v.values()
                    .filter_map(|x| x["by_agent"]["slack"].as_u64())
                    .sum()
            })
            .unwrap_or(0))
    };
    wait::until_true(
        "the impressions add up through the LB",
        CONVERGE,
        async || Ok(total(&lb).await? == sent),
    )
    .await?;
    // Instance 1 sees them all: the others' are flushed to their objects.
    let first = fleet.instances()[0].url.clone();
    wait::until_true(
        "instance 1 sums the others' flushed counts",
        CONVERGE,
        async || Ok(total(&first).await? == sent),
    )
    .await?;

    // A killed instance goes stale in /admin/fleet; restarted, it rejoins in sync, serves the
    // manifest's classic (not its directory's older one) and its counts are still there.
    let victim = 2;
    let victim_id = fleet.instances()[victim].id.clone();
    fleet.kill(victim);
    wait::until_true(
        &format!("{victim_id} stale in /admin/fleet"),
        CONVERGE,
        async || fleet_flag(&lb, &victim_id, "stale").await,
    )
    .await?;
    fleet.restart(victim).await?;
    let victim_url = fleet.instances()[victim].url.clone();
    ensure!(
        served_digest(&victim_url, "classic").await?.as_deref() == Some(digests[18].as_str()),
        "the restart brought back TEMPLATES__DIR's classic"
    );
    ensure!(
        served_digest(&victim_url, "spotlight").await?.is_none(),
        "a retired design came back"
    );
    wait::until_true(
        &format!("{victim_id} in sync in /admin/fleet"),
        CONVERGE,
        async || fleet_flag(&lb, &victim_id, "in_sync").await,
    )
    .await?;
    ensure!(
        total(&victim_url).await? == sent,
        "the restarted instance lost counts"
    );

    // Faults. A manifest that does not parse: every instance keeps serving and says so; an
    // admin change is refused; a good manifest again is picked up.
    let client = s3.client();
    let key = "control/manifest.json";
    let good = client
        .get_object()
        .bucket(s3.bucket())
        .key(key)
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    let put = async |bytes: Vec<u8>| {
        client
            .put_object()
            .bucket(s3.bucket())
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .map(|_| ())
    };
    put(b"{ not a manifest".to_vec()).await?;
    every_control(&fleet, "reports the broken manifest", |c| {
        c["problems"].to_string().contains("does not parse")
    })
    .await?;
    round(&format!("{lb}/api/og-image/dl-0002")).await?;
    let refused = admin(http().post(format!("{lb}/admin/templates/classic/rollback")))
        .send()
        .await?;
    ensure!(
        refused.status() == 503,
        "a change on a broken manifest: {}",
        refused.status()
    );
    put(good.to_vec()).await?;
    every_control(&fleet, "in sync again", |c| c["status"] == "in-sync").await?;

    // A manifest naming a component that is not in the bucket: the live version stays.
    let mut manifest: serde_json::Value = serde_json::from_slice(&good)?;
    manifest["designs"]["classic"]["live"]["digest"] = serde_json::json!("ab".repeat(32));
    manifest["revision"] = serde_json::json!(manifest["revision"].as_u64().unwrap_or(0) + 1);
    put(serde_json::to_vec(&manifest)?).await?;
    every_control(&fleet, "reports the missing component", |c| {
        c["problems"].to_string().contains("missing")
    })
    .await?;
    for instance in fleet.instances() {
        ensure!(
            served_digest(&instance.url, "classic").await?.as_deref() == Some(digests[18].as_str()),
            "{} dropped its last good classic",
            instance.id
        );
    }
    round(&format!("{lb}/api/og-image/dl-0003")).await?;
    put(good.to_vec()).await?;
    every_control(&fleet, "in sync again", |c| c["status"] == "in-sync").await?;

    // S3 unreachable while requests stream: only 200s, and an admin change answers 503
    // control-plane-unavailable with Retry-After, changing nothing.
    let stop = Arc::new(AtomicBool::new(false));
    let streaming = stream(lb.clone(), stop.clone());
    s3.freeze(true);
    let r = admin(http().put(format!("{lb}/admin/experiments")))
        .json(&experiment)
        .send()
        .await?;
    let status = r.status();
    let retry_after = header(&r, "retry-after");
    let body: serde_json::Value = r.json().await?;
    ensure!(
        status == 503 && body["code"] == "control-plane-unavailable" && !retry_after.is_empty(),
        "{status} {body} retry-after {retry_after:?}"
    );
    s3.freeze(false);
    stop.store(true, Ordering::Relaxed);
    let during = streaming.await??;
    every_control(&fleet, "in sync after S3 came back", |c| {
        c["status"] == "in-sync"
    })
    .await?;
    eprintln!("fleet: {during} requests through HAProxy while S3 was frozen, all 200");

    fleet.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(())
}

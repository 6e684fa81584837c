//! A fleet of real `card-service` processes behind a real HAProxy, sharing a real S3 bucket
//! (`card_e2e::fleet`, what `cargo xtask dev --instances N` runs): requests through the load
//! balancer reach every instance, and a killed instance is routed around, then taken back.
//!
//! HAProxy missing is a failure naming `cargo xtask test` (which installs it), never a skip.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use card_e2e::build::service_binary;
use card_e2e::fleet::{Fleet, FleetOptions, FleetS3, free_port_run};
use card_e2e::s3::S3Server;
use card_e2e::service::{dist_dir, header, http, require_browser, test_settings};
use card_e2e::wait;
use card_service::render::procfs;

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

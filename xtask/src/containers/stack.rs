//! `containers up|down|status`: docker-compose.yml as the project `card-service`.
//!
//! `up` builds missing images, frees 127.0.0.1:4566 from a host S3 server that `localstack up`
//! started (any other holder is named, with the fix), starts the stack and waits until LocalStack's init hook has run and the
//! service's `/readyz` answers 200; the time from `up` to ready is the report's last figure.

use std::{
    net::TcpListener,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};

use super::{
    images::{self, Build, LOCALSTACK_IMAGE, SERVICE_IMAGE},
    runtime::{Engine, Runtime},
};
use crate::{
    s3_server,
    util::{self, project_root},
};

/// The compose project name, so every command finds the same containers and network.
pub const PROJECT: &str = "card-service";
pub const SERVICE_URL: &str = "http://127.0.0.1:8080";
pub const LOCALSTACK_URL: &str = "http://127.0.0.1:4566";
const SERVICE_PORT: u16 = 8080;
const LOCALSTACK_PORT: u16 = 4566;

#[derive(Debug, Default, clap::Args)]
pub struct Up {
    /// Seconds to wait for the service's /readyz.
    #[arg(long, default_value_t = 180)]
    pub wait_seconds: u64,
}

impl Up {
    pub async fn run(&self, runtime: &Runtime) -> Result<()> {
        let ready = up(runtime, Duration::from_secs(self.wait_seconds)).await?;
        println!(
            "containers up: card-service on {SERVICE_URL} (ready {:.1}s after start), LocalStack on \
             {LOCALSTACK_URL}; stop with `cargo xtask containers down`",
            ready.as_secs_f64()
        );
        Ok(())
    }
}

/// The compose command for this project, run from the project root.
pub fn compose(runtime: &Runtime) -> Command {
    let mut cmd = runtime.compose();
    cmd.current_dir(project_root()).args(["-p", PROJECT]);
    cmd
}

/// Starts the stack and returns the time from `compose up` to the service's `/readyz` 200.
pub async fn up(runtime: &Runtime, patience: Duration) -> Result<Duration> {
    up_with(runtime, &[], patience, true).await
}

/// docker-compose.yml with `overrides` (compose files relative to the project root) layered over
/// it. Ready when `/readyz` answers 200 and, with `provisioned`, LocalStack's init hook has run.
pub async fn up_with(
    runtime: &Runtime,
    overrides: &[&str],
    patience: Duration,
    provisioned: bool,
) -> Result<Duration> {
    if !images::exists(runtime, SERVICE_IMAGE) || !images::exists(runtime, LOCALSTACK_IMAGE) {
        Build::default().run(runtime)?;
    }
    free_localstack_port()?;
    if !port_free(SERVICE_PORT) && !answers(&format!("{SERVICE_URL}/healthz")).await {
        bail!(
            "127.0.0.1:{SERVICE_PORT} is taken by another process (a `cargo xtask dev`?): stop it, \
             then run `cargo xtask containers up` again"
        );
    }
    let mut cmd = compose(runtime);
    if !overrides.is_empty() {
        cmd.args(["-f", "docker-compose.yml"]);
        for file in overrides {
            cmd.args(["-f", file]);
        }
        util::step(format_args!(
            "starting the stack (docker-compose.yml with {})",
            overrides.join(", ")
        ));
    } else {
        util::step("starting the stack (docker-compose.yml)");
    }
    let started = Instant::now();
    util::run(cmd.args(["up", "-d"]))?;
    let deadline = started + patience;
    // podman-compose 1.0.3 ignores `condition: service_healthy`, so the service may be ready
    // before the init hook made the bucket: the stack is up when both are.
    loop {
        if (!provisioned || localstack_provisioned().await) && readyz_ok().await {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            bail!(
                "the service did not become ready within {}s; see `{} logs {}`",
                patience.as_secs(),
                runtime_name(runtime),
                container(runtime, "card-service")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The container compose runs for `service`: podman-compose and Docker Compose name them apart.
pub fn container(runtime: &Runtime, service: &str) -> String {
    match runtime.engine {
        Engine::Docker => format!("{PROJECT}-{service}-1"),
        Engine::Podman { .. } => format!("{PROJECT}_{service}_1"),
    }
}

/// A host S3 server that `cargo xtask localstack up` started on 4566 is stopped (the stack's
/// LocalStack publishes that port); anything else holding it is an error that names the fix.
fn free_localstack_port() -> Result<()> {
    if port_free(LOCALSTACK_PORT) {
        return Ok(());
    }
    if let Some(running) = s3_server::recorded()?
        && running.pid.is_some()
        && running.endpoint.ends_with(&format!(":{LOCALSTACK_PORT}"))
    {
        eprintln!(
            "    {} from `cargo xtask localstack up` holds 127.0.0.1:{LOCALSTACK_PORT}: stopping it",
            running.backend.describe()
        );
        s3_server::down()?;
        if port_free(LOCALSTACK_PORT) {
            return Ok(());
        }
    }
    // Our own stack holds it: `up` again is fine.
    if stack_running_localstack() {
        return Ok(());
    }
    bail!(
        "127.0.0.1:{LOCALSTACK_PORT} is taken by a process xtask did not start: stop it (or \
         `cargo xtask localstack down` for one it did), then run `cargo xtask containers up` again"
    )
}

fn stack_running_localstack() -> bool {
    ["podman", "docker"].iter().any(|cli| {
        util::read(Command::new(cli).args([
            "ps",
            "--filter",
            &format!("name={PROJECT}_localstack"),
            "--format",
            "{{.Names}}",
        ]))
        .is_ok_and(|out| !out.trim().is_empty())
    })
}

fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

async fn answers(url: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build();
    match client {
        Ok(client) => client.get(url).send().await.is_ok(),
        Err(_) => false,
    }
}

async fn readyz_ok() -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    client
        .get(format!("{SERVICE_URL}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// LocalStack's init hooks have all run (the bucket is provisioned).
async fn localstack_provisioned() -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    let Ok(response) = client
        .get(format!("{LOCALSTACK_URL}/_localstack/init/ready"))
        .send()
        .await
    else {
        return false;
    };
    response
        .json::<serde_json::Value>()
        .await
        .is_ok_and(|v| v["completed"] == true)
}

/// Stops and removes the containers and the project's network (podman-compose 1.0.3 leaves it).
pub fn down(runtime: &Runtime) -> Result<()> {
    util::run(compose(runtime).arg("down"))?;
    if let Engine::Podman { .. } = runtime.engine {
        let network = format!("{PROJECT}_default");
        let exists = Command::new("podman")
            .args(["network", "exists", &network])
            .status()
            .is_ok_and(|s| s.success());
        if exists {
            util::read(Command::new("podman").args(["network", "rm", "-f", &network]))?;
        }
    }
    println!("containers down: stack {PROJECT} stopped and removed");
    Ok(())
}

/// One line per container (name, state, health) and the service's readiness.
pub fn status(runtime: &Runtime) -> Result<()> {
    let label = match runtime.engine {
        Engine::Docker => format!("label=com.docker.compose.project={PROJECT}"),
        Engine::Podman { .. } => format!("label=io.podman.compose.project={PROJECT}"),
    };
    let out = util::read(runtime.cli().args([
        "ps",
        "-a",
        "--filter",
        &label,
        "--format",
        "{{.Names}}\t{{.Status}}",
    ]))?;
    if out.trim().is_empty() {
        println!(
            "containers status: stack {PROJECT} is not running (start it with `cargo xtask containers up`)"
        );
        return Ok(());
    }
    for line in out.lines() {
        println!("{line}");
    }
    Ok(())
}

fn runtime_name(runtime: &Runtime) -> &'static str {
    match runtime.engine {
        Engine::Docker => "docker",
        Engine::Podman { .. } => "podman",
    }
}

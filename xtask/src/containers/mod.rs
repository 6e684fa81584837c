//! `cargo xtask containers setup|build|up|down|status`: the service and LocalStack as containers.
//!
//! `runtime.rs` sets up the engine (a Docker daemon as it is, else podman on this machine),
//! `images.rs` builds the images, `stack.rs` runs `docker-compose.yml`, `check.rs` is what
//! `cargo xtask test` runs of it (promtool, the stack, Prometheus, a crash).

pub mod check;
pub mod images;
pub mod runtime;
pub mod stack;

use anyhow::Result;

#[derive(Debug, clap::Subcommand)]
pub enum Containers {
    /// Install and configure podman (unless a Docker daemon answers), the base image and the
    /// Docker-API socket; idempotent, one line of result.
    Setup,
    /// Build the service image (localhost/card-service:dev) and the LocalStack image.
    Build(images::Build),
    /// Start the compose stack: the service on 127.0.0.1:8080, LocalStack on 127.0.0.1:4566.
    Up(stack::Up),
    /// Stop the compose stack and remove its containers and network.
    Down,
    /// Show the stack's containers and their health.
    Status,
    /// Run the checks `cargo xtask test` runs in its containers step (promtool, manifests, the
    /// stack, Prometheus, faults).
    Check,
}

impl Containers {
    pub async fn run(self) -> Result<()> {
        match self {
            Containers::Setup => {
                let runtime = runtime::setup()?;
                println!("{}", runtime.summary());
                Ok(())
            }
            Containers::Build(build) => build.run(&runtime::setup()?).map(drop),
            Containers::Up(up) => up.run(&runtime::setup()?).await,
            Containers::Down => stack::down(&runtime::setup()?),
            Containers::Status => stack::status(&runtime::setup()?),
            Containers::Check => {
                let outcome = check::run().await?;
                println!(
                    "containers check: {} passed, {} failed{}",
                    outcome.passed,
                    outcome.failed,
                    outcome
                        .skipped
                        .iter()
                        .map(|s| format!("; skipped: {s}"))
                        .collect::<String>()
                );
                Ok(())
            }
        }
    }
}

//! `cargo xtask localstack up|down|status`: the local S3 server, by hand.
//!
//! `up` starts LocalStack with `docker compose` where a Docker daemon answers, else moto (or
//! LocalStack with `--backend localstack`, falling back to moto where it does not install) on the
//! host; records its PID and endpoint so `down` and `status` work from any shell; waits until it
//! answers; and provisions the bucket as `provision-bucket` does.

use std::time::Instant;

use anyhow::Result;

use crate::{provision_bucket, s3_server, util};

#[derive(Debug, clap::Subcommand)]
pub enum Localstack {
    /// Start a local S3 server (idempotent), wait until it answers, and provision the bucket.
    Up(s3_server::UpOptions),
    /// Stop the server `up` started.
    Down,
    /// Show the recorded server; exits non-zero when it does not answer.
    Status,
}

impl Localstack {
    pub async fn run(self) -> Result<()> {
        let started = Instant::now();
        match self {
            Localstack::Up(options) => {
                let running = s3_server::up(&options).await?;
                // Every backend ends with the same bucket; compose's LocalStack has its init hook
                // do it too, so this finds nothing to change there.
                provision_bucket::provision_local(&running, &util::load_settings()?).await?;
                println!(
                    "localstack up: {} answers at {} ({})",
                    running.backend.describe(),
                    running.endpoint,
                    util::human_duration(started.elapsed())
                );
            }
            Localstack::Down => {
                s3_server::down()?;
                println!("localstack down: no local S3 server runs");
            }
            Localstack::Status => {
                let running = s3_server::status().await?;
                println!("localstack status: S3 answers at {}", running.endpoint);
            }
        }
        Ok(())
    }
}

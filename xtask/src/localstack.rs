//! `cargo xtask localstack up|down|status`: the local S3 server, by hand.

use std::time::Instant;

use anyhow::Result;

use crate::{s3_server, util};

#[derive(Debug, clap::Subcommand)]
pub enum Localstack {
    /// Start a local S3 server (idempotent) and wait until it answers.
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

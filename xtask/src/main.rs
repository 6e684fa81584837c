//! `cargo xtask`: the developer cockpit for the card service (its contract: ARCHITECTURE.md,
//! "Fixed names and contracts").
//!
//! A plain binary behind the `.cargo/config.toml` alias; one module per command.

mod bench;
mod checks;
mod cleanup;
mod config;
mod containers;
mod designs;
mod dev;
mod doctor;
mod fuzz;
mod install;
mod jobs;
mod localstack;
mod provision_bucket;
mod s3_server;
mod s3_target;
mod sign_url;
mod templates;
mod test;
mod test_playwright;
mod test_s3;
mod util;
mod warm_cache;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Developer tasks for the card service",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service locally against a local S3 server, installing what is missing.
    Dev(dev::Dev),
    /// Run every test CI runs, installing what is missing.
    Test(test::Test),
    /// The local S3 server (LocalStack in Docker, else moto or LocalStack on the host).
    #[command(subcommand)]
    Localstack(localstack::Localstack),
    /// Card designs and test fixtures (WebAssembly components).
    #[command(subcommand)]
    Templates(templates::Templates),
    /// The fleet's live designs in the bucket's control plane: push, list, rollback.
    #[command(subcommand)]
    Designs(designs::Designs),
    /// Create and configure the bucket (public access block, CORS, lifecycle, policy), idempotently.
    ProvisionBucket(provision_bucket::ProvisionBucket),
    /// Check the bucket end to end: upload, anonymous public read, private denied, CORS, lifecycle.
    TestS3(test_s3::TestS3),
    /// Render test cards through the service's browser pool; report versions and times.
    TestPlaywright(test_playwright::TestPlaywright),
    /// Check every prerequisite and setting; print a table with a fix for each failure.
    Doctor(doctor::Doctor),
    /// Print the effective settings, secrets redacted.
    Config(config::Config),
    /// Render the top listings into the bucket now (the service's warm-cache job, in-process).
    WarmCache(warm_cache::WarmCache),
    /// Delete expired and superseded images from the bucket now (the service's cleanup job).
    Cleanup(cleanup::Cleanup),
    /// Measure the service end to end (cold renders, cache hits, warm-cache, memory) beside the seed's design.
    Bench(bench::Bench),
    /// Fuzz the request parsing (ids, query, signatures) with cargo-fuzz, installing it if missing.
    Fuzz(fuzz::Fuzz),
    /// Print an image URL signed with the first of SIGNING__KEYS.
    SignUrl(sign_url::SignUrl),
    /// The service and LocalStack as containers (podman set up here, or a Docker daemon).
    #[command(subcommand)]
    Containers(containers::Containers),
}

#[tokio::main]
async fn main() -> ExitCode {
    let result: Result<()> = match Cli::parse().command {
        Command::Dev(dev) => dev.run().await,
        Command::Test(test) => test.run(),
        Command::Localstack(localstack) => localstack.run().await,
        Command::Templates(templates) => templates.run(),
        Command::Designs(designs) => designs.run().await,
        Command::ProvisionBucket(provision) => provision.run().await,
        Command::TestS3(test_s3) => test_s3.run().await,
        Command::TestPlaywright(test_playwright) => test_playwright.run().await,
        Command::Doctor(doctor) => doctor.run().await,
        Command::Config(config) => config.run(),
        Command::WarmCache(warm_cache) => warm_cache.run().await,
        Command::Cleanup(cleanup) => cleanup.run().await,
        Command::Bench(bench) => bench.run().await,
        Command::Fuzz(fuzz) => fuzz.run(),
        Command::SignUrl(sign_url) => sign_url.run(),
        Command::Containers(containers) => containers.run().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The cause chain says what to fix; a backtrace (RUST_BACKTRACE is often set) would
            // only bury it.
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

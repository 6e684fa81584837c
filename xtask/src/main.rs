//! `cargo xtask`: the developer cockpit for the card service (see DESIGN.md, "xtask").
//!
//! A plain binary behind the `.cargo/config.toml` alias; one module per command.

mod dev;
mod install;
mod localstack;
mod s3_server;
mod templates;
mod test;
mod util;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let result: Result<()> = match Cli::parse().command {
        Command::Dev(dev) => dev.run().await,
        Command::Test(test) => test.run(),
        Command::Localstack(localstack) => localstack.run().await,
        Command::Templates(templates) => templates.run(),
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

//! `cargo xtask config`: the settings the service would run with, secrets redacted.
//!
//! Loaded exactly as the service loads them (defaults → `card-service.toml` → `.env` →
//! environment, from the project root), so a typo or a bad value fails here with the same message
//! that would stop the service. The output is `.env` syntax.

use std::path::Path;

use anyhow::Result;

use crate::util;

#[derive(Debug, clap::Args)]
pub struct Config {}

impl Config {
    pub fn run(self) -> Result<()> {
        let settings = util::load_settings()?;
        let sources: Vec<&str> = ["card-service.toml", ".env"]
            .into_iter()
            .filter(|file| Path::new(file).is_file())
            .collect();
        println!(
            "# effective settings: defaults, then {}, then the environment; secrets redacted",
            if sources.is_empty() {
                "no card-service.toml or .env".to_string()
            } else {
                sources.join(", then ")
            }
        );
        let values = settings.redacted();
        // By section, the seed's AWS_* names with the rest of S3.
        let mut lines: Vec<(&str, &String, &String)> = values
            .iter()
            .map(|(name, value)| {
                let section = match name.split_once("__") {
                    _ if name.starts_with("AWS_") => "S3",
                    Some((section, _)) => section,
                    None => name.as_str(),
                };
                (section, name, value)
            })
            .collect();
        lines.sort();
        let mut previous = "";
        for (section, name, value) in lines {
            if section != previous {
                println!();
                previous = section;
            }
            println!("{name}={value}");
        }
        println!();
        println!(
            "# config: {} settings, valid; S3 {}, rendering {}",
            values.len(),
            if settings.s3.enabled { "on" } else { "off" },
            if settings.playwright.enabled {
                "on"
            } else {
                "off"
            },
        );
        Ok(())
    }
}

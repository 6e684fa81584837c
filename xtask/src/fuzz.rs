//! `cargo xtask fuzz [TARGET] [--seconds N]`: run the cargo-fuzz targets over what a request
//! controls (`fuzz/`, the `card-request` crate), installing nightly and cargo-fuzz if missing.
//!
//! `cargo xtask test` runs every target briefly; this command is for longer runs. The corpus grows
//! in `fuzz/corpus/TARGET` (not committed); `fuzz/seeds/TARGET` holds the committed seeds; a crash
//! leaves its input in `fuzz/artifacts/TARGET` and fails the command with the replay command line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{install, util};

/// Every target in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 3] = ["listing_id", "image_query", "signature"];

#[derive(Debug, clap::Args)]
pub struct Fuzz {
    /// One target (listing_id, image_query, signature); all of them when omitted.
    pub target: Option<String>,
    /// How long each target runs.
    #[arg(long, default_value_t = 300)]
    pub seconds: u64,
}

/// What one run did, from libFuzzer's closing `Done N runs in S second(s)` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub runs: u64,
    pub seconds: u64,
}

impl Outcome {
    pub fn per_second(self) -> u64 {
        self.runs / self.seconds.max(1)
    }
}

impl Fuzz {
    pub fn run(self) -> Result<()> {
        let targets: Vec<&str> = match self.target.as_deref() {
            None => TARGETS.to_vec(),
            Some(t) if TARGETS.contains(&t) => vec![t],
            Some(t) => bail!("no fuzz target `{t}`; targets: {}", TARGETS.join(", ")),
        };
        let started = Instant::now();
        let results = run_targets(&targets, Duration::from_secs(self.seconds))?;
        let total: u64 = results.iter().map(|(_, o)| o.runs).sum();
        println!(
            "xtask fuzz: {} target(s), {total} executions in {}, no crash",
            results.len(),
            util::human_duration(started.elapsed())
        );
        Ok(())
    }
}

/// Builds and runs each target for `each`; fails on the first crash, naming its input.
pub fn run_targets(targets: &[&str], each: Duration) -> Result<Vec<(String, Outcome)>> {
    let cargo_fuzz = install::fuzzing()?;
    let root = util::project_root();
    let fuzz_dir = root.join("fuzz");
    let mut results = Vec::new();
    for target in targets {
        util::step(format_args!("fuzz {target} for {}s", each.as_secs()));
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("could not create {}", corpus.display()))?;
        let mut cmd = fuzz_command(&cargo_fuzz, &fuzz_dir);
        cmd.args(["run", target])
            .arg(&corpus)
            .arg(fuzz_dir.join("seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={}", each.as_secs()));
        let outcome = run_one(&mut cmd, target, &fuzz_dir)?;
        eprintln!(
            "    ok: {target}: {} executions in {}s ({}/s)",
            outcome.runs,
            outcome.seconds,
            outcome.per_second()
        );
        results.push((target.to_string(), outcome));
    }
    Ok(results)
}

/// `cargo-fuzz` on the nightly toolchain with its own target directory, whatever cargo runs us.
fn fuzz_command(cargo_fuzz: &Path, fuzz_dir: &Path) -> Command {
    let mut cmd = Command::new(cargo_fuzz);
    util::without_cargo_run_env(&mut cmd);
    // Invoked directly, cargo-fuzz expects the subcommand name cargo would have passed.
    cmd.arg("fuzz")
        .current_dir(fuzz_dir.parent().unwrap_or(fuzz_dir))
        // The outer `cargo xtask` exports CARGO (stable); cargo-fuzz must reach rustup's proxy.
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env("RUSTUP_TOOLCHAIN", install::FUZZ_TOOLCHAIN)
        // Sanitizer builds would otherwise invalidate the workspace's artifacts on every switch.
        .env("CARGO_TARGET_DIR", fuzz_target_dir());
    cmd
}

fn fuzz_target_dir() -> std::path::PathBuf {
    let tools = util::tools_dir();
    tools
        .parent()
        .map_or_else(|| tools.join("target-fuzz"), |p| p.join("target-fuzz"))
}

/// Runs one target, showing libFuzzer's progress sparsely, and returns its closing counts.
fn run_one(cmd: &mut Command, target: &str, fuzz_dir: &Path) -> Result<Outcome> {
    let shown = util::show(cmd);
    eprintln!("    $ {shown}");
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let mut outcome = None;
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        if line.contains("error:") || line.contains("panicked") || line.starts_with("==") {
            eprintln!("    {line}");
        }
        if let Some(o) = parse_done(&line) {
            outcome = Some(o);
        }
        tail.push(line);
        if tail.len() > 60 {
            tail.remove(0);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        for line in &tail {
            eprintln!("    | {line}");
        }
        bail!(
            "fuzz target {target} failed ({status}); the crashing input is in {}: replay it with \
             `cargo +{} fuzz run {target} fuzz/artifacts/{target}/<file>`",
            fuzz_dir.join("artifacts").join(target).display(),
            install::FUZZ_TOOLCHAIN
        );
    }
    outcome.with_context(|| format!("fuzz target {target} ended without libFuzzer's `Done` line"))
}

/// `Done 3544428 runs in 11 second(s)` → the counts.
fn parse_done(line: &str) -> Option<Outcome> {
    let rest = line.trim().strip_prefix("Done ")?;
    let mut words = rest.split_whitespace();
    let runs = words.next()?.parse().ok()?;
    let seconds = words.nth(2)?.parse().ok()?;
    Some(Outcome { runs, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libfuzzer_summary_lines_are_read() {
        assert_eq!(
            parse_done("Done 3544428 runs in 11 second(s)"),
            Some(Outcome {
                runs: 3_544_428,
                seconds: 11
            })
        );
        assert_eq!(parse_done("#3544428\tDONE   cov: 53 ft: 142"), None);
    }

    /// Each target named here is a `[[bin]]` of `fuzz/Cargo.toml` with its source file, and back.
    #[test]
    fn the_target_list_matches_the_fuzz_crate() {
        let root = util::project_root();
        let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
        let declared: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .filter(|n| *n != "card-request-fuzz")
            .collect();
        assert_eq!(declared, TARGETS);
        for target in TARGETS {
            assert!(
                root.join(format!("fuzz/fuzz_targets/{target}.rs"))
                    .is_file(),
                "{target}"
            );
            assert!(
                root.join(format!("fuzz/seeds/{target}")).is_dir(),
                "{target}"
            );
        }
    }
}

//! `cargo xtask test`: everything CI runs, on a machine that may have none of it installed.
//!
//! Steps: formatting and lints first (cheap, and the commonest failure), prerequisites, the
//! template build, the templates' host unit tests, the workspace tests with the environment
//! they need, promtool and the container checks (skipped, with the reason, where no container
//! runtime can run), then each fuzz target briefly (`--fuzz-seconds`, 15 s). Pass-through
//! arguments narrow the run to the tests they name and skip the formatting, lint and container
//! checks. The last line counts the tests (`xtask: N passed, N failed`; a fuzz target, and each
//! formatting, lint or container check, counts as one).

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};

use crate::{
    containers, fuzz, install, s3_server, templates,
    util::{self, env_nonempty, project_root, tools_dir},
};

#[derive(Debug, clap::Args)]
pub struct Test {
    /// Passed to `cargo test --workspace` (which drops `--workspace` when they name a package),
    /// e.g. `-- -p card-e2e -- --nocapture`.
    #[arg(last = true)]
    pub args: Vec<String>,
    /// Seconds each fuzz target runs in the last step (`cargo xtask fuzz` runs longer); 0 skips it.
    #[arg(long, default_value_t = 15)]
    pub fuzz_seconds: u64,
}

/// Test counts summed over cargo's `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Test {
    pub fn run(self) -> Result<()> {
        let started = Instant::now();
        let root = project_root();
        let mut tally = Tally::default();

        let templates_manifest = root.join("card-templates/Cargo.toml");
        // A developer's `cargo xtask test -- -p card-e2e --test NAME` wants that test, now.
        let checks = self.args.is_empty();

        step(1, "cargo fmt --check", || {
            if !checks {
                eprintln!("    skipped: pass-through arguments narrow the run");
                return Ok(());
            }
            // The fuzz targets are a package of their own too; formatting needs no nightly.
            // (`--all` there would format card-request's whole workspace a second time.)
            let fuzz = ["--manifest-path", "fuzz/Cargo.toml"];
            let templates = ["--all", "--manifest-path", "card-templates/Cargo.toml"];
            for selection in [&["--all"][..], &templates[..], &fuzz[..]] {
                util::run(
                    util::cargo()
                        .current_dir(&root)
                        .args(["fmt", "--check"])
                        .args(selection),
                )
                .context("fix: `cargo fmt` with the same arguments, without --check")?;
                tally.passed += 1;
            }
            Ok(())
        })?;

        let browser = step(2, "install prerequisites", || {
            let browser = install::browser()?;
            install::wasm_target()?;
            // The fleet test runs the instances behind a real HAProxy.
            install::haproxy()?;
            if env_nonempty("S3_ENDPOINT").is_none() {
                // The harness falls back to these when no Docker daemon answers.
                match s3_server::UpOptions::default().backend {
                    s3_server::HostBackend::Moto => install::moto()?,
                    s3_server::HostBackend::Localstack => install::localstack()?,
                };
            }
            Ok(browser)
        })?;

        step(3, "cargo clippy -D warnings", || {
            if !checks {
                eprintln!("    skipped: pass-through arguments narrow the run");
                return Ok(());
            }
            let everything = ["--workspace", "--all-targets"];
            // The components as `templates build` builds them (the preview tool is host-only).
            let components = [
                "--workspace",
                "--exclude",
                "card-preview",
                "--lib",
                "--target",
                install::WASM_TARGET,
            ];
            for (manifest, selection) in [
                (root.join("Cargo.toml"), &everything[..]),
                (templates_manifest.clone(), &everything[..]),
                (templates_manifest.clone(), &components[..]),
            ] {
                util::run(
                    util::cargo()
                        .current_dir(&root)
                        .arg("clippy")
                        .arg("--manifest-path")
                        .arg(manifest)
                        .args(selection)
                        .args(["--", "-D", "warnings"]),
                )?;
                tally.passed += 1;
            }
            Ok(())
        })?;

        step(4, "cargo xtask templates build", || {
            templates::build().map(drop)
        })?;

        step(5, "cargo test (card-templates, host)", || {
            let mut cmd = util::cargo();
            cmd.current_dir(&root)
                .args(["test", "--no-fail-fast"])
                .arg("--manifest-path")
                .arg(&templates_manifest)
                .arg("--workspace");
            tally = tally.add(run_counting(&mut cmd)?);
            Ok(())
        })?;

        step(6, "cargo test --workspace", || {
            let mut cmd = cargo_test(&browser);
            // `--workspace` would override a `-p` among the pass-through arguments.
            if !selects_packages(&self.args) {
                cmd.arg("--workspace");
            }
            cmd.args(&self.args);
            tally = tally.add(run_counting(&mut cmd)?);
            Ok(())
        })?;

        step(
            7,
            "containers, Prometheus, and the request path against LocalStack (testcontainers)",
            || {
                if !checks {
                    eprintln!("    skipped: pass-through arguments narrow the run");
                    return Ok(());
                }
                let outcome = containers_step()?;
                tally = tally.add(Tally {
                    passed: outcome.passed,
                    failed: outcome.failed,
                });
                if outcome.failed > 0 {
                    bail!("{} container check(s) failed (see above)", outcome.failed);
                }
                // The request path and provisioning again, against LocalStack in a container
                // started by testcontainers over the runtime's Docker API (moto served step 6).
                let docker_host = outcome
                    .skipped
                    .is_empty()
                    .then(containers::runtime::current)
                    .flatten()
                    .and_then(|runtime| runtime.docker_host());
                let Some(docker_host) = docker_host else {
                    eprintln!(
                        "    skipped: request_path and provision against LocalStack (no Docker API)"
                    );
                    return Ok(());
                };
                let mut cmd = cargo_test(&browser);
                cmd.args([
                    "-p",
                    "card-e2e",
                    "--test",
                    "request_path",
                    "--test",
                    "provision",
                ])
                .env("DOCKER_HOST", docker_host)
                .env_remove("S3_ENDPOINT");
                tally = tally.add(run_counting(&mut cmd)?);
                Ok(())
            },
        )?;

        step(8, "cargo fuzz (card-request)", || {
            if self.fuzz_seconds == 0 {
                eprintln!("    skipped: --fuzz-seconds 0");
                return Ok(());
            }
            let each = std::time::Duration::from_secs(self.fuzz_seconds);
            let results = fuzz::run_targets(&fuzz::TARGETS, each)?;
            // Each target that ran its time without a crash counts as one passed test.
            tally = tally.add(Tally {
                passed: results.len() as u64,
                failed: 0,
            });
            Ok(())
        })?;

        eprintln!(
            "xtask test: all {STEPS} steps passed in {}",
            util::human_duration(started.elapsed())
        );
        println!("xtask: {} passed, {} failed", tally.passed, tally.failed);
        Ok(())
    }
}

const STEPS: usize = 8;

/// promtool over ops/prometheus/, then the compose stack, a real Prometheus and a crash
/// (`containers::check`). Without a runtime that can run, the container checks print
/// `skipped: REASON` and count as neither passed nor failed.
fn containers_step() -> Result<containers::check::Outcome> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| runtime.block_on(containers::check::run()))
}

/// `cargo test --no-fail-fast` in the project root with what the end-to-end tests need: the tools
/// directory, the browser's variables, and at most two test threads.
fn cargo_test(browser: &install::BrowserEnv) -> Command {
    let mut cmd = util::cargo();
    // Every test binary runs even after one fails, so a run reports all failures.
    cmd.current_dir(project_root())
        .args(["test", "--no-fail-fast"])
        .env("CARD_TOOLS_DIR", tools_dir());
    // End-to-end tests each start Chromium; on 2 cores, more than two at once only makes every
    // one of them slower. An explicit RUST_TEST_THREADS wins.
    if env_nonempty("RUST_TEST_THREADS").is_none() {
        cmd.env("RUST_TEST_THREADS", "2");
    }
    for (name, value) in browser.vars() {
        cmd.env(name, value);
    }
    cmd
}

/// Runs one step and says how long it took; a failure names it.
fn step<T>(number: usize, name: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    util::step(format_args!("[{number}/{STEPS}] {name}"));
    let started = Instant::now();
    let done = work().with_context(|| format!("step {number}/{STEPS} `{name}` failed"))?;
    eprintln!(
        "    [{number}/{STEPS}] done in {}",
        util::human_duration(started.elapsed())
    );
    Ok(done)
}

/// Runs `cargo test`, echoing its output as it comes and counting its results.
fn run_counting(cmd: &mut Command) -> Result<Tally> {
    let shown = util::show(cmd);
    eprintln!("    $ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let mut tally = Tally::default();
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        writeln!(out, "{line}")?;
        out.flush()?;
        if let Some(counts) = parse_result_line(&line) {
            tally = tally.add(counts);
        }
    }
    drop(out);
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "`{shown}` failed ({status}): {} passed, {} failed",
            tally.passed,
            tally.failed
        );
    }
    Ok(tally)
}

impl Tally {
    fn add(self, other: Tally) -> Tally {
        Tally {
            passed: self.passed + other.passed,
            failed: self.failed + other.failed,
        }
    }
}

/// Whether cargo's own arguments (those before a `--`) name packages.
fn selects_packages(args: &[String]) -> bool {
    args.iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg.starts_with("-p") || arg.starts_with("--package") || arg == "--workspace")
}

/// `test result: ok. 3 passed; 1 failed; 0 ignored; …` → the counts.
fn parse_result_line(line: &str) -> Option<Tally> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut tally = Tally::default();
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => tally.passed = n,
            "failed" => tally.failed = n,
            _ => {}
        }
    }
    Some(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_result_lines_are_counted() {
        let ok = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(
            parse_result_line(ok),
            Some(Tally {
                passed: 12,
                failed: 0
            })
        );
        let failed =
            "test result: FAILED. 2 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(
            parse_result_line(failed),
            Some(Tally {
                passed: 2,
                failed: 3
            })
        );
        assert_eq!(parse_result_line("running 3 tests"), None);
    }

    #[test]
    fn a_package_among_the_pass_through_arguments_narrows_the_run() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(selects_packages(&args(&["-p", "card-e2e"])));
        assert!(selects_packages(&args(&["--package=card-e2e", "--lib"])));
        assert!(!selects_packages(&args(&["--lib", "--", "-p"])));
        assert!(!selects_packages(&args(&[])));
    }
}

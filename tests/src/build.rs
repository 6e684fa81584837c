//! Building the `card-service` binary from a test or from `cargo xtask`, the one way both do it:
//! the packages `cargo xtask` was built with, and none of the variables cargo exported to the
//! process that asks (`cargo run` to xtask, `cargo test` to a test binary).

use std::{env, path::PathBuf, process::Command};

use anyhow::{Context, bail};

/// The packages every `cargo build` of the service names beside `card-service`: the running
/// xtask's own. Cargo turns on a dependency's features for the packages a command selects, and
/// xtask (through card-e2e's testcontainers and clap) turns on more of them (rustls' `logging`,
/// futures-util's `io`, tower's `balance`, …) than card-service alone: `-p card-service` by
/// itself resolved 65 build units differently, and compiled them, wasmtime and the AWS SDK
/// among them, a second time beside what `cargo xtask` had just built (docs/performance.md,
/// "Build").
pub const SERVICE_BUILD_PACKAGES: [&str; 4] = ["--package", "xtask", "--package", "card-service"];

/// The cargo that runs us (`CARGO`, which both `cargo run` and `cargo test` set), so nested builds
/// use the same toolchain, with none of the variables cargo set for us (see
/// [`without_cargo_run_env`]).
pub fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    without_cargo_run_env(&mut cmd);
    cmd
}

/// Removes what `cargo run` (or `cargo test`) exports to the process it starts
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, `CARGO_PRIMARY_PACKAGE`, …) from a command that runs
/// cargo. Inherited, they reach the nested build's build scripts and crates that read them
/// (`ring`'s build script is fingerprinted on `CARGO_MANIFEST_DIR`), so the nested build
/// recompiles them and the next plain `cargo` run recompiles them back. User configuration
/// (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_BUILD_*`, `CARGO_PROFILE_*`, …) is kept.
pub fn without_cargo_run_env(cmd: &mut Command) -> &mut Command {
    const SET_BY_CARGO_RUN: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    for (name, _) in env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if SET_BY_CARGO_RUN.contains(&name)
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || name.starts_with("CARGO_CFG_")
            || name.starts_with("DEP_")
        {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Builds the `card-service` binary (debug, or release) with [`SERVICE_BUILD_PACKAGES`] in the
/// repository and returns its path, as cargo reports it (so `CARGO_TARGET_DIR` is honoured).
/// Cargo's progress and diagnostics go to stderr; a build with nothing to do takes a second.
pub fn service_binary(release: bool) -> anyhow::Result<PathBuf> {
    let mut cmd = cargo();
    cmd.current_dir(crate::service::repo_root())
        .arg("build")
        .args(SERVICE_BUILD_PACKAGES)
        .args(["--bin", "card-service"])
        .arg("--message-format=json-render-diagnostics");
    if release {
        cmd.arg("--release");
    }
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("    $ {shown}");
    let output = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        bail!(
            "building card-service failed ({}): read cargo's output above",
            output.status
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "card-service"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo built card-service but reported no executable for it")
}

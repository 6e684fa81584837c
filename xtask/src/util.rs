//! Helpers every command shares: project paths, running child commands, printing progress.

use std::{
    env,
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use card_service::settings::Settings;
use serde::Deserialize;

/// The workspace root, one level above `xtask/`.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` at run time; the compile-time value is the fallback for a
/// binary started by hand.
pub fn project_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// Where installed tools live: `CARD_TOOLS_DIR`, else `$HOME/.cache/card-service/tools`.
pub fn tools_dir() -> PathBuf {
    let dir = match env_nonempty("CARD_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/card-service/tools")
        }
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Where xtask records what it left running (the local S3 server): `CARD_STATE_DIR`, else beside
/// the tools. Tests point it elsewhere so they never touch a developer's server.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = env_nonempty("CARD_STATE_DIR") {
        return PathBuf::from(dir);
    }
    let tools = tools_dir();
    match tools.parent() {
        Some(parent) => parent.join("state"),
        None => tools.join("state"),
    }
}

/// The service's settings as the service would load them, from the project root (so `.env`,
/// `card-service.toml` and relative paths mean what they mean under `cargo xtask dev`).
pub fn load_settings() -> Result<Settings> {
    let root = project_root();
    env::set_current_dir(&root)
        .with_context(|| format!("could not change to the project root {}", root.display()))?;
    Settings::from_env().context(
        "invalid settings (environment, .env or card-service.toml): fix the variable named above; \
         .env.example documents each one",
    )
}

/// An environment variable that is set to something other than the empty string.
pub fn env_nonempty(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// The cargo that runs us (`CARGO`), so nested builds use the same toolchain, with none of the
/// variables `cargo run` set for xtask itself (see [`without_cargo_run_env`]).
pub fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    without_cargo_run_env(&mut cmd);
    cmd
}

/// Removes what `cargo run` exports to the xtask process (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`,
/// `CARGO_PRIMARY_PACKAGE`, …) from a command that runs cargo. Inherited, they reach the nested
/// build's build scripts and crates that read them (`ring`'s build script is fingerprinted on
/// `CARGO_MANIFEST_DIR`), so the nested build recompiles them and the next plain `cargo` run
/// recompiles them back. User configuration (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_BUILD_*`,
/// `CARGO_PROFILE_*`, …) is kept.
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

/// Runs a command with inherited stdio, echoing it first; a failure names the command.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    eprintln!("    $ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs a command quietly and returns its stdout; a failure carries its stderr.
pub fn read(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let output = cmd
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed non-UTF-8"))
}

/// A command line as a user would type it, with the variables xtask sets for it.
pub fn show(cmd: &Command) -> String {
    let vars = cmd.get_envs().filter_map(|(name, value)| {
        let value = value?;
        Some(format!("{}={}", name.to_string_lossy(), quote(value)))
    });
    let words = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote);
    vars.chain(words).collect::<Vec<_>>().join(" ")
}

fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Finds an executable on `PATH`, like `command -v`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Prints the start of a piece of work.
pub fn step(message: impl std::fmt::Display) {
    eprintln!("==> {message}");
}

/// The parts of `cargo metadata --no-deps` that xtask reads.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub target_directory: PathBuf,
    pub packages: Vec<Package>,
}

#[derive(Debug, Deserialize)]
pub struct Package {
    pub name: String,
    pub targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
pub struct Target {
    pub name: String,
    pub kind: Vec<String>,
}

/// The workspace members and the target directory (which honours `CARGO_TARGET_DIR`) of a manifest.
pub fn cargo_metadata(manifest: &Path) -> Result<Metadata> {
    let json = read(
        cargo()
            .arg("metadata")
            .arg("--manifest-path")
            .arg(manifest)
            .args(["--no-deps", "--format-version", "1"]),
    )?;
    serde_json::from_str(&json).context("could not parse `cargo metadata` output")
}

pub fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!(
            "{}m{:02}s",
            duration.as_secs() / 60,
            duration.as_secs() % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_commands_quote_what_a_shell_would_split() {
        let mut cmd = Command::new("pip");
        cmd.args(["install", "moto[s3]==5.2.5", "it's"])
            .env("PIP_NO_INPUT", "1");
        assert_eq!(
            show(&cmd),
            r"PIP_NO_INPUT=1 pip install 'moto[s3]==5.2.5' 'it'\''s'"
        );
    }

    #[test]
    fn sizes_and_durations_read_like_a_person_wrote_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(35 * 1024 + 512), "35.5 KiB");
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
    }
}

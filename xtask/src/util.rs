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

/// The cargo that runs us, with none of the variables `cargo run` set for xtask itself: the
/// harness's [`card_e2e::build::cargo`] (its tests build the service the same way).
pub use card_e2e::build::{cargo, without_cargo_run_env};

/// Builds the `card-service` binary (debug, or release) with the dependency builds `cargo
/// xtask` and `cargo test --workspace` use (`-p xtask -p card-service`), and returns its path:
/// the harness's [`card_e2e::build::service_binary`], which the fleet tests use too.
pub fn build_service(release: bool) -> Result<PathBuf> {
    let profile = if release { "release" } else { "debug" };
    step(format_args!("building card-service ({profile})"));
    card_e2e::build::service_binary(release)
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

/// Unix seconds as an HTTP date (`Thu, 03 Dec 2026 14:00:00 GMT`).
pub fn unix_time(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(secs))
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
    use std::collections::{BTreeMap, BTreeSet};

    use anyhow::ensure;

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

    /// `cargo xtask` builds xtask without dev-dependencies; `cargo xtask test` builds the whole
    /// workspace with them (and the templates' workspace likewise, beside `card-preview` alone).
    /// A crate both build with different features is compiled twice, and so is every crate
    /// above it: name the missing feature in a normal dependency (as tests/Cargo.toml does for
    /// num-traits) so both resolve it alike.
    #[test]
    fn host_builds_resolve_features_alike() -> Result<()> {
        let root = project_root();
        for (manifest, alone) in [
            (root.join("Cargo.toml"), "xtask"),
            (root.join("card-templates/Cargo.toml"), "card-preview"),
        ] {
            let built = resolved_features(&manifest, &["--package", alone, "--edges", "no-dev"])?;
            let tested = resolved_features(&manifest, &["--workspace"])?;
            let differ: Vec<String> = built
                .iter()
                .filter_map(|(package, features)| {
                    let other = tested.get(package).filter(|other| *other != features)?;
                    Some(format!(
                        "  {package}: {features:?} for -p {alone}, {other:?} for tests"
                    ))
                })
                .collect();
            assert!(
                differ.is_empty(),
                "{}: these crates would compile twice:\n{}",
                manifest.display(),
                differ.join("\n")
            );
        }
        Ok(())
    }

    /// Each package `cargo tree` resolves for a selection → its feature lists (a crate built
    /// both for build scripts and for the target can have two).
    fn resolved_features(
        manifest: &Path,
        selection: &[&str],
    ) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let tree = read(
            cargo()
                .arg("tree")
                .arg("--manifest-path")
                .arg(manifest)
                .args(["--prefix", "none", "--format", "{p} {f}"])
                .args(selection),
        )?;
        let mut resolved: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in tree.lines() {
            // `name vX.Y.Z [(path)] [features] [(proc-macro)] [(*)]`
            let words: Vec<&str> = line
                .split_whitespace()
                .filter(|w| !matches!(*w, "(*)" | "(proc-macro)"))
                .collect();
            let [name, version, rest @ ..] = &words[..] else {
                continue;
            };
            let features = rest.last().filter(|w| !w.ends_with(')')).unwrap_or(&"");
            resolved
                .entry(format!("{name} {version}"))
                .or_default()
                .insert(features.to_string());
        }
        ensure!(!resolved.is_empty(), "`cargo tree` listed no package");
        Ok(resolved)
    }

    /// A cargo (or cargo-fuzz) that inherits what `cargo run` exported to xtask (or `cargo test`
    /// to a test) rebuilds `ring` and everything above it: each `Command::new` naming cargo, in
    /// xtask and in the harness, drops those variables at once.
    #[test]
    fn every_cargo_xtask_spawns_drops_the_cargo_run_environment() -> Result<()> {
        // Split, so this test's own source does not match.
        let spawn = ["Command", "::new("].concat();
        let root = project_root();
        let mut files = vec![root.join("xtask/src"), root.join("tests/src")];
        let mut offenders = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    files.push(entry?.path());
                }
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let spawns_cargo = line.contains(&spawn) && line.to_lowercase().contains("cargo");
                let cleaned = lines[i..lines.len().min(i + 3)]
                    .iter()
                    .any(|l| l.contains("without_cargo_run_env"));
                if spawns_cargo && !cleaned {
                    offenders.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "use util::cargo() (or util::without_cargo_run_env):\n{}",
            offenders.join("\n")
        );
        Ok(())
    }

    #[test]
    fn sizes_and_durations_read_like_a_person_wrote_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(35 * 1024 + 512), "35.5 KiB");
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
    }
}

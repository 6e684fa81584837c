//! Prerequisite checks shared by `doctor` and `test-playwright`: each says what it found and, when
//! it fails, the exact fix. Checks only look; installing is `cargo xtask dev`'s job.

use std::{
    fmt,
    path::{Path, PathBuf},
    process::Command,
};

use card_service::{DesignSettings, PlaywrightSettings};

use crate::{
    install,
    util::{self, env_nonempty, find_in_path},
};

/// The fonts a card needs, as `fc-list` names their families, and the Debian package of each.
const FONTS: &[(&str, &str, &str)] = &[
    ("DejaVu Sans", "Latin text", "fonts-dejavu-core"),
    ("Noto Sans CJK", "CJK text", "fonts-noto-cjk"),
    ("Noto Color Emoji", "emoji", "fonts-noto-color-emoji"),
];

/// What one check found.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Ok(String),
    /// Not required (or not applicable) here; says why.
    Skipped(String),
    Failed {
        problem: String,
        fix: String,
    },
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Ok(detail.into()),
        }
    }

    pub fn skipped(name: &'static str, why: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Skipped(why.into()),
        }
    }

    pub fn failed(name: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Failed {
                problem: problem.into(),
                fix: fix.into(),
            },
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }
}

impl fmt::Display for Check {
    /// `name: problem (fix: …)`, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Ok(detail) => write!(f, "{}: {detail}", self.name),
            Outcome::Skipped(why) => write!(f, "{}: skipped ({why})", self.name),
            Outcome::Failed { problem, fix } => write!(f, "{}: {problem} (fix: {fix})", self.name),
        }
    }
}

/// The Chromium binary the service launches (`PLAYWRIGHT__EXECUTABLE_PATH`), and its version.
pub fn chromium(settings: &PlaywrightSettings) -> Check {
    let path = &settings.executable_path;
    let fix = "apt-get install -y chromium (`cargo xtask dev` does), or point \
               PLAYWRIGHT__EXECUTABLE_PATH at a Chromium binary";
    if !path.is_file() {
        return Check::failed(
            "Chromium",
            format!(
                "no Chromium at {} (PLAYWRIGHT__EXECUTABLE_PATH)",
                path.display()
            ),
            fix,
        );
    }
    match util::read(Command::new(path).arg("--version")) {
        Ok(version) => Check::ok(
            "Chromium",
            format!("{} ({})", first_line(&version), path.display()),
        ),
        Err(err) => Check::failed(
            "Chromium",
            format!("{} does not run: {err:#}", path.display()),
            fix,
        ),
    }
}

/// The Node.js that runs the driver: `PLAYWRIGHT_NODE_EXE`, else `/usr/bin/node`, else `node` on PATH.
pub fn node() -> (Check, Option<PathBuf>) {
    let path = env_nonempty("PLAYWRIGHT_NODE_EXE")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(install::NODE)).filter(|p| p.is_file()))
        .or_else(|| find_in_path("node"));
    let fix = "apt-get install -y nodejs (`cargo xtask dev` does), or set PLAYWRIGHT_NODE_EXE";
    let Some(path) = path else {
        return (
            Check::failed(
                "Node.js",
                "no node (PLAYWRIGHT_NODE_EXE unset, none on PATH)",
                fix,
            ),
            None,
        );
    };
    match util::read(Command::new(&path).arg("--version")) {
        Ok(version) => (
            Check::ok(
                "Node.js",
                format!("{} ({})", first_line(&version), path.display()),
            ),
            Some(path),
        ),
        Err(err) => (
            Check::failed(
                "Node.js",
                format!("{} does not run: {err:#}", path.display()),
                fix,
            ),
            None,
        ),
    }
}

/// The npm `playwright-core` driver (`PLAYWRIGHT_CLI_JS`, else where xtask installs it) at the
/// exact version playwright-rs speaks.
pub fn driver() -> (Check, Option<PathBuf>) {
    const NAME: &str = "Playwright driver";
    let wanted = playwright_rs::PLAYWRIGHT_VERSION;
    let (cli_js, from) = match env_nonempty("PLAYWRIGHT_CLI_JS") {
        Some(path) => (PathBuf::from(path), "PLAYWRIGHT_CLI_JS"),
        None => (
            install::driver_package_dir().join("cli.js"),
            "xtask's tools dir; the service needs PLAYWRIGHT_CLI_JS set to it",
        ),
    };
    let install = format!(
        "npm install --prefix {} playwright-core@{wanted} (`cargo xtask dev` does)",
        util::tools_dir().display()
    );
    if !cli_js.is_file() {
        return (
            Check::failed(
                NAME,
                format!("missing: no {} ({from})", cli_js.display()),
                install,
            ),
            None,
        );
    }
    let package_json = cli_js.with_file_name("package.json");
    match install::package_version(&package_json) {
        Some(found) if found == wanted => (
            Check::ok(
                NAME,
                format!(
                    "playwright-core {found} ({}, from {from})",
                    cli_js.display()
                ),
            ),
            Some(cli_js),
        ),
        found => (
            Check::failed(
                NAME,
                format!(
                    "version mismatch: {} is playwright-core {}, playwright-rs speaks {wanted}",
                    package_json.display(),
                    found.as_deref().unwrap_or("of no known version"),
                ),
                install,
            ),
            None,
        ),
    }
}

/// Latin, CJK and emoji fonts, as fontconfig (which Chromium uses) lists them.
pub fn fonts() -> Check {
    let families = match util::read(Command::new("fc-list").args([":", "family"])) {
        Ok(families) => families,
        Err(err) => {
            return Check::failed(
                "fonts",
                format!("fc-list does not run ({err:#})"),
                "apt-get install -y fontconfig",
            );
        }
    };
    let missing: Vec<&(&str, &str, &str)> = FONTS
        .iter()
        .filter(|(family, _, _)| !families.lines().any(|line| line.contains(family)))
        .collect();
    if missing.is_empty() {
        let names: Vec<&str> = FONTS.iter().map(|(family, _, _)| *family).collect();
        return Check::ok("fonts", names.join(", "));
    }
    let what: Vec<String> = missing
        .iter()
        .map(|(family, purpose, _)| format!("{family} ({purpose})"))
        .collect();
    let packages: Vec<&str> = missing.iter().map(|(_, _, package)| *package).collect();
    Check::failed(
        "fonts",
        format!("missing {}", what.join(", ")),
        format!("apt-get install -y {}", packages.join(" ")),
    )
}

/// The `wasm32-wasip2` standard library, which `templates build` needs.
pub fn wasm_target() -> Check {
    const NAME: &str = "wasm target";
    match install::wasm_target_libdir() {
        Ok((_, libdir)) if libdir.is_dir() => Check::ok(NAME, install::WASM_TARGET),
        Ok((sysroot, _)) => Check::failed(
            NAME,
            format!(
                "{} is not installed in {}",
                install::WASM_TARGET,
                sysroot.display()
            ),
            format!("rustup target add {}", install::WASM_TARGET),
        ),
        Err(err) => Check::failed(NAME, format!("{err:#}"), "install Rust with rustup"),
    }
}

/// The default design (and any others) built into `TEMPLATES__DIR`.
pub fn templates(settings: &DesignSettings) -> Check {
    const NAME: &str = "templates";
    let fix = "cargo xtask templates build (or point TEMPLATES__DIR at the built designs)";
    let dir = &settings.dir;
    let designs = built_designs(dir);
    if !designs.contains(&settings.default) {
        return Check::failed(
            NAME,
            format!(
                "the default design `{}` is not built: no {}",
                settings.default,
                dir.join(format!("{}.wasm", settings.default)).display()
            ),
            fix,
        );
    }
    Check::ok(
        NAME,
        format!(
            "{} in {} (default: {})",
            designs.join(", "),
            dir.display(),
            settings.default
        ),
    )
}

/// The names of the `NAME.wasm` components in `dir`, sorted.
pub fn built_designs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "wasm").then_some(())?;
            Some(path.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chromium_names_the_setting_and_the_fix() {
        let settings = PlaywrightSettings {
            executable_path: PathBuf::from("/nonexistent/chromium"),
            ..PlaywrightSettings::default()
        };
        let check = chromium(&settings);
        assert!(check.is_failure());
        assert_eq!(
            check.to_string(),
            "Chromium: no Chromium at /nonexistent/chromium (PLAYWRIGHT__EXECUTABLE_PATH) \
             (fix: apt-get install -y chromium (`cargo xtask dev` does), or point \
             PLAYWRIGHT__EXECUTABLE_PATH at a Chromium binary)"
        );
    }

    #[test]
    fn missing_templates_say_how_to_build_them() {
        let settings = DesignSettings {
            dir: PathBuf::from("/nonexistent/dist"),
            ..DesignSettings::default()
        };
        let check = templates(&settings);
        assert!(check.is_failure());
        assert!(
            check.to_string().contains("cargo xtask templates build"),
            "{check}"
        );
    }
}

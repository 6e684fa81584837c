//! Idempotent installers for what the service and its tests need on this machine.
//!
//! Each one checks first and says what it found; apt, npm, pip and rustup run only for what is
//! missing, and a failure names what is missing and the command that fixes it.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicBool, Ordering},
};

use anyhow::{Context, Result, bail};

use crate::util::{self, env_nonempty, find_in_path, run, tools_dir};

/// The driver version `playwright-rs` speaks to (1.64.0 for 0.20.1); another version fails the handshake.
pub const PLAYWRIGHT_CORE_VERSION: &str = playwright_rs::PLAYWRIGHT_VERSION;
pub const MOTO_VERSION: &str = "5.2.5";
/// The last LocalStack release that runs on Python 3.11.
pub const LOCALSTACK_VERSION: &str = "4.13.1";
pub const WASM_TARGET: &str = "wasm32-wasip2";

pub const NODE: &str = "/usr/bin/node";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Debian packages the renderer needs, each with a file it installs: the file present means the
/// package is present (quicker and more precise than asking dpkg or `fc-list`).
const BROWSER_PACKAGES: &[(&str, &str)] = &[
    ("chromium", DEFAULT_CHROMIUM),
    (
        "fonts-dejavu-core",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ),
    (
        "fonts-liberation2",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    ),
    (
        "fonts-noto-core",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    ),
    (
        "fonts-noto-color-emoji",
        "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    ),
    (
        "fonts-noto-cjk",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    ),
    ("nodejs", NODE),
];

/// The environment the service (and the tests that start it) needs to find Node, the Playwright
/// driver and Chromium.
#[derive(Debug, Clone)]
pub struct BrowserEnv {
    pub node: PathBuf,
    pub cli_js: PathBuf,
    pub chromium: PathBuf,
}

impl BrowserEnv {
    pub fn vars(&self) -> [(&'static str, &Path); 3] {
        [
            ("PLAYWRIGHT_NODE_EXE", &self.node),
            ("PLAYWRIGHT_CLI_JS", &self.cli_js),
            ("PLAYWRIGHT__EXECUTABLE_PATH", &self.chromium),
        ]
    }
}

/// Chromium, the fonts, Node and the Playwright driver.
pub fn browser() -> Result<BrowserEnv> {
    util::step("checking Chromium, fonts, Node and the Playwright driver");
    let chromium = chromium_path()?;
    let mut missing: Vec<&str> = BROWSER_PACKAGES
        .iter()
        .filter(|(package, file)| {
            // A custom Chromium replaces the Debian one; don't install what will not be used.
            let wanted = *package != "chromium" || chromium == Path::new(DEFAULT_CHROMIUM);
            wanted && !Path::new(file).exists()
        })
        .map(|(package, _)| *package)
        .collect();
    if find_in_path("npm").is_none() {
        missing.push("npm");
    }
    if missing.is_empty() {
        eprintln!("    ok: Chromium ({}), fonts, Node", chromium.display());
    } else {
        apt_install(&missing)?;
    }
    let cli_js = playwright_driver()?;
    Ok(BrowserEnv {
        node: PathBuf::from(NODE),
        cli_js,
        chromium,
    })
}

/// Debian's HAProxy, the load balancer in front of a local fleet (`cargo xtask dev --instances N`,
/// `tests/tests/fleet.rs`): the one on `PATH`, else `apt-get install -y haproxy`. Returns its path.
pub fn haproxy() -> Result<PathBuf> {
    util::step("checking HAProxy (the fleet's load balancer)");
    if let Some(found) = card_e2e::fleet::haproxy_path() {
        eprintln!("    ok: haproxy ({})", found.display());
        return Ok(found);
    }
    apt_install(&["haproxy"])?;
    card_e2e::fleet::haproxy_path()
        .context("apt-get installed haproxy but it is still missing from PATH and /usr/sbin")
}

/// `PLAYWRIGHT__EXECUTABLE_PATH` when set (it must exist), else Debian's `/usr/bin/chromium`.
fn chromium_path() -> Result<PathBuf> {
    let Some(custom) = env_nonempty("PLAYWRIGHT__EXECUTABLE_PATH") else {
        return Ok(PathBuf::from(DEFAULT_CHROMIUM));
    };
    let custom = PathBuf::from(custom);
    if custom != Path::new(DEFAULT_CHROMIUM) && !custom.is_file() {
        bail!(
            "PLAYWRIGHT__EXECUTABLE_PATH={} does not exist: point it at a Chromium binary, or unset \
             it to use {DEFAULT_CHROMIUM} (installed with `apt-get install -y chromium`)",
            custom.display()
        );
    }
    Ok(custom)
}

/// Where xtask installs the driver: `$CARD_TOOLS_DIR/node_modules/playwright-core`.
pub fn driver_package_dir() -> PathBuf {
    tools_dir().join("node_modules/playwright-core")
}

/// `npm install --prefix $CARD_TOOLS_DIR playwright-core@1.64.0`, unless that version is there.
fn playwright_driver() -> Result<PathBuf> {
    let tools = tools_dir();
    let package_dir = driver_package_dir();
    let cli_js = package_dir.join("cli.js");
    let installed = package_version(&package_dir.join("package.json"));
    if cli_js.is_file() && installed.as_deref() == Some(PLAYWRIGHT_CORE_VERSION) {
        eprintln!(
            "    ok: playwright-core {PLAYWRIGHT_CORE_VERSION} driver ({})",
            cli_js.display()
        );
        return Ok(cli_js);
    }
    eprintln!(
        "    installing the playwright-core {PLAYWRIGHT_CORE_VERSION} driver into {} (found: {})",
        tools.display(),
        installed.as_deref().unwrap_or("none")
    );
    fs::create_dir_all(&tools).with_context(|| format!("could not create {}", tools.display()))?;
    run(Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(&tools)
        .args(["--no-audit", "--no-fund"])
        .arg(format!("playwright-core@{PLAYWRIGHT_CORE_VERSION}")))
    .context("could not install the Playwright driver from npm")?;
    if !cli_js.is_file() {
        bail!(
            "npm finished but {} is missing: run `npm install --prefix {} playwright-core@{PLAYWRIGHT_CORE_VERSION}` and read its output",
            cli_js.display(),
            tools.display()
        );
    }
    Ok(cli_js)
}

/// The `version` of an npm `package.json`.
pub fn package_version(package_json: &Path) -> Option<String> {
    let text = fs::read_to_string(package_json).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json.get("version")?.as_str()?.to_owned())
}

/// The build tools a JavaScript card design pins in its `package.json` (`componentize-qjs`,
/// `@bytecodealliance/jco`), installed outside the repository.
#[derive(Debug, Clone)]
pub struct JsToolchain {
    /// `$CARD_TOOLS_DIR/js/NAME`, holding a copy of the design's `package.json`.
    pub prefix: PathBuf,
}

impl JsToolchain {
    /// An executable the packages install, e.g. `componentize-qjs` or `jco`.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.prefix.join("node_modules/.bin").join(name)
    }
}

/// `npm install` of the design's pinned dev dependencies into `$CARD_TOOLS_DIR/js/NAME`,
/// unless that exact `package.json` was installed there already (the repository never gets a
/// `node_modules`).
pub fn js_toolchain(name: &str, design_dir: &Path) -> Result<JsToolchain> {
    let toolchain = JsToolchain {
        prefix: tools_dir().join("js").join(name),
    };
    let manifest_path = design_dir.join("package.json");
    let manifest = fs::read(&manifest_path)
        .with_context(|| format!("could not read {}", manifest_path.display()))?;
    // What was installed, byte for byte: a changed pin means a reinstall.
    let stamp = toolchain.prefix.join("package.json.installed");
    let wanted = ["componentize-qjs", "jco"];
    if fs::read(&stamp).is_ok_and(|installed| installed == manifest)
        && wanted.iter().all(|bin| toolchain.bin(bin).exists())
    {
        eprintln!(
            "    ok: {name}'s JavaScript build tools ({})",
            toolchain.prefix.display()
        );
        return Ok(toolchain);
    }
    if find_in_path("npm").is_none() || !Path::new(NODE).exists() {
        apt_install(&["nodejs", "npm"])?;
    }
    eprintln!(
        "    installing {name}'s JavaScript build tools into {}",
        toolchain.prefix.display()
    );
    fs::create_dir_all(&toolchain.prefix)
        .with_context(|| format!("could not create {}", toolchain.prefix.display()))?;
    fs::write(toolchain.prefix.join("package.json"), &manifest)
        .with_context(|| format!("could not write into {}", toolchain.prefix.display()))?;
    run(Command::new("npm").current_dir(&toolchain.prefix).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
    ]))
    .with_context(|| {
        format!(
            "npm could not install the tools pinned in {}: check that the npm registry is \
             reachable and the versions exist (`npm view componentize-qjs versions`)",
            manifest_path.display()
        )
    })?;
    if let Some(missing) = wanted.iter().find(|bin| !toolchain.bin(bin).exists()) {
        bail!(
            "npm finished but {} is missing: {} must list `componentize-qjs` and \
             `@bytecodealliance/jco` in devDependencies",
            toolchain.bin(missing).display(),
            manifest_path.display()
        );
    }
    fs::write(&stamp, &manifest).with_context(|| format!("could not write {}", stamp.display()))?;
    Ok(toolchain)
}

/// `rustup target add wasm32-wasip2` unless the toolchain already has its standard library.
pub fn wasm_target() -> Result<()> {
    util::step(format_args!("checking the {WASM_TARGET} target"));
    let (sysroot, libdir) = wasm_target_libdir()?;
    if libdir.is_dir() {
        eprintln!("    ok: {WASM_TARGET} ({})", libdir.display());
        return Ok(());
    }
    if find_in_path("rustup").is_none() {
        bail!(
            "the {WASM_TARGET} target is missing from {} and there is no rustup to add it: \
             install it with your toolchain manager (rustup: `rustup target add {WASM_TARGET}`)",
            sysroot.display()
        );
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        .with_context(|| format!("could not add the {WASM_TARGET} target"))
}

/// The toolchain's sysroot and where the wasm target's standard library lives in it.
pub fn wasm_target_libdir() -> Result<(PathBuf, PathBuf)> {
    let sysroot = util::read(Command::new("rustc").args(["--print", "sysroot"]))?;
    let sysroot = PathBuf::from(sysroot.trim());
    let libdir = sysroot.join("lib/rustlib").join(WASM_TARGET);
    Ok((sysroot, libdir))
}

/// A venv at `$CARD_TOOLS_DIR/moto-venv` with moto's S3 server; returns the `moto_server` path.
///
/// The `server` extra drags in cfn-lint, docker and more; `moto[s3]` plus Flask is all
/// `moto_server` needs for S3.
pub fn moto() -> Result<PathBuf> {
    util::step(format_args!(
        "checking moto {MOTO_VERSION} (local S3 server)"
    ));
    let venv = tools_dir().join("moto-venv");
    let server = venv.join("bin/moto_server");
    let wanted = [
        ("moto", Some(MOTO_VERSION)),
        ("flask", None),
        ("flask-cors", None),
    ];
    python_packages(
        &venv,
        &wanted,
        &[&format!("moto[s3]=={MOTO_VERSION}"), "flask", "flask-cors"],
    )?;
    if !server.is_file() {
        bail!(
            "{} is missing after installing moto: delete {} and run this command again",
            server.display(),
            venv.display()
        );
    }
    eprintln!("    ok: moto {MOTO_VERSION} ({})", server.display());
    Ok(server)
}

/// A venv at `$CARD_TOOLS_DIR/localstack-venv` with LocalStack's S3 (no Docker, no auth token);
/// returns its Python, which runs `python -m localstack.runtime.main`.
pub fn localstack() -> Result<PathBuf> {
    util::step(format_args!(
        "checking LocalStack {LOCALSTACK_VERSION} (local S3 server on the host)"
    ));
    let venv = tools_dir().join("localstack-venv");
    // Newer releases of these break LocalStack 4.13 on Python 3.11.
    let requirements = [
        &format!("localstack-core[base-runtime]=={LOCALSTACK_VERSION}") as &str,
        "cbor2<6",
        "cryptography<44",
        "pyopenssl<24.3",
        "service_identity",
    ];
    python_packages(
        &venv,
        &[("localstack-core", Some(LOCALSTACK_VERSION))],
        &requirements,
    )?;
    eprintln!(
        "    ok: LocalStack {LOCALSTACK_VERSION} ({})",
        venv.display()
    );
    Ok(venv.join("bin/python"))
}

/// Makes `venv` hold `wanted` (name, exact version or any), pip-installing `requirements` if not.
fn python_packages(
    venv: &Path,
    wanted: &[(&str, Option<&str>)],
    requirements: &[&str],
) -> Result<()> {
    let python = venv.join("bin/python");
    if python.is_file() && installed_versions_match(&python, wanted) {
        return Ok(());
    }
    if !python.is_file() {
        if find_in_path("python3").is_none() {
            apt_install(&["python3", "python3-venv"])?;
        }
        let python3 = find_in_path("python3").context("python3 is still missing from PATH")?;
        eprintln!("    creating the venv {}", venv.display());
        run(Command::new(python3).args(["-m", "venv"]).arg(venv)).with_context(|| {
            format!(
                "could not create the venv {}: install Python's venv module \
                 (`apt-get install -y python3-venv`) and run this command again",
                venv.display()
            )
        })?;
    }
    eprintln!(
        "    installing {} into {}",
        requirements.join(" "),
        venv.display()
    );
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(requirements))
    .with_context(|| {
        format!(
            "pip could not install into {}: check that PyPI is reachable, or delete the venv and retry",
            venv.display()
        )
    })?;
    if !installed_versions_match(&python, wanted) {
        bail!(
            "{} still lacks {wanted:?} after pip install: delete the venv and run this command again",
            venv.display()
        );
    }
    Ok(())
}

fn installed_versions_match(python: &Path, wanted: &[(&str, Option<&str>)]) -> bool {
    let names: Vec<&str> = wanted.iter().map(|(name, _)| *name).collect();
    // importlib.metadata reads the dist-info files only: far quicker than importing moto.
    let script = concat!(
        "import sys, importlib.metadata as m\n",
        "for name in sys.argv[1:]:\n",
        "    try: print(m.version(name))\n",
        "    except m.PackageNotFoundError: print('')\n",
    );
    let Ok(out) = util::read(Command::new(python).args(["-c", script]).args(&names)) else {
        return false;
    };
    let found: Vec<&str> = out.lines().collect();
    found.len() == wanted.len()
        && wanted
            .iter()
            .zip(&found)
            .all(|((_, version), found)| match version {
                Some(version) => found == version,
                None => !found.is_empty(),
            })
}

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

/// `apt-get update` (once per run) and `apt-get install -y` for the missing packages.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let list = packages.join(" ");
    eprintln!("    missing Debian packages: {list}");
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || find_in_path("apt-get").is_none() {
        bail!(
            "missing system packages: {list}; install them with \
             `sudo apt-get update && sudo apt-get install -y {list}` and run this command again"
        );
    }
    let fix = format!("apt-get update && apt-get install -y {list}");
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        run(Command::new("apt-get").arg("update"))
            .with_context(|| format!("could not update apt's package lists (try `{fix}`)"))?;
    }
    run(Command::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y"])
        .args(packages))
    .with_context(|| format!("could not install {list} (try `{fix}`)"))
}

/// cargo-fuzz, pinned: `cargo install` puts it under `$CARD_TOOLS_DIR/cargo/bin`.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The Rust toolchain cargo-fuzz builds with (sanitizers and `-Z` flags need nightly).
pub const FUZZ_TOOLCHAIN: &str = "nightly";

/// A nightly toolchain (rustup adds a minimal one if missing) and cargo-fuzz; returns the
/// `cargo-fuzz` binary.
pub fn fuzzing() -> Result<PathBuf> {
    util::step(format_args!(
        "checking the {FUZZ_TOOLCHAIN} toolchain and cargo-fuzz {CARGO_FUZZ_VERSION}"
    ));
    if find_in_path("rustup").is_none() {
        bail!(
            "fuzzing needs a {FUZZ_TOOLCHAIN} Rust toolchain and rustup is missing: install rustup \
             (https://rustup.rs), then `rustup toolchain install {FUZZ_TOOLCHAIN} --profile minimal`"
        );
    }
    let toolchains = util::read(Command::new("rustup").args(["toolchain", "list"]))?;
    if toolchains
        .lines()
        .any(|line| line.starts_with(&format!("{FUZZ_TOOLCHAIN}-")))
    {
        eprintln!("    ok: {FUZZ_TOOLCHAIN} toolchain");
    } else {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            FUZZ_TOOLCHAIN,
            "--profile",
            "minimal",
        ]))
        .with_context(|| {
            format!("the {FUZZ_TOOLCHAIN} toolchain is missing and rustup could not install it")
        })?;
    }
    let root = tools_dir().join("cargo");
    let bin = root.join("bin/cargo-fuzz");
    let installed = util::read(Command::new(&bin).arg("--version"))
        .is_ok_and(|v| v.split_whitespace().nth(1) == Some(CARGO_FUZZ_VERSION));
    if installed {
        eprintln!(
            "    ok: cargo-fuzz {CARGO_FUZZ_VERSION} ({})",
            bin.display()
        );
        return Ok(bin);
    }
    let mut install = util::cargo();
    install
        .args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ])
        .arg("--root")
        .arg(&root)
        // Its own target directory: building it must not evict the workspace's artifacts.
        .env("CARGO_TARGET_DIR", tools_dir().join("cargo/target"));
    run(&mut install).with_context(|| {
        format!(
            "cargo-fuzz {CARGO_FUZZ_VERSION} is missing and could not be installed \
             (try `cargo install --locked cargo-fuzz --version {CARGO_FUZZ_VERSION}`)"
        )
    })?;
    if !bin.is_file() {
        bail!(
            "{} is missing after `cargo install cargo-fuzz`",
            bin.display()
        );
    }
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use card_service::settings::Settings;

    use super::*;
    use crate::util::project_root;

    /// The image installs what `dev` installs, the driver playwright-rs speaks, runs as a user of
    /// its own and has a health check; its `ENV` names are settings the service knows.
    #[test]
    fn the_dockerfile_installs_what_the_service_needs() {
        let dockerfile = fs::read_to_string(project_root().join("service/Dockerfile")).unwrap();
        for (package, _) in BROWSER_PACKAGES {
            assert!(
                dockerfile.contains(package),
                "service/Dockerfile does not install {package}"
            );
        }
        assert!(
            dockerfile.contains(&format!("playwright-core@{PLAYWRIGHT_CORE_VERSION}")),
            "service/Dockerfile installs another driver than playwright-core@{PLAYWRIGHT_CORE_VERSION}"
        );
        let user = dockerfile
            .lines()
            .filter_map(|line| line.strip_prefix("USER "))
            .next_back()
            .expect("no USER line");
        assert!(!["root", "0"].contains(&user.trim()), "runs as {user}");
        assert!(dockerfile.contains("HEALTHCHECK"), "no HEALTHCHECK");
        let known = Settings::default().redacted();
        // The runtime stage's `ENV` block: the one that points at the Playwright driver.
        let driver = dockerfile
            .find("PLAYWRIGHT_NODE_EXE=")
            .expect("no PLAYWRIGHT_NODE_EXE");
        let start = dockerfile[..driver].rfind("\nENV ").expect("no ENV block") + 1;
        let env_block = &dockerfile[start..];
        let env_block = &env_block[..env_block.find("\nEXPOSE").expect("no EXPOSE")];
        for name in env_block
            .split_whitespace()
            .filter_map(|word| word.split_once('=').map(|(name, _)| name))
        {
            assert!(
                known.contains_key(name)
                    || ["PLAYWRIGHT_NODE_EXE", "PLAYWRIGHT_CLI_JS", "HOME"].contains(&name),
                "service/Dockerfile sets {name}, which is no setting"
            );
        }
    }
}

//! The container runtime: a Docker daemon where one answers, else podman set up on this machine.
//!
//! podman's set-up, each part only when missing: the Debian packages, runc and ulimits the VM
//! allows in `/etc/containers/containers.conf`, the `debian:bookworm-slim` base image (loaded from
//! an archive under `~/.cache/card-service/images/`, else built with debootstrap and saved there),
//! and `podman system service` on a socket for Docker-API clients (`DOCKER_HOST`).

use std::{
    fs,
    io::{Read, Write},
    os::unix::{net::UnixStream, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use toml_edit::{DocumentMut, Item, Table, value};

use crate::{
    install,
    util::{self, find_in_path, state_dir, tools_dir},
};

/// The base image every image here builds on, as `FROM` names it.
pub const BASE_IMAGE: &str = "docker.io/library/debian:bookworm-slim";
/// Where podman reads the machine's defaults.
const CONTAINERS_CONF: &str = "/etc/containers/containers.conf";
/// Debian packages podman needs here, each with a file it installs.
const PACKAGES: &[(&str, &str)] = &[
    ("podman", "/usr/bin/podman"),
    ("runc", "/usr/sbin/runc"),
    ("podman-compose", "/usr/bin/podman-compose"),
    ("debootstrap", "/usr/sbin/debootstrap"),
    ("catatonit", "/usr/bin/catatonit"),
];
/// podman asks for more processes than some VMs allow; this many is plenty for a card service.
const NPROC_CEILING: u64 = 32768;

/// Which engine runs the containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// A Docker daemon answered: it is used as it is.
    Docker,
    /// podman, with its Docker-API socket.
    Podman { socket: PathBuf },
}

/// What `setup` found or made, for its one-line result and for the commands that follow.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub engine: Engine,
    /// `podman version` or `docker version`, for the report.
    pub version: String,
}

impl Runtime {
    /// The CLI that drives the engine (`docker` or `podman`).
    pub fn cli(&self) -> Command {
        match self.engine {
            Engine::Docker => Command::new("docker"),
            Engine::Podman { .. } => Command::new("podman"),
        }
    }

    /// `unix:///…` for Docker-API clients (testcontainers, the `docker` CLI).
    pub fn docker_host(&self) -> Option<String> {
        match &self.engine {
            Engine::Docker => std::env::var("DOCKER_HOST").ok(),
            Engine::Podman { socket } => Some(format!("unix://{}", socket.display())),
        }
    }

    /// The compose command: `docker compose`, or Debian's `podman-compose`.
    pub fn compose(&self) -> Command {
        match self.engine {
            Engine::Docker => {
                let mut cmd = Command::new("docker");
                cmd.arg("compose");
                cmd
            }
            Engine::Podman { .. } => Command::new("podman-compose"),
        }
    }

    pub fn summary(&self) -> String {
        match &self.engine {
            Engine::Docker => format!("containers: Docker daemon {} (used as is)", self.version),
            Engine::Podman { .. } => format!(
                "containers: podman {} with runc, {BASE_IMAGE} present, DOCKER_HOST={}",
                self.version,
                self.docker_host().unwrap_or_default()
            ),
        }
    }
}

/// The podman socket xtask serves the Docker API on.
pub fn podman_socket() -> PathBuf {
    state_dir().join("podman.sock")
}

/// The base image archive: loading it takes seconds, building it a minute.
pub fn base_archive() -> PathBuf {
    images_dir().join("debian-bookworm-slim.tar")
}

/// `~/.cache/card-service/images`, beside the tools.
pub fn images_dir() -> PathBuf {
    let tools = tools_dir();
    tools.parent().unwrap_or(&tools).join("images")
}

/// Sets the runtime up (idempotent) and says how to reach it. A failure is one line naming what
/// is missing.
pub fn setup() -> Result<Runtime> {
    if let Some(version) = docker_daemon_version() {
        return Ok(Runtime {
            engine: Engine::Docker,
            version,
        });
    }
    install_packages()?;
    configure()?;
    let version =
        util::read(Command::new("podman").args(["version", "--format", "{{.Client.Version}}"]))
            .map_err(|err| anyhow!("podman cannot start: {}", one_line(&err)))?
            .trim()
            .to_string();
    // A container that runs is the proof the runtime and ulimit settings work on this machine.
    base_image()?;
    let socket = serve_docker_api()?;
    Ok(Runtime {
        engine: Engine::Podman { socket },
        version,
    })
}

/// What is there now, without installing or starting anything (`status`, and the test step's
/// "can it run?" question).
pub fn current() -> Option<Runtime> {
    if let Some(version) = docker_daemon_version() {
        return Some(Runtime {
            engine: Engine::Docker,
            version,
        });
    }
    let version =
        util::read(Command::new("podman").args(["version", "--format", "{{.Client.Version}}"]))
            .ok()?;
    Some(Runtime {
        engine: Engine::Podman {
            socket: podman_socket(),
        },
        version: version.trim().to_string(),
    })
}

/// A Docker daemon (not our podman socket) that answers `docker version`.
fn docker_daemon_version() -> Option<String> {
    find_in_path("docker")?;
    let ours = format!("unix://{}", podman_socket().display());
    let mut cmd = Command::new("docker");
    if std::env::var("DOCKER_HOST").is_ok_and(|host| host == ours) {
        cmd.env_remove("DOCKER_HOST");
    }
    let out = cmd
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // podman's socket also speaks the Docker API; its server calls itself "Podman Engine".
    let podman = String::from_utf8_lossy(&out.stdout).contains("podman");
    (out.status.success() && !version.is_empty() && !podman).then_some(version)
}

fn install_packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, file)| !Path::new(file).exists())
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    install::apt_install(&missing).map_err(|err| anyhow!("{}", one_line(&err)))
}

/// runc as the runtime and ulimits this machine allows, each written only when not already set.
fn configure() -> Result<()> {
    let path = Path::new(CONTAINERS_CONF);
    let text = fs::read_to_string(path).unwrap_or_default();
    let (hard_nofile, hard_nproc) = (
        hard_limit(libc::RLIMIT_NOFILE),
        hard_limit(libc::RLIMIT_NPROC),
    );
    let Some(updated) = configured(&text, hard_nofile, hard_nproc)? else {
        return Ok(());
    };
    eprintln!("    writing runc and ulimits (nofile {hard_nofile}) to {CONTAINERS_CONF}");
    fs::create_dir_all("/etc/containers")
        .and_then(|()| fs::write(path, updated))
        .map_err(|err| anyhow!("cannot write {CONTAINERS_CONF} ({err}): run `cargo xtask containers setup` as root once"))
}

/// The configuration with our settings added where missing; `None` when nothing needs adding.
fn configured(text: &str, hard_nofile: u64, hard_nproc: u64) -> Result<Option<String>> {
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{CONTAINERS_CONF} is not valid TOML"))?;
    let mut changed = false;
    let containers = table(&mut doc, "containers")?;
    if !containers.contains_key("default_ulimits") {
        let nproc = hard_nproc.min(NPROC_CEILING);
        let mut limits = toml_edit::Array::new();
        limits.push(format!("nofile={hard_nofile}:{hard_nofile}"));
        limits.push(format!("nproc={nproc}:{nproc}"));
        containers.insert("default_ulimits", value(limits));
        changed = true;
    }
    let engine = table(&mut doc, "engine")?;
    if !engine.contains_key("runtime") {
        // crun refuses this kind of VM's hybrid cgroup layout; runc runs.
        engine.insert("runtime", value("runc"));
        changed = true;
    }
    Ok(changed.then(|| doc.to_string()))
}

fn table<'a>(doc: &'a mut DocumentMut, name: &str) -> Result<&'a mut Table> {
    doc.entry(name)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .with_context(|| format!("[{name}] in {CONTAINERS_CONF} is not a table"))
}

fn hard_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct it is given.
    let ok = unsafe { libc::getrlimit(resource, &mut limit) } == 0;
    if ok && limit.rlim_max != libc::RLIM_INFINITY {
        limit.rlim_max
    } else {
        1_048_576
    }
}

/// `debian:bookworm-slim`: present, else loaded from the archive, else built with debootstrap and
/// saved as the archive.
fn base_image() -> Result<()> {
    let exists = Command::new("podman")
        .args(["image", "exists", BASE_IMAGE])
        .status()
        .is_ok_and(|status| status.success());
    if !exists {
        let archive = base_archive();
        if archive.is_file() {
            util::read(Command::new("podman").arg("load").arg("-i").arg(&archive))
                .map_err(|err| anyhow!("cannot load {}: {}", archive.display(), one_line(&err)))?;
        } else {
            build_base_image(&archive)?;
        }
    }
    // Run it once: the runtime and ulimit settings fail here, not in the middle of a build.
    util::read(Command::new("podman").args(["run", "--rm", "--network=none", BASE_IMAGE, "true"]))
        .map_err(|err| anyhow!("podman cannot run a container: {}", one_line(&err)))?;
    Ok(())
}

fn build_base_image(archive: &Path) -> Result<()> {
    util::step(format_args!(
        "building {BASE_IMAGE} with debootstrap (about a minute)"
    ));
    let rootfs = images_dir().join("bookworm-rootfs");
    let _ = fs::remove_dir_all(&rootfs);
    fs::create_dir_all(&rootfs)?;
    let built = (|| -> Result<()> {
        util::run(
            Command::new("debootstrap")
                .args(["--variant=minbase", "bookworm"])
                .arg(&rootfs)
                .arg(debian_mirror()),
        )?;
        // Images carry no package lists; `apt-get update` in a Dockerfile fetches them.
        for dir in ["var/lib/apt/lists", "var/cache/apt/archives"] {
            for entry in fs::read_dir(rootfs.join(dir))?.flatten() {
                if entry.path().is_file() {
                    fs::remove_file(entry.path())?;
                }
            }
        }
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()?;
        let status = Command::new("podman")
            .args(["import", "--change", "CMD [\"bash\"]", "-", BASE_IMAGE])
            .stdin(tar.stdout.context("no pipe from tar")?)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("podman import failed ({status})");
        }
        util::run(Command::new("podman").args([
            "tag",
            BASE_IMAGE,
            "localhost/debian:bookworm-slim",
        ]))?;
        let partial = archive.with_extension("tar.partial");
        util::run(
            Command::new("podman")
                .args(["save", "-o"])
                .arg(&partial)
                .arg(BASE_IMAGE),
        )?;
        fs::rename(&partial, archive)?;
        Ok(())
    })();
    let _ = fs::remove_dir_all(&rootfs);
    built.map_err(|err| anyhow!("cannot build {BASE_IMAGE}: {}", one_line(&err)))
}

/// The first `URIs:` of the machine's Debian sources, else deb.debian.org.
fn debian_mirror() -> String {
    let sources = fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    sources
        .lines()
        .find_map(|line| line.strip_prefix("URIs:"))
        .and_then(|uris| uris.split_whitespace().next())
        .unwrap_or("http://deb.debian.org/debian")
        .to_string()
}

/// `podman system service` on [`podman_socket`], started (detached) unless it already answers.
fn serve_docker_api() -> Result<PathBuf> {
    let socket = podman_socket();
    if docker_api_answers(&socket) {
        return Ok(socket);
    }
    fs::create_dir_all(state_dir())?;
    let _ = fs::remove_file(&socket);
    let log = state_dir().join("podman-service.log");
    let out = fs::File::create(&log)?;
    Command::new("podman")
        .args(["system", "service", "--time=0"])
        .arg(format!("unix://{}", socket.display()))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        // Its own process group: it outlives this command and a Ctrl-C in its terminal.
        .process_group(0)
        .spawn()
        .map_err(|err| anyhow!("cannot start `podman system service`: {err}"))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if docker_api_answers(&socket) {
            return Ok(socket);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "`podman system service` did not answer on {} within 15 s (its output: {})",
        socket.display(),
        log.display()
    )
}

/// `GET /_ping` on a Docker-API socket answers `OK`.
pub fn docker_api_answers(socket: &Path) -> bool {
    let ping = || -> std::io::Result<bool> {
        let mut stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer.starts_with("HTTP/1.") && answer.contains(" 200 "))
    };
    ping().unwrap_or(false)
}

/// An error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_added_once_and_the_rest_is_kept() {
        let added = configured("[network]\nnetwork_backend = \"netavark\"\n", 20000, 96362)
            .unwrap()
            .unwrap();
        assert!(added.contains("network_backend = \"netavark\""), "{added}");
        assert!(
            added.contains(r#"default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]"#),
            "{added}"
        );
        assert!(added.contains("runtime = \"runc\""), "{added}");
        assert_eq!(configured(&added, 20000, 96362).unwrap(), None);
    }

    #[test]
    fn an_operators_own_choice_is_left_alone() {
        let own = "[engine]\nruntime = \"crun\"\n[containers]\ndefault_ulimits = []\n";
        assert_eq!(configured(own, 1024, 1024).unwrap(), None);
        assert!(configured("[engine\n", 1024, 1024).is_err());
    }

    #[test]
    fn errors_become_one_line() {
        let err = anyhow!("first\nline").context("outer");
        assert_eq!(one_line(&err), "outer: first line");
    }
}

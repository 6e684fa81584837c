//! A local S3 server for development that outlives the command that started it.
//!
//! The backend is chosen in the documented order (ARCHITECTURE.md, "S3 for development and
//! tests"): `S3_ENDPOINT` if set, else LocalStack through `docker compose` where a Docker daemon
//! answers, else moto (or LocalStack with `CARD_S3_BACKEND=localstack`) spawned on the host. What was started is recorded in
//! `$CARD_TOOLS_DIR/../state/s3-server.json`, so `localstack down|status` work from another shell.

use std::{
    fs,
    io::ErrorKind,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use card_e2e::s3::{self as harness, answers};
use serde::{Deserialize, Serialize};

use crate::{
    install,
    util::{self, env_nonempty, project_root, state_dir},
};

pub const DEFAULT_PORT: u16 = 4566;

/// What serves S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// `S3_ENDPOINT`: a server someone else runs.
    External,
    /// LocalStack from `docker-compose.yml`.
    DockerCompose,
    Moto,
    /// LocalStack installed with pip and run as a host process.
    Localstack,
}

impl Backend {
    /// Whether anonymous requests are checked against bucket policies: moto does, LocalStack
    /// never does, and what an `S3_ENDPOINT` server does is unknown.
    pub fn enforces_policies(self) -> Option<bool> {
        match self {
            Backend::Moto => Some(true),
            Backend::DockerCompose | Backend::Localstack => Some(false),
            Backend::External => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Backend::External => "S3_ENDPOINT",
            Backend::DockerCompose => "LocalStack (docker compose)",
            Backend::Moto => "moto",
            Backend::Localstack => "LocalStack (host process)",
        }
    }
}

/// The server to spawn on the host when there is no Docker daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HostBackend {
    /// moto: quick to start, enforces bucket policies.
    Moto,
    /// LocalStack without Docker: real CORS responses, no policy enforcement.
    Localstack,
}

/// How `up` starts a server.
#[derive(Debug, Clone, clap::Args)]
pub struct UpOptions {
    /// Port for a server spawned on the host (a compose LocalStack uses its published port).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// What to spawn when neither S3_ENDPOINT nor a Docker daemon is there.
    #[arg(long, value_enum, env = "CARD_S3_BACKEND", default_value = "moto")]
    pub backend: HostBackend,
}

impl Default for UpOptions {
    fn default() -> UpOptions {
        UpOptions {
            port: DEFAULT_PORT,
            backend: match env_nonempty("CARD_S3_BACKEND").as_deref() {
                Some("localstack") => HostBackend::Localstack,
                _ => HostBackend::Moto,
            },
        }
    }
}

/// A server that answers, and how it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    pub backend: Backend,
    pub endpoint: String,
    /// The process group leader of a host server; `None` for compose and external servers.
    pub pid: Option<u32>,
    /// Where a host server writes its output.
    pub log: Option<PathBuf>,
}

fn state_file() -> PathBuf {
    state_dir().join("s3-server.json")
}

fn read_state() -> Result<Option<Running>> {
    let path = state_file();
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is corrupt: delete it", path.display())),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("could not read {}", path.display())),
    }
}

fn write_state(running: &Running) -> Result<()> {
    let path = state_file();
    fs::create_dir_all(state_dir())?;
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, serde_json::to_string_pretty(running)?)?;
    fs::rename(&tmp, &path).with_context(|| format!("could not write {}", path.display()))
}

fn remove_state() -> Result<()> {
    match fs::remove_file(state_file()) {
        Err(err) if err.kind() != ErrorKind::NotFound => Err(err.into()),
        _ => Ok(()),
    }
}

/// Starts a local S3 server unless one answers already, and waits until it answers.
pub async fn up(options: &UpOptions) -> Result<Running> {
    if let Some(endpoint) = env_nonempty("S3_ENDPOINT") {
        util::step(format_args!("using S3_ENDPOINT={endpoint}"));
        wait_until_answers(&endpoint, Duration::from_secs(30), None).await?;
        return Ok(Running {
            backend: Backend::External,
            endpoint,
            pid: None,
            log: None,
        });
    }
    if let Some(running) = read_state()?
        && let Some(running) = reuse(running).await?
    {
        return Ok(running);
    }
    let running = if harness::docker_answers().await {
        start_compose(options).await?
    } else {
        match options.backend {
            HostBackend::Moto => start_moto(options.port).await?,
            HostBackend::Localstack => match install::localstack() {
                Ok(_) => start_localstack(options.port).await?,
                // LocalStack on the host needs an old Python stack; moto runs anywhere.
                Err(err) => {
                    eprintln!("    LocalStack does not install here ({err:#}); using moto instead");
                    start_moto(options.port).await?
                }
            },
        }
    };
    write_state(&running)?;
    Ok(running)
}

/// A recorded server that still runs (waiting for it if it is starting), or `None` if it is gone.
async fn reuse(running: Running) -> Result<Option<Running>> {
    let alive = match running.pid {
        Some(pid) => is_our_server(pid),
        None => true,
    };
    if alive && answers(&running.endpoint).await {
        eprintln!(
            "    already running: {} at {}",
            running.backend.describe(),
            running.endpoint
        );
        return Ok(Some(running));
    }
    if alive && running.pid.is_some() {
        // Another shell may have just started it.
        eprintln!("    {} is starting; waiting", running.backend.describe());
        wait_until_answers(&running.endpoint, Duration::from_secs(60), None).await?;
        return Ok(Some(running));
    }
    eprintln!(
        "    the recorded {} at {} is gone; starting a new one",
        running.backend.describe(),
        running.endpoint
    );
    remove_state()?;
    Ok(None)
}

async fn start_compose(options: &UpOptions) -> Result<Running> {
    let root = project_root();
    if !root.join("docker-compose.yml").is_file() {
        bail!(
            "a Docker daemon answers but {} is missing: restore it, or stop Docker to use moto",
            root.join("docker-compose.yml").display()
        );
    }
    util::step("starting LocalStack with docker compose");
    if options.port != DEFAULT_PORT {
        eprintln!(
            "    note: --port {} is ignored; compose publishes LocalStack on {DEFAULT_PORT}",
            options.port
        );
    }
    // `--wait`: until its health check passes, i.e. the init hook has provisioned the bucket.
    util::run(Command::new("docker").current_dir(&root).args([
        "compose",
        "up",
        "-d",
        "--wait",
        "localstack",
    ]))?;
    let endpoint = format!("http://127.0.0.1:{DEFAULT_PORT}");
    wait_until_answers(&endpoint, Duration::from_secs(120), None).await?;
    Ok(Running {
        backend: Backend::DockerCompose,
        endpoint,
        pid: None,
        log: None,
    })
}

async fn start_moto(port: u16) -> Result<Running> {
    install::moto()?;
    let cmd = harness::host_command(harness::Backend::Moto, &util::tools_dir(), port, None)?;
    spawn_detached(Backend::Moto, cmd, port, Duration::from_secs(30)).await
}

async fn start_localstack(port: u16) -> Result<Running> {
    let cmd = harness::host_command(
        harness::Backend::LocalStackHost,
        &util::tools_dir(),
        port,
        Some(&state_dir().join("localstack")),
    )?;
    spawn_detached(Backend::Localstack, cmd, port, Duration::from_secs(90)).await
}

/// Spawns a server in its own process group, so a Ctrl-C in this terminal leaves it running and
/// `down` can stop it with everything it spawned.
async fn spawn_detached(
    backend: Backend,
    mut cmd: Command,
    port: u16,
    patience: Duration,
) -> Result<Running> {
    if let Err(err) = TcpListener::bind(("127.0.0.1", port)) {
        bail!(
            "port {port} is taken ({err}) by a process xtask did not start: stop it, or pick \
             another port with `cargo xtask localstack up --port N`"
        );
    }
    util::step(format_args!(
        "starting {} on 127.0.0.1:{port}",
        backend.describe()
    ));
    fs::create_dir_all(state_dir())?;
    let log = state_dir().join("s3-server.log");
    let out = fs::File::create(&log)
        .with_context(|| format!("could not create the log {}", log.display()))?;
    eprintln!("    $ {}  (output: {})", util::show(&cmd), log.display());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not start {}", backend.describe()))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let running = Running {
        backend,
        endpoint,
        pid: Some(child.id()),
        log: Some(log),
    };
    if let Err(err) = wait_until_answers(&running.endpoint, patience, Some(&mut child)).await {
        kill_group(child.id());
        let _ = child.wait();
        return Err(err.context(format!(
            "{} did not start; its output is in {}",
            backend.describe(),
            running.log.as_deref().unwrap_or(Path::new("?")).display()
        )));
    }
    Ok(running)
}

/// Stops the recorded server; does nothing (successfully) when none is recorded.
pub fn down() -> Result<()> {
    if let Some(endpoint) = env_nonempty("S3_ENDPOINT") {
        eprintln!(
            "    note: S3_ENDPOINT={endpoint} is set; xtask does not manage that server, only one it recorded"
        );
    }
    let Some(running) = read_state()? else {
        eprintln!(
            "    no local S3 server recorded in {}",
            state_file().display()
        );
        return Ok(());
    };
    util::step(format_args!(
        "stopping {} at {}",
        running.backend.describe(),
        running.endpoint
    ));
    match (running.backend, running.pid) {
        (Backend::DockerCompose, _) => {
            util::run(Command::new("docker").current_dir(project_root()).args([
                "compose",
                "stop",
                "localstack",
            ]))?
        }
        (_, Some(pid)) if is_our_server(pid) => stop_group(pid)?,
        (_, Some(pid)) => eprintln!("    process {pid} is gone already"),
        (_, None) => {}
    }
    remove_state()
}

/// The local server: `S3_ENDPOINT`, else the one `up` recorded (which may have died since).
pub fn recorded() -> Result<Option<Running>> {
    if let Some(endpoint) = env_nonempty("S3_ENDPOINT") {
        return Ok(Some(Running {
            backend: Backend::External,
            endpoint,
            pid: None,
            log: None,
        }));
    }
    read_state()
}

/// Prints what runs; fails when nothing answers, so scripts can test it.
pub async fn status() -> Result<Running> {
    let Some(running) = recorded()? else {
        bail!(
            "no local S3 server is recorded in {}: start one with `cargo xtask localstack up`",
            state_file().display()
        );
    };
    eprintln!("    backend:  {}", running.backend.describe());
    eprintln!("    endpoint: {}", running.endpoint);
    if let Some(pid) = running.pid {
        let state = if is_our_server(pid) { "alive" } else { "gone" };
        eprintln!("    pid:      {pid} ({state})");
    }
    if let Some(log) = &running.log {
        eprintln!("    log:      {}", log.display());
    }
    if !answers(&running.endpoint).await {
        bail!(
            "{} at {} does not answer: restart it with `cargo xtask localstack down && cargo xtask localstack up`",
            running.backend.describe(),
            running.endpoint
        );
    }
    Ok(running)
}

/// True if `pid` runs and is a server we start (guards against a recycled PID).
fn is_our_server(pid: u32) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    cmdline.contains("moto_server") || cmdline.contains("localstack")
}

/// SIGTERM to the whole group, then SIGKILL if it lingers past a few seconds.
fn stop_group(pid: u32) -> Result<()> {
    signal_group(pid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid) {
            eprintln!("    stopped process group {pid}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    kill_group(pid);
    eprintln!("    killed process group {pid} (it ignored SIGTERM for 10 s)");
    Ok(())
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn kill_group(pid: u32) {
    signal_group(pid, libc::SIGKILL);
}

fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: killpg only sends a signal; a group that is gone already gives ESRCH, which is fine.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// Polls until the endpoint answers, failing early if the server process exits.
async fn wait_until_answers(
    endpoint: &str,
    patience: Duration,
    mut child: Option<&mut Child>,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if answers(endpoint).await {
            eprintln!(
                "    {endpoint} answers (after {})",
                util::human_duration(started.elapsed())
            );
            return Ok(());
        }
        if let Some(child) = child.as_deref_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!("the server exited ({status}) before {endpoint} answered");
        }
        if started.elapsed() > patience {
            bail!(
                "{endpoint} did not answer within {}",
                util::human_duration(patience)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use card_service::settings::Settings;
    use yaml_rust2::{Yaml, YamlLoader};

    use super::*;

    /// The compose file read as data: the services, the pinned tokenless LocalStack, the init hook,
    /// and environment names the service knows (the stack itself runs in `cargo xtask test`, xtask/src/containers/check.rs).
    #[test]
    fn the_compose_file_is_in_step_with_the_settings() {
        let root = project_root();
        let text = fs::read_to_string(root.join("docker-compose.yml")).unwrap();
        let docs = YamlLoader::load_from_str(&text).unwrap();
        let services = &docs[0]["services"];

        let localstack = &services["localstack"];
        // Built from localstack/Dockerfile on the Debian base: PyPI's LocalStack at the version
        // the host install pins (tokenless; registry images are not needed).
        let context = localstack["build"]["context"].as_str().unwrap();
        let dockerfile = fs::read_to_string(root.join(context).join("Dockerfile")).unwrap();
        let pin = format!(
            "localstack-core[base-runtime]=={}",
            crate::install::LOCALSTACK_VERSION
        );
        assert!(
            dockerfile.contains(&pin),
            "{context}/Dockerfile lacks {pin}"
        );
        assert!(dockerfile.contains("FROM debian:bookworm-slim"));
        assert_eq!(
            localstack["image"].as_str(),
            Some(crate::containers::images::LOCALSTACK_IMAGE)
        );
        let volumes: Vec<&str> = localstack["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert!(
            volumes
                .iter()
                .any(|v| v.starts_with("./localstack/init/ready.d:")),
            "{volumes:?}"
        );
        let hook_needs = ["AWS_S3_BUCKET_NAME", "AWS_REGION", "S3__CACHE_TTL_SECONDS"];
        for name in hook_needs {
            assert!(
                !localstack["environment"][name].is_badvalue(),
                "localstack lacks {name}"
            );
        }

        let service = &services["card-service"];
        let dockerfile = service["build"]["dockerfile"].as_str().unwrap();
        assert!(root.join(dockerfile).is_file(), "{dockerfile} is missing");
        assert_eq!(service["build"]["context"].as_str(), Some("."));
        assert_eq!(
            service["depends_on"]["localstack"]["condition"].as_str(),
            Some("service_healthy")
        );
        // A LocalStack that never becomes healthy must not keep the service from starting: it
        // serves with S3 `degraded` (checked by `containers check`).
        assert_eq!(
            service["depends_on"]["localstack"]["required"].as_bool(),
            Some(false)
        );
        let known: BTreeSet<String> = Settings::default().redacted().into_keys().collect();
        let environment = service["environment"].as_hash().unwrap();
        for name in environment.keys().filter_map(Yaml::as_str) {
            assert!(
                known.contains(name),
                "card-service sets {name}, which is no setting"
            );
        }
        for name in hook_needs {
            assert!(
                environment.contains_key(&Yaml::String(name.into())),
                "card-service lacks {name}, so its bucket and the hook's could differ"
            );
        }
        assert_eq!(
            service["environment"]["S3__ENDPOINT_URL"].as_str(),
            Some("http://localstack:4566")
        );
        assert!(
            service["shm_size"].as_str().is_some(),
            "Chromium needs a larger /dev/shm"
        );
    }
}

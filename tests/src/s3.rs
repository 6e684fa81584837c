//! A real S3 server for the end-to-end tests, chosen in the documented order (ARCHITECTURE.md,
//! "Fixed names and contracts"; `xtask/src/s3_server.rs` follows it too):
//!
//! 1. `S3_ENDPOINT` set: that server.
//! 2. A Docker daemon answers within 2 s: LocalStack through `testcontainers`.
//! 3. Otherwise moto (or LocalStack with `CARD_S3_BACKEND=localstack`) spawned from
//!    `$CARD_TOOLS_DIR` on a free loopback port, killed with its process group on drop.
//!
//! Hold the [`S3Server`] for as long as the test uses it, in a local: a `static` is never dropped,
//! so a spawned server would outlive the test binary.

use std::{
    fs,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use crate::service::repo_root;
use anyhow::{Context, bail};
use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation, retry::RetryConfig, timeout::TimeoutConfig,
    },
};
use aws_smithy_http_client::tls;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::{ContainerAsync, GenericImage, ImageExt, runners::AsyncRunner};

/// Emulators accept any credentials; these are the conventional ones.
const ACCESS_KEY: &str = "test";
const SECRET_KEY: &str = "test";
pub const REGION: &str = "us-east-1";
/// LocalStack's gateway port inside its container.
const LOCALSTACK_PORT: u16 = 4566;
/// How often a port race (the free port taken before the server bound it) is retried.
const SPAWN_ATTEMPTS: usize = 3;

/// What serves S3 for a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `S3_ENDPOINT`: a server someone else runs.
    External,
    /// LocalStack in a container started by `testcontainers`.
    LocalStackDocker,
    /// moto's server spawned on the host.
    Moto,
    /// LocalStack installed with pip, spawned on the host.
    LocalStackHost,
}

impl Backend {
    /// Only moto checks anonymous requests against bucket policies; LocalStack serves them all,
    /// and what an external server does is unknown.
    pub fn enforces_policies(self) -> bool {
        self == Backend::Moto
    }

    fn patience(self) -> Duration {
        match self {
            Backend::Moto | Backend::External => Duration::from_secs(30),
            Backend::LocalStackDocker | Backend::LocalStackHost => Duration::from_secs(90),
        }
    }
}

/// A running S3 server; dropping it stops whatever the harness started.
pub struct S3Server {
    /// The base URL the SDK and the service talk to, `http://127.0.0.1:PORT`.
    endpoint: String,
    backend: Backend,
    /// Whether anonymous GETs are checked against bucket policies, so policy tests can run.
    enforces_policies: bool,
    /// Keeps the server alive as long as this value lives.
    lifetime: Lifetime,
}

enum Lifetime {
    /// Someone else runs it.
    External,
    /// Removed by `testcontainers` when dropped; only held, never read.
    Container {
        _handle: Box<ContainerAsync<GenericImage>>,
    },
    /// Killed with its process group when dropped.
    Process(ServerProcess),
}

impl S3Server {
    /// Starts (or finds) a server and waits until it answers.
    pub async fn start() -> anyhow::Result<S3Server> {
        if let Some(endpoint) = env_nonempty("S3_ENDPOINT") {
            let mut server = S3Server::new(endpoint, Backend::External, Lifetime::External);
            server.wait_until_answers().await?;
            return Ok(server);
        }
        if docker_answers().await {
            return start_container().await;
        }
        spawn_on_host(host_backend()?).await
    }

    fn new(endpoint: String, backend: Backend, lifetime: Lifetime) -> S3Server {
        S3Server {
            endpoint,
            backend,
            enforces_policies: backend.enforces_policies(),
            lifetime,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether a test of bucket-policy enforcement means anything against this server.
    pub fn enforces_policies(&self) -> bool {
        self.enforces_policies
    }

    /// An SDK client for this server (see [`client`]).
    pub fn client(&self) -> Client {
        client(&self.endpoint)
    }

    /// Creates a bucket; one this server already holds for us is fine.
    pub async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        match self.client().create_bucket().bucket(name).send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(err) => Err(anyhow::Error::new(err)
                .context(format!("create bucket {name} at {}", self.endpoint))),
        }
    }

    /// Keys under `prefix` in `bucket` now, sorted (see [`list_keys`]).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
        list_keys(&self.client(), bucket, prefix).await
    }

    /// Polls until the server answers, with a deadline; fails at once if a spawned server exits.
    async fn wait_until_answers(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.backend.patience();
        loop {
            if answers(&self.endpoint).await {
                return Ok(());
            }
            if let Lifetime::Process(process) = &mut self.lifetime
                && let Some(status) = process.exited()?
            {
                bail!(
                    "{:?} exited ({status}) before it answered at {}; its output:\n{}",
                    self.backend,
                    self.endpoint,
                    process.output_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{:?} at {} did not answer within {:?}",
                    self.backend,
                    self.endpoint,
                    self.backend.patience()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A moto server owned by one test, which the test can stop, freeze and start again on the same
/// port, to play S3 outages (the shared [`S3Server`] is never stopped under another test).
/// Always moto on the host, whatever `S3_ENDPOINT` or Docker offer: only a process we own can be
/// stopped. moto keeps nothing across a restart, so [`DedicatedS3::restart`] recreates the bucket.
pub struct DedicatedS3 {
    port: u16,
    endpoint: String,
    bucket: String,
    process: Option<ServerProcess>,
}

impl DedicatedS3 {
    /// Starts moto on a free port with `bucket` created.
    pub async fn start(bucket: &str) -> anyhow::Result<DedicatedS3> {
        let mut attempt = 1;
        loop {
            let port = free_port()?;
            let mut server = DedicatedS3 {
                port,
                endpoint: format!("http://127.0.0.1:{port}"),
                bucket: bucket.to_string(),
                process: None,
            };
            match server.spawn().await {
                Ok(()) => return Ok(server),
                Err(_) if attempt < SPAWN_ATTEMPTS => attempt += 1,
                Err(err) => return Err(err),
            }
        }
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        self.process = Some(ServerProcess::spawn(Backend::Moto, self.port)?);
        let deadline = Instant::now() + Backend::Moto.patience();
        while !answers(&self.endpoint).await {
            if let Some(process) = &mut self.process
                && let Some(status) = process.exited()?
            {
                bail!(
                    "moto exited ({status}) before it answered at {}; its output:\n{}",
                    self.endpoint,
                    process.output_tail()
                );
            }
            if Instant::now() > deadline {
                bail!("moto at {} did not answer in time", self.endpoint);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let client = self.client();
        client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .with_context(|| format!("create bucket {} at {}", self.bucket, self.endpoint))?;
        Ok(())
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> Client {
        client(&self.endpoint)
    }

    /// Kills the server: connections are refused from now on.
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Starts it again on the same port, with an empty bucket of the same name.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn().await
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`) to the server's group: connections are accepted by
    /// the kernel and never answered, the slow S3 a timeout must bound.
    pub fn freeze(&self, frozen: bool) {
        if let Some(process) = &self.process
            && let Ok(pgid) = libc::pid_t::try_from(process.child.id())
        {
            let signal = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
            // SAFETY: killpg only sends a signal to the group we spawned.
            unsafe {
                libc::killpg(pgid, signal);
            }
        }
    }

    /// Keys under `prefix` now, sorted (see [`list_keys`]).
    pub async fn keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        list_keys(&self.client(), &self.bucket, prefix).await
    }
}

impl Drop for DedicatedS3 {
    fn drop(&mut self) {
        // A frozen group would ignore nothing but SIGKILL anyway; thaw it so its exit is clean.
        self.freeze(false);
    }
}

/// An SDK client for a local server: path-style addressing, the emulators' conventional static
/// credentials, region us-east-1, checksums only where an operation requires them (emulators lag
/// the SDK).
pub fn client(endpoint: &str) -> Client {
    Client::from_conf(config(endpoint).build())
}

fn config(endpoint: &str) -> aws_sdk_s3::config::Builder {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "card-e2e",
        ))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .http_client(http_client)
}

/// Every key under `prefix` in `bucket`, sorted, across as many ListObjectsV2 pages as it takes.
pub async fn list_keys(client: &Client, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(next.take())
            .send()
            .await
            .with_context(|| format!("list {bucket}/{prefix}"))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match page.next_continuation_token() {
            Some(token) if page.is_truncated() == Some(true) => next = Some(token.to_string()),
            _ => break,
        }
    }
    keys.sort();
    Ok(keys)
}

/// One quick ListBuckets with no retries: a success, or an S3 error short of a 5xx (say, access
/// denied on a real server), means the server is up; a 5xx means it is still starting.
pub async fn answers(endpoint: &str) -> bool {
    let probe = Client::from_conf(
        config(endpoint)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(2))
                    .build(),
            )
            .build(),
    );
    match probe.list_buckets().send().await {
        Ok(_) => true,
        Err(err) => err
            .raw_response()
            .is_some_and(|response| response.status().as_u16() < 500),
    }
}

/// A Docker daemon that answers a ping within 2 s (the `docker` client alone is not enough).
pub async fn docker_answers() -> bool {
    let ping = async {
        let docker = testcontainers::core::client::docker_client_instance()
            .await
            .ok()?;
        docker.ping().await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Some(_))
    )
}

/// The project's LocalStack image (`localstack/Dockerfile`, built by `cargo xtask containers
/// build`): registry images cannot be pulled on every machine this runs on, and this one is the
/// pinned, tokenless LocalStack the compose stack runs too.
pub const LOCALSTACK_IMAGE: (&str, &str) = ("localhost/card-localstack", "dev");

async fn start_container() -> anyhow::Result<S3Server> {
    let (name, tag) = LOCALSTACK_IMAGE;
    // A host port chosen here and mapped explicitly: podman's Docker API does not report the
    // ports a "publish all" gave, so testcontainers could not look one up afterwards.
    let port = free_port()?;
    let container = GenericImage::new(name, tag)
        .with_exposed_port(LOCALSTACK_PORT.tcp())
        .with_wait_for(WaitFor::message_on_either_std("Ready."))
        .with_env_var("SERVICES", "s3")
        .with_mapped_port(port, LOCALSTACK_PORT.tcp())
        .start()
        .await
        .with_context(|| {
            format!(
                "start {name}:{tag} with testcontainers (build it with `cargo xtask containers build`)"
            )
        })?;
    let host = container.get_host().await?;
    let mut server = S3Server::new(
        format!("http://{host}:{port}"),
        Backend::LocalStackDocker,
        Lifetime::Container {
            _handle: Box::new(container),
        },
    );
    server.wait_until_answers().await?;
    Ok(server)
}

/// moto unless `CARD_S3_BACKEND=localstack`.
fn host_backend() -> anyhow::Result<Backend> {
    match env_nonempty("CARD_S3_BACKEND").as_deref() {
        None | Some("moto") => Ok(Backend::Moto),
        Some("localstack") => Ok(Backend::LocalStackHost),
        Some(other) => bail!("CARD_S3_BACKEND must be `moto` or `localstack`, not `{other}`"),
    }
}

async fn spawn_on_host(backend: Backend) -> anyhow::Result<S3Server> {
    let mut attempt = 1;
    loop {
        let port = free_port()?;
        let process = ServerProcess::spawn(backend, port)?;
        let mut server = S3Server::new(
            format!("http://127.0.0.1:{port}"),
            backend,
            Lifetime::Process(process),
        );
        match server.wait_until_answers().await {
            Ok(()) => return Ok(server),
            // Another process took the port between `free_port` and the server's bind.
            Err(_) if attempt < SPAWN_ATTEMPTS && server.lost_port_race() => attempt += 1,
            Err(err) => return Err(err),
        }
    }
}

impl S3Server {
    fn lost_port_race(&self) -> bool {
        match &self.lifetime {
            Lifetime::Process(process) => process.output_tail().contains("Address already in use"),
            _ => false,
        }
    }
}

/// A server process in its own process group, with its output in a log file.
struct ServerProcess {
    child: Child,
    log: PathBuf,
    /// LocalStack's data directory, removed with the process.
    scratch: Option<PathBuf>,
}

impl ServerProcess {
    fn spawn(backend: Backend, port: u16) -> anyhow::Result<ServerProcess> {
        let tools = tools_dir();
        let dir = std::env::temp_dir().join("card-e2e-s3");
        fs::create_dir_all(&dir)?;
        let name = format!("{backend:?}-{}-{port}", std::process::id()).to_lowercase();
        let log = dir.join(format!("{name}.log"));
        let scratch = (backend == Backend::LocalStackHost).then(|| dir.join(&name));
        let mut cmd = host_command(backend, &tools, port, scratch.as_deref())?;
        let out = fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            // Its own group, so drop can kill it with anything it spawned.
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawn {:?}", cmd.get_program()))?;
        Ok(ServerProcess {
            child,
            log,
            scratch,
        })
    }

    fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// The last lines the server printed, for error messages.
    fn output_tail(&self) -> String {
        let output = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = output.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: killpg only sends a signal; a group that is gone already gives ESRCH.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        // Reap it, so no zombie is left behind either.
        let _ = self.child.wait();
        if let Some(scratch) = &self.scratch {
            let _ = fs::remove_dir_all(scratch);
        }
        if std::thread::panicking() {
            eprintln!("S3 server output kept in {}", self.log.display());
        } else {
            let _ = fs::remove_file(&self.log);
        }
    }
}

/// The command line of a host server listening on `127.0.0.1:port`, from the tools `cargo xtask`
/// installs; LocalStack keeps its data in `scratch` (created here).
pub fn host_command(
    backend: Backend,
    tools: &Path,
    port: u16,
    scratch: Option<&Path>,
) -> anyhow::Result<Command> {
    match (backend, scratch) {
        (Backend::Moto, _) => {
            // moto's own server, with conditional writes made atomic (tests/s3/moto_server_atomic.py).
            let server = moto_server(tools)?;
            let python = server.with_file_name("python");
            let mut cmd = Command::new(python);
            cmd.arg(repo_root().join("tests/s3/moto_server_atomic.py"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            Ok(cmd)
        }
        (Backend::LocalStackHost, Some(scratch)) => {
            fs::create_dir_all(scratch).with_context(|| format!("create {}", scratch.display()))?;
            localstack_command(tools, port, scratch)
        }
        (Backend::LocalStackHost, None) => bail!("LocalStack needs a data directory"),
        (Backend::External | Backend::LocalStackDocker, _) => {
            bail!("{backend:?} is not a server spawned on the host")
        }
    }
}

/// `$CARD_TOOLS_DIR/moto-venv/bin/moto_server`, or an error that says how to install it.
fn moto_server(tools: &Path) -> anyhow::Result<PathBuf> {
    let server = tools.join("moto-venv/bin/moto_server");
    if !server.is_file() {
        bail!(
            "moto is not installed at {}: run `cargo xtask test` (it installs it)",
            server.display()
        );
    }
    Ok(server)
}

/// LocalStack as a host process serving only S3 (no Docker, no auth token, nothing persisted).
fn localstack_command(tools: &Path, port: u16, scratch: &Path) -> anyhow::Result<Command> {
    let python = tools.join("localstack-venv/bin/python");
    if !python.is_file() {
        bail!(
            "LocalStack is not installed at {}: run `CARD_S3_BACKEND=localstack cargo xtask test` \
             (it installs it)",
            python.display()
        );
    }
    let mut cmd = Command::new(python);
    cmd.args(["-m", "localstack.runtime.main"])
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("SERVICES", "s3")
        .env("EAGER_SERVICE_LOADING", "1")
        .env("DISABLE_EVENTS", "1")
        .env("SKIP_SSL_CERT_DOWNLOAD", "1")
        .env("DNS_ADDRESS", "0")
        .env("PERSISTENCE", "0")
        .env("FILESYSTEM_ROOT", scratch);
    Ok(cmd)
}

/// A loopback port nobody listens on right now (the OS picks it for a bind to port 0).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Where `cargo xtask` installs tools: `CARD_TOOLS_DIR`, else `$HOME/.cache/card-service/tools`.
pub fn tools_dir() -> PathBuf {
    match env_nonempty("CARD_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            Path::new(&home).join(".cache/card-service/tools")
        }
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use aws_sdk_s3::primitives::ByteStream;

    use super::*;

    #[tokio::test]
    async fn a_started_server_stores_and_returns_an_object() -> anyhow::Result<()> {
        let s3 = S3Server::start().await?;
        s3.create_bucket("harness-roundtrip").await?;
        // Creating it again is not an error: tests may share a bucket name.
        s3.create_bucket("harness-roundtrip").await?;
        let client = s3.client();
        client
            .put_object()
            .bucket("harness-roundtrip")
            .key("card-images/classic/dl-0001/abc.png")
            .body(ByteStream::from_static(b"not really a png"))
            .content_type("image/png")
            .send()
            .await?;
        let object = client
            .get_object()
            .bucket("harness-roundtrip")
            .key("card-images/classic/dl-0001/abc.png")
            .send()
            .await?;
        assert_eq!(object.content_type(), Some("image/png"));
        assert_eq!(
            object.body.collect().await?.into_bytes().as_ref(),
            b"not really a png"
        );
        assert_eq!(s3.enforces_policies(), s3.backend() == Backend::Moto);
        Ok(())
    }

    #[tokio::test]
    async fn dropping_a_spawned_server_stops_it() -> anyhow::Result<()> {
        let s3 = S3Server::start().await?;
        let Lifetime::Process(process) = &s3.lifetime else {
            eprintln!(
                "{:?} is not spawned by the harness; nothing to check",
                s3.backend()
            );
            return Ok(());
        };
        let pid = process.child.id();
        let address = s3.endpoint().trim_start_matches("http://").to_owned();
        drop(s3);
        assert!(
            TcpStream::connect(&address).is_err(),
            "{address} still accepts connections"
        );
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still there"
        );
        Ok(())
    }

    #[test]
    fn a_missing_moto_says_how_to_install_it() {
        let err = moto_server(Path::new("/nonexistent/tools")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "moto is not installed at /nonexistent/tools/moto-venv/bin/moto_server: \
             run `cargo xtask test` (it installs it)"
        );
    }

    #[test]
    fn free_ports_can_be_bound() -> anyhow::Result<()> {
        let port = free_port()?;
        TcpListener::bind(("127.0.0.1", port))?;
        Ok(())
    }
}

//! A local fleet: N `card-service` processes behind HAProxy, sharing one S3 bucket. The one
//! implementation of that set-up: `cargo xtask dev --instances N` runs it, `tests/tests/fleet.rs`
//! tests through it.
//!
//! Instance `i` (1-based) is the real binary on `127.0.0.1:{bind port + i}` with
//! `CONTROL__INSTANCE_ID={prefix}{i}`, in its own process group, logging to
//! `{state dir}/{id}.log`. HAProxy (`haproxy -f {state dir}/haproxy.cfg -db`, a child in the
//! foreground, logging to `{state dir}/haproxy.log`) listens on the bind address, checks every
//! instance's `/readyz` each second and balances round robin over those that pass; its runtime
//! socket `{state dir}/haproxy.sock` says which servers are UP. The caller brings the binary
//! ([`crate::build::service_binary`] builds it), the designs and the S3 server.

use std::{
    fs,
    net::SocketAddr,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};
use card_service::procfs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::wait;

/// How long a stopping fleet may take (the service's graceful shutdown, 10 s by default) before
/// what is left is killed.
pub const STOP_PATIENCE: Duration = Duration::from_secs(15);

/// The backend's name in the HAProxy configuration (and in its statistics).
const BACKEND: &str = "instances";

/// Where HAProxy is: on `PATH`, or where Debian's package puts it (`/usr/sbin`, which is not on
/// every user's `PATH`).
pub fn haproxy_path() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("haproxy"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from("/usr/sbin/haproxy");
        debian.is_file().then_some(debian)
    })
}

/// A loopback port `base` such that `base` and the `count` ports above it are free now: for a
/// fleet's load balancer (`base`) and instances (`base + 1`…) in a test.
pub fn free_port_run(count: u16) -> anyhow::Result<u16> {
    for _ in 0..50 {
        let base = crate::free_port()?;
        let Some(last) = base.checked_add(count) else {
            continue;
        };
        // All bound at once, then released together.
        let bound: Result<Vec<_>, _> = (base..=last)
            .map(|port| std::net::TcpListener::bind(("127.0.0.1", port)))
            .collect();
        if bound.is_ok() {
            return Ok(base);
        }
    }
    bail!("found no {} free consecutive loopback ports", count + 1)
}

/// The bucket every instance shares, and the keys they use.
#[derive(Debug, Clone)]
pub struct FleetS3 {
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl FleetS3 {
    /// A local emulator, with the conventional keys it accepts.
    pub fn local(endpoint: &str, bucket: &str) -> FleetS3 {
        FleetS3 {
            endpoint: endpoint.to_string(),
            bucket: bucket.to_string(),
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
        }
    }

    fn vars(&self) -> [(&'static str, &str); 5] {
        [
            ("S3__ENABLED", "true"),
            ("S3__ENDPOINT_URL", &self.endpoint),
            ("AWS_S3_BUCKET_NAME", &self.bucket),
            ("AWS_ACCESS_KEY_ID", &self.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &self.secret_access_key),
        ]
    }
}

/// What [`Fleet::start`] starts.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The `card-service` binary.
    pub binary: PathBuf,
    /// How many instances, at least 1.
    pub instances: usize,
    /// HAProxy's frontend; instance `i` (1-based) listens on `127.0.0.1` at this port + `i`.
    pub bind: SocketAddr,
    /// Instance `i` is `CONTROL__INSTANCE_ID={id_prefix}{i}`.
    pub id_prefix: String,
    /// HAProxy's configuration, socket and log, and every instance's log (created if missing).
    pub state_dir: PathBuf,
    /// The instances' working directory: where they read `.env` and `card-service.toml`.
    pub workdir: PathBuf,
    /// `TEMPLATES__DIR` of every instance.
    pub templates_dir: PathBuf,
    pub s3: FleetS3,
    /// `ADMIN__TOKEN` of every instance, when given.
    pub admin_token: Option<String>,
    /// More settings for every instance, applied before the fleet's own (bind, id, S3, designs,
    /// `SERVER__PUBLIC_URL`), which win.
    pub env: Vec<(String, String)>,
    /// How long every instance may take to answer `/readyz` with 200 and HAProxy to see it UP.
    pub ready_within: Duration,
}

impl FleetOptions {
    /// `instances` of `binary` behind `bind`, ids `instance-1`…, logs and configuration in
    /// `state_dir`, which is also their working directory.
    pub fn new(
        binary: PathBuf,
        instances: usize,
        bind: SocketAddr,
        state_dir: PathBuf,
        templates_dir: PathBuf,
        s3: FleetS3,
    ) -> FleetOptions {
        FleetOptions {
            binary,
            instances,
            bind,
            id_prefix: "instance-".into(),
            workdir: state_dir.clone(),
            state_dir,
            templates_dir,
            s3,
            admin_token: None,
            env: Vec::new(),
            ready_within: Duration::from_secs(120),
        }
    }

    /// The load balancer's URL, a wildcard bind reached through loopback: what share pages name
    /// (`SERVER__PUBLIC_URL`) and clients call.
    pub fn lb_url(&self) -> String {
        let mut address = self.bind;
        if address.ip().is_unspecified() {
            address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{address}")
    }

    /// The HAProxy configuration for these instances (ids and ports from [`Fleet::start`]).
    pub fn haproxy_config(&self, instances: &[(String, u16)], socket: &Path) -> String {
        let servers: String = instances
            .iter()
            .map(|(id, port)| format!("    server {id} 127.0.0.1:{port} check\n"))
            .collect();
        format!(
            "# Written by card_e2e::fleet (tests/src/fleet.rs); rewritten at each start.
global
    stats socket {socket} mode 600 level admin
    log stderr format short local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    # A render may take PLAYWRIGHT__BROWSER_TIMEOUT_MS (30 s) plus the S3 budget.
    timeout server 45s
    timeout queue 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check 3s
    # A refused or dropped connection (an instance that died) is retried on another instance.
    retries 3
    retry-on conn-failure empty-response junk-response
    option redispatch 1
    # The client's address for the instances' share-link click dedupe (appended: a client's own
    # X-Forwarded-For stays first, the address HAProxy saw is last).
    option forwardfor

frontend cards
    bind {bind}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}",
            socket = socket.display(),
            bind = self.bind,
        )
    }
}

/// One instance of the fleet.
#[derive(Debug)]
pub struct Instance {
    /// Its `CONTROL__INSTANCE_ID`, and its server name in HAProxy.
    pub id: String,
    pub port: u16,
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    /// Its stdout and stderr, across restarts.
    pub log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    /// The leader of its process group, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// N instances behind HAProxy. Dropping it kills every process it started (and what they
/// started: the Node driver, Chromium).
pub struct Fleet {
    options: FleetOptions,
    instances: Vec<Instance>,
    haproxy: Option<Child>,
    socket: PathBuf,
    haproxy_log: PathBuf,
    lb_url: String,
    http: reqwest::Client,
}

impl Fleet {
    /// Starts HAProxy and the instances, and waits (within `options.ready_within`) until every
    /// instance answers `/readyz` with 200 and HAProxy reports every server UP. A failure names
    /// the logs to read; what was started is stopped.
    pub async fn start(options: FleetOptions) -> anyhow::Result<Fleet> {
        let Some(haproxy) = haproxy_path() else {
            bail!(
                "haproxy is not installed (neither on PATH nor /usr/sbin/haproxy): run \
                 `cargo xtask test` or `cargo xtask dev --instances N`, which install it \
                 (`apt-get install -y haproxy`)"
            );
        };
        if options.instances == 0 {
            bail!("a fleet needs at least one instance");
        }
        if !options.binary.is_file() {
            bail!(
                "{} is not a file: build card-service first",
                options.binary.display()
            );
        }
        let mut ports = Vec::with_capacity(options.instances);
        for i in 1..=options.instances {
            let port = u16::try_from(usize::from(options.bind.port()) + i)
                .ok()
                .filter(|_| options.bind.port() != 0)
                .with_context(|| {
                    format!(
                        "instance {i} would listen on port {} + {i}: bind the load balancer to \
                         a fixed port below {}",
                        options.bind.port(),
                        usize::from(u16::MAX) - options.instances
                    )
                })?;
            ports.push((format!("{}{i}", options.id_prefix), port));
        }
        let dir = &options.state_dir;
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let socket = dir.join("haproxy.sock");
        let config = dir.join("haproxy.cfg");
        fs::write(&config, options.haproxy_config(&ports, &socket))
            .with_context(|| format!("could not write {}", config.display()))?;
        let mut fleet = Fleet {
            lb_url: options.lb_url(),
            instances: ports
                .into_iter()
                .map(|(id, port)| Instance {
                    log: dir.join(format!("{id}.log")),
                    url: format!("http://127.0.0.1:{port}"),
                    id,
                    port,
                    child: None,
                })
                .collect(),
            haproxy: None,
            haproxy_log: dir.join("haproxy.log"),
            socket,
            options,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .context("could not build an HTTP client")?,
        };
        let log = log_file(&fleet.haproxy_log, false)?;
        let mut cmd = Command::new(&haproxy);
        cmd.arg("-f")
            .arg(&config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        fleet.haproxy = Some(
            cmd.spawn()
                .with_context(|| format!("could not start {}", haproxy.display()))?,
        );
        for i in 0..fleet.instances.len() {
            fleet.spawn(i, false)?;
        }
        let all: Vec<usize> = (0..fleet.instances.len()).collect();
        fleet.wait_ready(&all).await?;
        Ok(fleet)
    }

    /// The load balancer, `http://{bind}` (loopback for a wildcard bind).
    pub fn lb_url(&self) -> &str {
        &self.lb_url
    }

    /// The instances, `instance-1` first.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// Where HAProxy's configuration, socket and logs are.
    pub fn state_dir(&self) -> &Path {
        &self.options.state_dir
    }

    /// Starts instance `i` (0-based) with its id, port and the fleet's settings.
    fn spawn(&mut self, i: usize, append: bool) -> anyhow::Result<()> {
        let options = &self.options;
        let instance = &mut self.instances[i];
        let log = log_file(&instance.log, append)?;
        let mut cmd = Command::new(&options.binary);
        cmd.current_dir(&options.workdir)
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("SERVER__BIND", format!("127.0.0.1:{}", instance.port))
            .env("SERVER__PUBLIC_URL", &self.lb_url)
            .env("EXPERIMENTS__CLIENT_ADDRESS_HEADER", "X-Forwarded-For")
            .env("CONTROL__INSTANCE_ID", &instance.id)
            .env("TEMPLATES__DIR", &options.templates_dir)
            .envs(options.s3.vars())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own group: kill() takes the Node driver with it, and a Ctrl-C in a terminal
            // reaches only the caller, which decides what to forward.
            .process_group(0);
        if let Some(token) = &options.admin_token {
            cmd.env("ADMIN__TOKEN", token);
        }
        instance.child = Some(cmd.spawn().with_context(|| {
            format!(
                "could not start {} as {}",
                options.binary.display(),
                instance.id
            )
        })?);
        Ok(())
    }

    /// Waits until the instances `which` answer `/readyz` with 200 and HAProxy reports them UP;
    /// fails at once when one of them (or HAProxy) exits.
    async fn wait_ready(&mut self, which: &[usize]) -> anyhow::Result<()> {
        let within = self.options.ready_within;
        let mut last = String::new();
        let waited = wait::until_every(
            "every instance ready and UP in HAProxy",
            within,
            Duration::from_millis(200),
            async || {
                self.fail_on_exit(which)?;
                let states = self.server_states().await.unwrap_or_default();
                let mut pending = Vec::new();
                for &i in which {
                    let instance = &self.instances[i];
                    let readyz = match self
                        .http
                        .get(format!("{}/readyz", instance.url))
                        .send()
                        .await
                    {
                        Ok(response) => response.status().as_u16().to_string(),
                        Err(_) => "no answer".into(),
                    };
                    let state = states
                        .iter()
                        .find(|s| s.id == instance.id)
                        .map_or("unknown".into(), |s| format!("{} ({})", s.status, s.check));
                    if readyz != "200" || !server_is_up(&states, &instance.id) {
                        pending.push(format!(
                            "{}: /readyz {readyz}, HAProxy {state}",
                            instance.id
                        ));
                    }
                }
                last = pending.join("; ");
                Ok(pending.is_empty().then_some(()))
            },
        )
        .await;
        waited.with_context(|| {
            format!(
                "last seen: {last}; logs in {}",
                self.options.state_dir.display()
            )
        })
    }

    /// An error naming the log when an instance in `which`, or HAProxy, has exited.
    fn fail_on_exit(&mut self, which: &[usize]) -> anyhow::Result<()> {
        if let Some(haproxy) = &mut self.haproxy
            && let Some(status) = haproxy.try_wait()?
        {
            bail!(
                "haproxy exited ({status}); its log {}:\n{}",
                self.haproxy_log.display(),
                tail(&self.haproxy_log)
            );
        }
        for &i in which {
            let instance = &mut self.instances[i];
            if let Some(child) = &mut instance.child
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "{} exited ({status}) before it was ready; its log {}:\n{}",
                    instance.id,
                    instance.log.display(),
                    tail(&instance.log)
                );
            }
        }
        Ok(())
    }

    /// Every server of the backend as HAProxy sees it now (its runtime socket's `show stat`).
    pub async fn server_states(&self) -> anyhow::Result<Vec<ServerState>> {
        let exchange = async {
            let mut stream = tokio::net::UnixStream::connect(&self.socket).await?;
            stream.write_all(b"show stat\n").await?;
            let mut out = String::new();
            stream.read_to_string(&mut out).await?;
            anyhow::Ok(out)
        };
        let csv = tokio::time::timeout(Duration::from_secs(3), exchange)
            .await
            .context("HAProxy's runtime socket did not answer within 3 s")?
            .with_context(|| format!("could not ask {}", self.socket.display()))?;
        Ok(parse_stat(&csv))
    }

    /// Whether HAProxy routes to instance `i` (0-based): its server is `UP` and passed its last check.
    pub async fn is_up(&self, i: usize) -> anyhow::Result<bool> {
        Ok(server_is_up(
            &self.server_states().await?,
            &self.instances[i].id,
        ))
    }

    /// SIGKILL to instance `i` (0-based), its process group and every process it started (Chromium
    /// leads a group of its own), as a crash would; HAProxy is not told.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.instances[i].child.take() {
            kill_tree(&mut child);
        }
    }

    /// Starts instance `i` (0-based) again with the same id and port (killing it first if it
    /// still runs), and waits until it is ready and UP in HAProxy. Its log is appended to.
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.kill(i);
        self.spawn(i, true)?;
        self.wait_ready(&[i]).await
    }

    /// Sends `signal` to every instance's main process (the service shuts down gracefully on
    /// SIGTERM and SIGINT) and to HAProxy (which stops at once on either).
    pub fn signal(&self, signal: libc::c_int) {
        let children = self.instances.iter().filter_map(|i| i.child.as_ref());
        for child in children.chain(self.haproxy.as_ref()) {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: kill only sends a signal to a process we started and have not reaped.
                unsafe {
                    libc::kill(pid, signal);
                }
            }
        }
    }

    /// Waits until every process has exited, for at most `within`; whether they all did.
    pub async fn wait_exit(&mut self, within: Duration) -> bool {
        let exited = wait::until_true("every process of the fleet exited", within, async || {
            let children = self.instances.iter_mut().filter_map(|i| i.child.as_mut());
            let mut all = true;
            for child in children.chain(self.haproxy.as_mut()) {
                all &= matches!(child.try_wait(), Ok(Some(_)));
            }
            Ok(all)
        })
        .await;
        exited.is_ok()
    }

    /// Processes that have exited, with their status, as `(name, status, log)`; each is
    /// reported once (it is reaped here).
    pub fn exited(&mut self) -> Vec<(String, ExitStatus, PathBuf)> {
        let mut out = Vec::new();
        for instance in &mut self.instances {
            if let Some(child) = &mut instance.child
                && let Ok(Some(status)) = child.try_wait()
            {
                // What it left in its group (the driver) goes too.
                kill_tree(child);
                instance.child = None;
                out.push((instance.id.clone(), status, instance.log.clone()));
            }
        }
        if let Some(haproxy) = &mut self.haproxy
            && let Ok(Some(status)) = haproxy.try_wait()
        {
            self.haproxy = None;
            out.push(("haproxy".into(), status, self.haproxy_log.clone()));
        }
        out
    }

    /// SIGKILL to whatever of the fleet is left (process groups and trees), and reaps it.
    pub fn kill_all(&mut self) {
        for i in 0..self.instances.len() {
            self.kill(i);
        }
        if let Some(mut haproxy) = self.haproxy.take() {
            kill_tree(&mut haproxy);
        }
    }

    /// SIGTERM to everything, up to [`STOP_PATIENCE`] for the graceful shutdowns, then SIGKILL
    /// for what is left, Chromium and the drivers included. Whether everything stopped by itself.
    pub async fn stop(mut self) -> bool {
        self.signal(libc::SIGTERM);
        let graceful = self.wait_exit(STOP_PATIENCE).await;
        self.kill_all();
        graceful
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Dropped while running: a test failed (or a caller bailed) before `stop`.
        let running = self.instances.iter().any(|i| i.child.is_some()) || self.haproxy.is_some();
        self.kill_all();
        if running {
            eprintln!(
                "fleet dropped while running: killed it; its logs (instances and HAProxy) are in {}",
                self.options.state_dir.display()
            );
        }
    }
}

/// One server line of HAProxy's `show stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    /// The server's name: the instance id.
    pub id: String,
    /// `UP`, `DOWN`, `UP 1/2` (failing, not yet down), `DOWN 1/2` (passing, not yet up), `MAINT`, …
    pub status: String,
    /// The last health check's result: `L7OK`, `L4CON` (refused), `L7STS` (wrong status), …
    pub check: String,
}

/// Up, and the last check passed (at start HAProxy counts a server up before any check).
fn server_is_up(states: &[ServerState], id: &str) -> bool {
    states
        .iter()
        .any(|s| s.id == id && s.status == "UP" && s.check == "L7OK")
}

/// The backend's servers from `show stat` CSV (`# pxname,svname,…,status,…,check_status,…`).
fn parse_stat(csv: &str) -> Vec<ServerState> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.split(',').collect();
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(proxy), Some(server), Some(status), Some(check)) = (
        column("pxname"),
        column("svname"),
        column("status"),
        column("check_status"),
    ) else {
        return Vec::new();
    };
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| {
            fields.get(proxy) == Some(&BACKEND)
                && !matches!(fields.get(server), Some(&("BACKEND" | "FRONTEND")) | None)
        })
        .map(|fields| {
            let field = |i: usize| fields.get(i).copied().unwrap_or_default().to_string();
            ServerState {
                id: field(server),
                status: field(status),
                // `* L7OK` while a check is running.
                check: field(check).trim_start_matches("* ").to_string(),
            }
        })
        .collect()
}

/// SIGKILL to `child`'s tree (taken first: Chromium leads a process group of its own) and its
/// process group, then reaps it. A child already reaped has only its group left to kill: its pid
/// may name another process by now.
fn kill_tree(child: &mut Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    let tree = match child.try_wait() {
        Ok(None) => procfs::tree(pid),
        _ => Vec::new(),
    };
    // SAFETY: killpg and kill only send signals; a process or group that is gone gives ESRCH.
    // A member's own group (`killpg(member)`) exists only if that member leads it (Chromium).
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
        for member in tree {
            libc::kill(member, libc::SIGKILL);
            libc::killpg(member, libc::SIGKILL);
        }
    }
    let _ = child.wait();
}

/// A log file, emptied unless `append`.
fn log_file(path: &Path, append: bool) -> anyhow::Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .with_context(|| format!("could not open {}", path.display()))
}

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_stat_gives_the_backend_servers() {
        let csv = "# pxname,svname,qcur,status,weight,check_status\n\
                   cards,FRONTEND,,OPEN,,\n\
                   instances,instance-1,0,UP,1,L7OK\n\
                   instances,instance-2,0,DOWN,1,L4CON\n\
                   instances,instance-3,0,UP 1/2,1,* L7STS\n\
                   instances,BACKEND,0,UP,2,\n";
        let states = parse_stat(csv);
        assert_eq!(
            states
                .iter()
                .map(|s| (s.id.as_str(), s.status.as_str(), s.check.as_str()))
                .collect::<Vec<_>>(),
            [
                ("instance-1", "UP", "L7OK"),
                ("instance-2", "DOWN", "L4CON"),
                ("instance-3", "UP 1/2", "L7STS"),
            ]
        );
        assert!(server_is_up(&states, "instance-1"));
        assert!(!server_is_up(&states, "instance-2"));
        assert!(!server_is_up(&states, "instance-3"));
    }

    #[test]
    fn the_config_checks_readyz_and_names_every_instance() {
        let options = FleetOptions::new(
            "/bin/true".into(),
            2,
            "0.0.0.0:8080".parse().unwrap(),
            "/tmp/fleet".into(),
            "/tmp/designs".into(),
            FleetS3::local("http://127.0.0.1:4566", "bucket"),
        );
        assert_eq!(options.lb_url(), "http://127.0.0.1:8080");
        let config = options.haproxy_config(
            &[("instance-1".into(), 8081), ("instance-2".into(), 8082)],
            Path::new("/tmp/fleet/haproxy.sock"),
        );
        for line in [
            "bind 0.0.0.0:8080",
            "uri /readyz",
            "http-check expect status 200",
            "server instance-1 127.0.0.1:8081 check",
            "server instance-2 127.0.0.1:8082 check",
            "stats socket /tmp/fleet/haproxy.sock",
            "option redispatch",
        ] {
            assert!(config.contains(line), "no `{line}` in:\n{config}");
        }
    }
}

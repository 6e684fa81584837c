//! `cargo xtask dev`: the service running locally against a local S3, from a bare machine.
//!
//! Installs what is missing, builds the templates, starts (or reuses) the local S3 server and
//! provisions its bucket as `provision-bucket` does (CORS, lifecycle, public-read policy), then
//! builds and runs `card-service` until Ctrl-C, which it forwards to the service. With
//! `--instances N` (N > 1) it runs a fleet instead: N instances sharing the bucket behind HAProxy
//! on `--bind`, through the harness's launcher (`card_e2e::fleet`, what the fleet test runs).

use std::{
    net::SocketAddr,
    process::ExitStatus,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use card_e2e::fleet::{self, Fleet, FleetOptions, FleetS3};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
    signal::unix::{Signal, SignalKind, signal},
};

use crate::{
    install, provision_bucket, s3_server, templates,
    util::{self, project_root},
};

/// How long the service may take from exec to a 200 from `/readyz` (browser launch, template
/// compilation and the S3 check happen there).
const READY_PATIENCE: Duration = Duration::from_secs(120);
/// How long a stopping service may take before it is killed.
const STOP_PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, clap::Args)]
pub struct Dev {
    /// Address the service listens on.
    #[arg(long, env = "SERVER__BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Run without S3: renders are cached in memory only (one instance only).
    #[arg(long)]
    pub no_s3: bool,
    /// How many instances: more than 1 runs them behind HAProxy on `--bind`, on the next ports
    /// (8081, 8082, … for the default bind), sharing the local S3 bucket.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub instances: u16,
}

impl Dev {
    pub async fn run(self) -> Result<()> {
        if self.instances > 1 {
            return self.run_fleet().await;
        }
        let root = project_root();
        let settings = util::load_settings()?;
        let browser = install::browser()?;
        templates::build()?;
        let s3 = if self.no_s3 {
            None
        } else {
            let running = s3_server::up(&s3_server::UpOptions::default()).await?;
            provision_bucket::provision_local(&running, &settings).await?;
            Some(running)
        };

        let binary = util::build_service(false)?;

        let mut cmd = Command::new(&binary);
        cmd.current_dir(&root)
            .env("SERVER__BIND", &self.bind)
            .env("TEMPLATES__DIR", root.join("card-templates/dist"))
            .stdin(std::process::Stdio::null())
            // Its own process group: a Ctrl-C reaches xtask only, which forwards it once and can
            // then clean up Chromium and the driver should the service leave them behind.
            .process_group(0)
            .kill_on_drop(true);
        for (name, value) in browser.vars() {
            cmd.env(name, value);
        }
        match &s3 {
            Some(running) => {
                cmd.env("S3__ENABLED", "true")
                    .env("S3__ENDPOINT_URL", &running.endpoint);
                // Local emulators accept anything; keep the caller's keys for a real endpoint.
                for (name, fallback) in [
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                ] {
                    if util::env_nonempty(name).is_none() {
                        cmd.env(name, fallback);
                    }
                }
            }
            None => {
                cmd.env("S3__ENABLED", "false");
            }
        }

        util::step(format_args!("starting {}", binary.display()));
        let mut interrupts = Interrupts::new()?;
        let mut child = cmd
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let pid = child.id().context("card-service exited at once")?;

        let started = Instant::now();
        let start = tokio::select! {
            ready = wait_ready(&self.bind) => Start::Ready(ready),
            status = child.wait() => Start::Exited(status?),
            () = interrupts.next() => Start::Interrupted,
        };
        let status = match start {
            Start::Exited(status) => {
                clean_up_group(pid);
                bail!("card-service exited ({status}) before /readyz answered: read its log above");
            }
            Start::Ready(Err(err)) => {
                stop(&mut child, pid, &mut interrupts).await?;
                clean_up_group(pid);
                return Err(err);
            }
            Start::Interrupted => stop(&mut child, pid, &mut interrupts).await?,
            Start::Ready(Ok(())) => {
                eprintln!("    ready in {}", util::human_duration(started.elapsed()));
                println!(
                    "Card service: http://{}  (try /api/og-image/dl-0001 and /share/dl-0001)",
                    self.bind
                );
                if let Some(running) = &s3 {
                    println!(
                        "Local S3:     {} (bucket {})",
                        running.endpoint, settings.s3.bucket_name
                    );
                }
                println!("Ctrl-C stops the service.");
                tokio::select! {
                    status = child.wait() => status?,
                    () = interrupts.next() => stop(&mut child, pid, &mut interrupts).await?,
                }
            }
        };
        clean_up_group(pid);
        if let Some(running) = &s3 {
            eprintln!(
                "    the local S3 at {} keeps running; `cargo xtask localstack down` stops it",
                running.endpoint
            );
        }
        // SIGINT and SIGTERM are how a service is asked to stop: exiting on them is success.
        if status.success() || exited_on_request(status) {
            println!("dev: card-service stopped ({status})");
            Ok(())
        } else {
            bail!("card-service exited ({status})")
        }
    }
}

impl Dev {
    /// `--instances N`: local S3 and bucket as for one instance, then the fleet until Ctrl-C.
    async fn run_fleet(self) -> Result<()> {
        let count = self.instances;
        if self.no_s3 {
            bail!(
                "--instances {count} needs S3: the instances share its bucket (the image cache, \
                 the job leases, the control plane); drop --no-s3, or run one instance"
            );
        }
        let bind: SocketAddr = self.bind.parse().with_context(|| {
            format!(
                "--bind {}: the load balancer needs an IP:PORT (e.g. 127.0.0.1:8080)",
                self.bind
            )
        })?;
        let root = project_root();
        let settings = util::load_settings()?;
        let browser = install::browser()?;
        install::haproxy()?;
        templates::build()?;
        let s3 = s3_server::up(&s3_server::UpOptions::default()).await?;
        provision_bucket::provision_local(&s3, &settings).await?;
        let binary = util::build_service(false)?;

        let key = |configured: &Option<String>| configured.clone().unwrap_or_else(|| "test".into());
        let mut options = FleetOptions::new(
            binary,
            usize::from(count),
            bind,
            util::state_dir().join("fleet"),
            root.join("card-templates/dist"),
            FleetS3 {
                endpoint: s3.endpoint.clone(),
                bucket: settings.s3.bucket_name.clone(),
                // Local emulators accept anything; keep the configured keys for a real endpoint.
                access_key_id: key(&settings.s3.access_key_id),
                secret_access_key: key(&settings.s3.secret_access_key),
            },
        );
        // As for one instance: `.env` and `card-service.toml` of the checkout apply.
        options.workdir = root;
        options.env = browser
            .vars()
            .iter()
            .map(|(name, value)| (name.to_string(), value.display().to_string()))
            .collect();
        options.ready_within = READY_PATIENCE;
        let state_dir = options.state_dir.clone();

        util::step(format_args!(
            "starting {count} instances behind HAProxy on {bind} (logs in {})",
            state_dir.display()
        ));
        let mut interrupts = Interrupts::new()?;
        let started = Instant::now();
        let mut fleet = tokio::select! {
            fleet = Fleet::start(options) => fleet?,
            // Dropping the half-started fleet kills what it started.
            () = interrupts.next() => {
                println!("dev: interrupted before the fleet was ready; everything stopped");
                return Ok(());
            }
        };
        eprintln!("    ready in {}", util::human_duration(started.elapsed()));
        println!(
            "Load balancer: {}  (try /api/og-image/dl-0001 and /share/dl-0001)",
            fleet.lb_url()
        );
        for instance in fleet.instances() {
            println!(
                "  {}: {}  (log {})",
                instance.id,
                instance.url,
                instance.log.display()
            );
        }
        println!(
            "Local S3:      {} (bucket {})",
            s3.endpoint, settings.s3.bucket_name
        );
        println!("HAProxy checks each instance's /readyz every second. Ctrl-C stops the fleet.");

        let mut failure = None;
        while failure.is_none() {
            tokio::select! {
                () = interrupts.next() => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    for (name, status, log) in fleet.exited() {
                        eprintln!("    {name} exited ({status}); its log: {}", log.display());
                        if name == "haproxy" {
                            failure = Some(format!("haproxy exited ({status}); its log: {}", log.display()));
                        }
                    }
                }
            }
        }
        eprintln!("    stopping the fleet (Ctrl-C again to kill it)");
        fleet.signal(libc::SIGINT);
        let graceful = tokio::select! {
            all = fleet.wait_exit(fleet::STOP_PATIENCE) => all,
            () = interrupts.next() => false,
        };
        fleet.kill_all();
        eprintln!(
            "    the local S3 at {} keeps running; `cargo xtask localstack down` stops it",
            s3.endpoint
        );
        if let Some(failure) = failure {
            bail!("{failure}; the fleet was stopped");
        }
        if graceful {
            println!("dev: the fleet stopped");
        } else {
            println!("dev: the fleet stopped (what did not exit by itself was killed)");
        }
        Ok(())
    }
}

fn exited_on_request(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    matches!(status.signal(), Some(libc::SIGINT | libc::SIGTERM))
        || matches!(status.code(), Some(130 | 143))
}

/// How the start-up wait ended.
enum Start {
    Ready(Result<()>),
    Exited(ExitStatus),
    Interrupted,
}

/// Ctrl-C (SIGINT) and SIGTERM, as one stream of stop requests.
struct Interrupts {
    int: Signal,
    term: Signal,
}

impl Interrupts {
    fn new() -> Result<Interrupts> {
        Ok(Interrupts {
            int: signal(SignalKind::interrupt()).context("could not watch for Ctrl-C")?,
            term: signal(SignalKind::terminate()).context("could not watch for SIGTERM")?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Forwards one SIGINT to the service and waits; a second Ctrl-C or a timeout kills its group.
async fn stop(child: &mut Child, pid: u32, interrupts: &mut Interrupts) -> Result<ExitStatus> {
    eprintln!("    stopping card-service (Ctrl-C again to kill it)");
    send(pid, libc::SIGINT, false);
    tokio::select! {
        status = child.wait() => Ok(status?),
        () = interrupts.next() => {
            send(pid, libc::SIGKILL, true);
            Ok(child.wait().await?)
        }
        () = tokio::time::sleep(STOP_PATIENCE) => {
            eprintln!("    card-service did not stop within {}; killing it", util::human_duration(STOP_PATIENCE));
            send(pid, libc::SIGKILL, true);
            Ok(child.wait().await?)
        }
    }
}

/// Kills whatever the service left in its process group (Chromium, the Node driver).
fn clean_up_group(pid: u32) {
    send(pid, libc::SIGKILL, true);
}

fn send(pid: u32, signal: libc::c_int, whole_group: bool) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill/killpg only send a signal; a process or group that is gone gives ESRCH.
    unsafe {
        if whole_group {
            libc::killpg(pid, signal);
        } else {
            libc::kill(pid, signal);
        }
    }
}

/// Polls `GET /readyz` until it answers 200.
async fn wait_ready(bind: &str) -> Result<()> {
    let address = probe_address(bind);
    let started = Instant::now();
    eprintln!("    waiting for http://{address}/readyz");
    loop {
        let last = match readyz_status(&address).await {
            Ok(200) => return Ok(()),
            Ok(status) => format!("HTTP {status}"),
            Err(err) => format!("{err:#}"),
        };
        if started.elapsed() > READY_PATIENCE {
            bail!(
                "card-service did not answer /readyz with 200 within {} (last: {last}); read its log above",
                util::human_duration(READY_PATIENCE)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The address to probe: a wildcard bind is reached through loopback.
fn probe_address(bind: &str) -> String {
    match bind.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => {
            let loopback: std::net::IpAddr = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            SocketAddr::new(loopback, addr.port()).to_string()
        }
        _ => bind.to_owned(),
    }
}

/// One plain HTTP/1.1 request: enough for a health check, no HTTP client crate needed.
async fn readyz_status(address: &str) -> Result<u16> {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        let request =
            format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0; 64];
        let n = stream.read(&mut head).await?;
        anyhow::Ok(String::from_utf8_lossy(&head[..n]).into_owned())
    };
    let head = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .context("timed out")??;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP response: {head:?}"))?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_probed_on_loopback() {
        assert_eq!(probe_address("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(probe_address("[::]:9000"), "[::1]:9000");
        assert_eq!(probe_address("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(probe_address("localhost:8080"), "localhost:8080");
    }

    #[tokio::test]
    async fn readyz_status_reads_the_status_line() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0; 256];
            let _ = socket.read(&mut request).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
        });
        assert_eq!(readyz_status(&address).await.unwrap(), 503);
        server.await.unwrap();
    }
}

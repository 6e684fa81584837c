//! The cockpit's commands as a developer runs them: the `xtask` binary against a real S3 server
//! started by the harness, real Chromium, and deliberately broken settings.

use std::{
    fs,
    path::PathBuf,
    process::{Command, Output},
};

use anyhow::{Context, ensure};
use card_e2e::{S3Server, free_port};

/// The `xtask` binary with the caller's environment, minus what would point it at another server.
fn xtask(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .env_remove("S3_ENDPOINT")
        .env_remove("S3__ENDPOINT_URL");
    cmd
}

/// Runs it; returns the output with stdout and stderr joined, for messages and assertions.
fn run(cmd: &mut Command) -> anyhow::Result<(Output, String)> {
    let output = cmd.output().context("run xtask")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output, text))
}

/// Running: it exists and is not a zombie (an exited server whose reaper, init, has not yet
/// collected it holds no port and no memory).
fn alive(pid: u64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// A directory of its own under the system temp dir, emptied first.
fn scratch(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn localstack_up_status_down_leaves_no_process_behind() -> anyhow::Result<()> {
    // Its own state dir and port: a developer's running server is never touched.
    let state = scratch("localstack")?;
    let port = free_port()?.to_string();
    let with_state = |args: &[&str]| {
        let mut cmd = xtask(args);
        cmd.env("CARD_STATE_DIR", &state);
        cmd
    };

    let (up, text) = run(&mut with_state(&["localstack", "up", "--port", &port]))?;
    ensure!(up.status.success(), "up failed:\n{text}");
    ensure!(text.contains("localstack up:"), "{text}");
    let recorded: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(state.join("s3-server.json"))?)?;
    let pid = recorded["pid"].as_u64().context("no pid recorded")?;
    ensure!(alive(pid), "process {pid} is not running");

    // Idempotent: a second `up` finds the server and the provisioned bucket.
    let (again, text) = run(&mut with_state(&["localstack", "up", "--port", &port]))?;
    ensure!(again.status.success(), "second up failed:\n{text}");
    ensure!(text.contains("already running"), "{text}");
    ensure!(text.contains("already provisioned"), "{text}");

    let (status, text) = run(&mut with_state(&["localstack", "status"]))?;
    ensure!(status.status.success(), "status failed:\n{text}");
    ensure!(text.contains(&format!("pid:      {pid} (alive)")), "{text}");

    let (down, text) = run(&mut with_state(&["localstack", "down"]))?;
    ensure!(down.status.success(), "down failed:\n{text}");
    ensure!(!alive(pid), "process {pid} is still running");
    ensure!(
        std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>()?)).is_err(),
        "port {port} still answers"
    );
    let (status, text) = run(&mut with_state(&["localstack", "status"]))?;
    ensure!(
        !status.status.success(),
        "status after down succeeded:\n{text}"
    );
    ensure!(text.contains("cargo xtask localstack up"), "{text}");
    fs::remove_dir_all(&state)?;
    Ok(())
}

#[tokio::test]
async fn provision_bucket_then_test_s3_pass_and_a_wrong_endpoint_fails() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let endpoint = s3.endpoint().to_string();
    let target = ["--endpoint", &endpoint, "--bucket", "xtask-commands"];
    let with_target = |command: &[&str]| {
        let mut args = command.to_vec();
        args.extend(target);
        xtask(&args)
    };

    let (dry, text) = run(&mut with_target(&["provision-bucket", "--dry-run"]))?;
    ensure!(dry.status.success(), "dry run failed:\n{text}");
    ensure!(
        String::from_utf8_lossy(&dry.stdout)
            .contains("aws s3api create-bucket --bucket xtask-commands"),
        "{text}"
    );
    let (first, text) = run(&mut with_target(&["provision-bucket"]))?;
    ensure!(first.status.success(), "provision failed:\n{text}");
    ensure!(text.contains("provisioned, 5 change(s)"), "{text}");
    let (second, text) = run(&mut with_target(&["provision-bucket"]))?;
    ensure!(second.status.success(), "second provision failed:\n{text}");
    ensure!(
        text.contains("was already provisioned; nothing changed"),
        "{text}"
    );

    let (test, text) = run(&mut with_target(&["test-s3"]))?;
    ensure!(test.status.success(), "test-s3 failed:\n{text}");
    ensure!(text.contains("0 failed"), "{text}");
    if s3.enforces_policies() {
        ensure!(text.contains("PASS  private key denied"), "{text}");
    }

    let (doctor, text) = run(&mut with_target(&["doctor"]))?;
    ensure!(doctor.status.success(), "doctor failed:\n{text}");
    ensure!(text.contains("bucket configured  ok"), "{text}");

    let (wrong, text) = run(&mut xtask(&[
        "test-s3",
        "--endpoint",
        &format!("http://127.0.0.1:{}", free_port()?),
    ]))?;
    ensure!(
        !wrong.status.success(),
        "test-s3 passed a dead endpoint:\n{text}"
    );
    ensure!(text.contains("FAIL  bucket reachable"), "{text}");
    ensure!(text.contains("Connection refused"), "{text}");
    ensure!(text.contains("fix:"), "{text}");
    Ok(())
}

#[test]
fn test_playwright_renders_on_a_good_setup() -> anyhow::Result<()> {
    let (output, text) = run(&mut xtask(&["test-playwright"]))?;
    ensure!(output.status.success(), "test-playwright failed:\n{text}");
    ensure!(text.contains("renders cards"), "{text}");
    ensure!(text.contains("colour emoji pixels"), "{text}");
    Ok(())
}

#[test]
fn test_playwright_names_a_missing_chromium() -> anyhow::Result<()> {
    let (output, text) = run(
        xtask(&["test-playwright"]).env("PLAYWRIGHT__EXECUTABLE_PATH", "/nonexistent/chromium")
    )?;
    ensure!(!output.status.success(), "passed without Chromium:\n{text}");
    ensure!(
        text.contains("no Chromium at /nonexistent/chromium (PLAYWRIGHT__EXECUTABLE_PATH)"),
        "{text}"
    );
    ensure!(text.contains("apt-get install -y chromium"), "{text}");
    Ok(())
}

#[test]
fn test_playwright_names_a_driver_of_the_wrong_version() -> anyhow::Result<()> {
    let driver = scratch("old-driver")?;
    fs::write(driver.join("cli.js"), "")?;
    fs::write(driver.join("package.json"), r#"{"version": "1.40.0"}"#)?;
    let (output, text) =
        run(xtask(&["test-playwright"]).env("PLAYWRIGHT_CLI_JS", driver.join("cli.js")))?;
    fs::remove_dir_all(&driver)?;
    ensure!(
        !output.status.success(),
        "passed with a 1.40 driver:\n{text}"
    );
    ensure!(
        text.contains(&format!(
            "version mismatch: {} is playwright-core 1.40.0, playwright-rs speaks {}",
            driver.join("package.json").display(),
            playwright_rs::PLAYWRIGHT_VERSION
        )),
        "{text}"
    );
    Ok(())
}

#[test]
fn config_prints_settings_with_secrets_redacted() -> anyhow::Result<()> {
    let (output, text) = run(xtask(&["config"])
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret")
        .env("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "3"))?;
    ensure!(output.status.success(), "config failed:\n{text}");
    ensure!(text.contains("AWS_SECRET_ACCESS_KEY=<redacted>"), "{text}");
    ensure!(
        text.contains("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS=3"),
        "{text}"
    );
    ensure!(!text.contains("very-secret") && !text.contains("AKIAEXAMPLE"));

    let (bad, text) = run(xtask(&["config"]).env("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "many"))?;
    ensure!(!bad.status.success(), "a bad value passed:\n{text}");
    ensure!(
        text.contains("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS"),
        "{text}"
    );
    Ok(())
}

#[test]
fn doctor_fails_with_a_fix_for_each_problem() -> anyhow::Result<()> {
    let dead = format!("http://127.0.0.1:{}", free_port()?);
    let (output, text) = run(xtask(&["doctor", "--endpoint", &dead])
        .env("PLAYWRIGHT__EXECUTABLE_PATH", "/nonexistent/chromium")
        .env("TEMPLATES__DIR", "/nonexistent/dist"))?;
    ensure!(!output.status.success(), "doctor passed:\n{text}");
    for expected in [
        "no Chromium at /nonexistent/chromium",
        "fix: apt-get install -y chromium",
        "the default design `classic` is not built",
        "fix: cargo xtask templates build",
        "Connection refused",
        "doctor: ",
    ] {
        ensure!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    Ok(())
}

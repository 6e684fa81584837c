//! `cargo xtask warm-cache` and `cargo xtask cleanup` as a developer runs them: the `xtask` binary
//! against a real S3 server from the harness, real Chromium and the built designs.

use std::process::{Command, Output};

use anyhow::{Context, ensure};
use card_e2e::S3Server;

/// The `xtask` binary with `args`, minus what would point it at another server.
fn xtask(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .env_remove("S3_ENDPOINT")
        .env_remove("S3__ENDPOINT_URL");
    cmd
}

/// Runs it: the output, stdout and stderr joined for messages, and stdout's last line (the result).
fn run(cmd: &mut Command) -> anyhow::Result<(Output, String, String)> {
    let output = cmd.output().context("run xtask")?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let result = stdout.lines().last().unwrap_or_default().to_string();
    Ok((output, text, result))
}

#[tokio::test]
async fn warm_cache_renders_what_is_missing_and_cleanup_removes_what_it_superseded()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "xtask-jobs";
    s3.create_bucket(bucket).await?;
    let endpoint = s3.endpoint().to_string();
    let with_target = |command: &[&str]| {
        let mut args = command.to_vec();
        args.extend(["--endpoint", &endpoint, "--bucket", bucket]);
        xtask(&args)
    };
    let warm = ["warm-cache", "--limit", "2", "--variants", "default"];

    let (first, text, result) = run(&mut with_target(&warm))?;
    ensure!(first.status.success(), "warm-cache failed:\n{text}");
    ensure!(
        result.starts_with("warm-cache: top 2 listings by cpu_mark_per_dollar × 1 design(s) (classic): 2 rendered, 0 already cached, 0 failed in "),
        "{text}"
    );
    let (second, text, result) = run(&mut with_target(&warm))?;
    ensure!(second.status.success(), "second warm-cache failed:\n{text}");
    ensure!(
        result.contains(": 0 rendered, 2 already cached, 0 failed"),
        "{text}"
    );

    // Another quality is another fingerprint: the best listing's first render is now superseded.
    let (third, text, _) =
        run(
            with_target(&["warm-cache", "--limit", "1", "--variants", "default"])
                .env("RENDER__QUALITY", "80"),
        )?;
    ensure!(
        third.status.success(),
        "warm-cache at quality 80 failed:\n{text}"
    );

    let (dry, text, result) = run(&mut with_target(&["cleanup", "--dry-run"]))?;
    ensure!(dry.status.success(), "cleanup --dry-run failed:\n{text}");
    ensure!(
        result.contains("3 objects")
            && result.contains("0 older than 2592000 s, 1 superseded; dry run, nothing deleted"),
        "{text}"
    );
    ensure!(text.contains("would delete card-images/classic/"), "{text}");
    let (clean, text, result) = run(&mut with_target(&["cleanup"]))?;
    ensure!(clean.status.success(), "cleanup failed:\n{text}");
    ensure!(result.contains("1 superseded; deleted 1 ("), "{text}");

    let (bad, text, _) = run(&mut with_target(&["warm-cache", "--variants", "Classic!"]))?;
    ensure!(!bad.status.success(), "a bad --variants passed:\n{text}");
    ensure!(
        text.contains("--variants Classic!: expected `all`, `default`"),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn designs_push_list_and_rollback_go_through_the_control_plane() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "xtask-designs";
    s3.create_bucket(bucket).await?;
    let endpoint = s3.endpoint().to_string();
    let designs = |command: &[&str]| {
        let mut args = vec!["designs"];
        args.extend(command);
        args.extend(["--endpoint", &endpoint, "--bucket", bucket]);
        xtask(&args)
    };
    let dist = card_e2e::service::dist_dir()?;
    let classic = dist.join("classic.wasm");
    let classic = classic.to_str().context("path")?;

    let (list, text, result) = run(&mut designs(&["list"]))?;
    ensure!(list.status.success(), "{text}");
    ensure!(result.contains("does not exist yet"), "{text}");

    let (push, text, result) = run(&mut designs(&["push", classic]))?;
    ensure!(push.status.success(), "{text}");
    ensure!(
        result.starts_with("designs push: classic@")
            && result.contains("is live at manifest revision 1"),
        "{text}"
    );
    // The same bytes again change nothing.
    let (_, text, result) = run(&mut designs(&["push", classic]))?;
    ensure!(
        result.contains("was already live at manifest revision 1"),
        "{text}"
    );

    // A second version, then back.
    let v2 = std::env::temp_dir().join(format!("xtask-designs-{}.wasm", std::process::id()));
    std::fs::write(
        &v2,
        card_e2e::service::with_custom_section(&std::fs::read(classic)?, "v2"),
    )?;
    let (push, text, _) = run(&mut designs(&[
        "push",
        v2.to_str().context("path")?,
        "--name",
        "classic",
    ]))?;
    ensure!(push.status.success(), "{text}");
    let (list, text, _) = run(&mut designs(&["list"]))?;
    ensure!(
        list.status.success() && text.contains("manifest revision 2"),
        "{text}"
    );
    let (rollback, text, result) = run(&mut designs(&["rollback", "classic"]))?;
    ensure!(
        rollback.status.success() && result.contains("at manifest revision 3"),
        "{text}"
    );
    let (rollback, text, _) = run(&mut designs(&["rollback", "classic"]))?;
    ensure!(
        !rollback.status.success() && text.contains("no earlier version"),
        "{text}"
    );

    // A component that does not validate never reaches the bucket.
    let (push, text, _) = run(&mut designs(&[
        "push",
        dist.join("fixtures/fixture-imports.wasm")
            .to_str()
            .context("path")?,
    ]))?;
    ensure!(
        !push.status.success() && text.contains("not pushed"),
        "{text}"
    );
    let _ = std::fs::remove_file(&v2);
    Ok(())
}

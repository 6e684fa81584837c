//! `cargo xtask designs check PATH.wasm` as a designer runs it: the `xtask` binary, real Chromium
//! and the built designs; it passes a shipped design and exits non-zero on each refused fixture.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, ensure};

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../card-templates/dist")
}

/// Runs `xtask designs check` on `component` (a path under `card-templates/dist`): whether it
/// succeeded, and stdout and stderr joined.
fn check(component: &str, extra: &[&str]) -> anyhow::Result<(bool, String)> {
    let path = dist().join(component);
    ensure!(
        path.exists(),
        "{}: run `cargo xtask templates build`",
        path.display()
    );
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["designs", "check"])
        .arg(&path)
        .args(extra)
        .output()
        .context("run xtask")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text))
}

#[test]
fn a_shipped_design_passes_and_each_refused_fixture_fails() -> anyhow::Result<()> {
    let (ok, text) = check("classic.wasm", &[])?;
    ensure!(ok, "{text}");
    ensure!(
        text.contains("designs check: classic@")
            && text.contains("passes (8 listings, 0 warning(s))"),
        "{text}"
    );

    let (ok, text) = check("fixtures/fixture-clip.wasm", &[])?;
    ensure!(!ok, "{text}");
    ensure!(
        text.contains("overflow") && text.contains("refuse") && text.contains("Beelink SER5"),
        "{text}"
    );

    let (ok, text) = check("fixtures/fixture-blank.wasm", &[])?;
    ensure!(!ok && text.contains("blank on `typical`"), "{text}");

    // Warnings print and pass; the levels come from --checks like DESIGNS__CHECKS.
    let (ok, text) = check("fixtures/fixture-nocjk.wasm", &[])?;
    ensure!(
        ok && text.contains("glyphs") && text.contains("warn"),
        "{text}"
    );
    let (ok, text) = check(
        "fixtures/fixture-nocjk.wasm",
        &["--checks", "glyphs=refuse"],
    )?;
    ensure!(!ok && text.contains("glyphs on `cjk`"), "{text}");
    let (ok, text) = check("fixtures/fixture-clip.wasm", &["--checks", "overflow=loud"])?;
    ensure!(
        !ok && text.contains("--checks: unknown level `loud`"),
        "{text}"
    );
    Ok(())
}

//! Rust designs and fixtures: found by crate name in the card-templates workspace, compiled by cargo for `wasm32-wasip2`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{Component, Kind, Source};
use crate::{install, util};

/// Designs and fixtures among the workspace members.
pub(super) fn discover(metadata: &util::Metadata, dist: &Path) -> Result<Vec<Component>> {
    let mut components = Vec::new();
    for package in &metadata.packages {
        let (kind, name, dist) = if let Some(name) = package.name.strip_prefix("card-design-") {
            (
                Kind::Design,
                name.to_owned(),
                dist.join(format!("{name}.wasm")),
            )
        } else if let Some(name) = package.name.strip_prefix("card-fixture-") {
            let name = format!("fixture-{name}");
            let path = dist.join("fixtures").join(format!("{name}.wasm"));
            (Kind::Fixture, name, path)
        } else {
            continue;
        };
        let Some(target) = package
            .targets
            .iter()
            .find(|t| t.kind.iter().any(|k| k == "cdylib"))
        else {
            bail!(
                "{} has no cdylib target, so it builds no component: add \
                 `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml",
                package.name
            );
        };
        components.push(Component {
            kind,
            name,
            source: Source::Rust {
                package: package.name.clone(),
                artifact: target.name.replace('-', "_"),
            },
            dist,
        });
    }
    Ok(components)
}

/// Compiles the Rust components among `components` in one `cargo build` (release, `wasm32-wasip2`).
pub(super) fn cargo_build(root: &Path, manifest: &Path, components: &[Component]) -> Result<()> {
    let rust: Vec<&str> = components
        .iter()
        .filter_map(|c| match &c.source {
            Source::Rust { package, .. } => Some(package.as_str()),
            Source::Js { .. } => None,
        })
        .collect();
    if !rust.is_empty() {
        util::step(format_args!(
            "building {} Rust component(s) for {}",
            rust.len(),
            install::WASM_TARGET
        ));
        // Only the component crates: the preview tool is host-only (it links `std`, whose
        // panic handler would collide with the SDK's on wasm32).
        let mut cmd = util::cargo();
        cmd.current_dir(root)
            .arg("build")
            .arg("--manifest-path")
            .arg(manifest)
            .args(["--release", "--target", install::WASM_TARGET]);
        for package in &rust {
            cmd.args(["--package", package]);
        }
        util::run(&mut cmd).context("the card templates did not build")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::util::{Metadata, Package, Target};

    fn package(name: &str, kind: &str) -> Package {
        Package {
            name: name.to_owned(),
            targets: vec![Target {
                name: name.to_owned(),
                kind: vec![kind.to_owned()],
            }],
        }
    }

    fn rust(package: &str) -> Source {
        Source::Rust {
            package: package.to_owned(),
            artifact: package.replace('-', "_"),
        }
    }

    #[test]
    fn crates_are_found_by_name_and_libraries_are_skipped() {
        let metadata = Metadata {
            target_directory: PathBuf::from("/t"),
            packages: vec![
                package("card-fixture-trap", "cdylib"),
                package("card-sdk", "lib"),
                package("card-preview", "lib"),
                package("card-design-classic", "cdylib"),
            ],
        };
        let found = discover(&metadata, Path::new("/d")).unwrap();
        let found: Vec<_> = found
            .into_iter()
            .map(|c| (c.kind, c.name, c.source, c.dist))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Kind::Fixture,
                    "fixture-trap".to_owned(),
                    rust("card-fixture-trap"),
                    PathBuf::from("/d/fixtures/fixture-trap.wasm")
                ),
                (
                    Kind::Design,
                    "classic".to_owned(),
                    rust("card-design-classic"),
                    PathBuf::from("/d/classic.wasm")
                ),
            ]
        );
    }

    #[test]
    fn a_design_without_a_cdylib_is_an_error_that_says_how_to_fix_it() {
        let metadata = Metadata {
            target_directory: PathBuf::from("/t"),
            packages: vec![package("card-design-bold", "lib")],
        };
        let err = discover(&metadata, Path::new("/d")).unwrap_err();
        assert!(err.to_string().contains("crate-type"), "{err}");
    }
}

//! `cargo xtask templates build`: compiles the card designs and test fixtures to components.
//!
//! Crates are found by name in the `card-templates` workspace: `card-design-NAME` becomes
//! `card-templates/dist/NAME.wasm`, `card-fixture-NAME` becomes
//! `card-templates/dist/fixtures/fixture-NAME.wasm`. Anything else there (the SDK) is a library.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, bail};

use crate::{
    install,
    util::{self, cargo_metadata, human_size, project_root},
};

#[derive(Debug, clap::Subcommand)]
pub enum Templates {
    /// Build every design and fixture for wasm32-wasip2 and copy them to card-templates/dist.
    Build,
}

impl Templates {
    pub fn run(self) -> Result<()> {
        match self {
            Templates::Build => {
                let started = Instant::now();
                let built = build()?;
                let designs = built.iter().filter(|c| c.kind == Kind::Design).count();
                println!(
                    "templates build: {designs} design(s), {} fixture(s) in {}",
                    built.len() - designs,
                    util::human_duration(started.elapsed())
                );
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Design,
    Fixture,
}

/// A component crate and where its `.wasm` goes.
#[derive(Debug)]
pub struct Component {
    pub kind: Kind,
    /// The name the service knows it by: `classic`, `fixture-trap`.
    pub name: String,
    pub package: String,
    /// The cdylib's file stem in the target directory (`card_design_classic`).
    artifact: String,
    pub dist: PathBuf,
}

/// Builds the components and copies them to `dist/`; returns what it built (maybe nothing).
pub fn build() -> Result<Vec<Component>> {
    let root = project_root();
    let manifest = root.join("card-templates/Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} is missing: the card-templates workspace (SDK and designs) has not been created",
            manifest.display()
        );
    }
    install::wasm_target()?;
    util::step("finding designs and fixtures in card-templates/");
    let metadata = cargo_metadata(&manifest)?;
    let dist = root.join("card-templates/dist");
    let components = discover(&metadata, &dist)?;
    if components.is_empty() {
        let names: Vec<&str> = metadata.packages.iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "    no card-design-* or card-fixture-* crates in the card-templates workspace \
             (members: {}); nothing to build",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
        return Ok(components);
    }
    for component in &components {
        eprintln!("    {} ({:?})", component.package, component.kind);
    }

    util::step(format_args!(
        "building {} component(s) for {}",
        components.len(),
        install::WASM_TARGET
    ));
    util::run(
        util::cargo()
            .current_dir(&root)
            .arg("build")
            .arg("--manifest-path")
            .arg(&manifest)
            .args(["--release", "--target", install::WASM_TARGET, "--workspace"]),
    )
    .context("the card templates did not build")?;

    let out_dir = metadata
        .target_directory
        .join(install::WASM_TARGET)
        .join("release");
    util::step(format_args!("copying to {}", dist.display()));
    let mut rows = Vec::new();
    for component in &components {
        let built = out_dir.join(format!("{}.wasm", component.artifact));
        let (size, changed) = install_atomically(&built, &component.dist)?;
        rows.push((component, size, changed));
    }
    println!();
    println!("    {:<28} {:<8} {:>10}  path", "template", "kind", "size");
    for (component, size, changed) in rows {
        let path = component
            .dist
            .strip_prefix(&root)
            .unwrap_or(&component.dist);
        println!(
            "    {:<28} {:<8} {:>10}  {}{}",
            component.name,
            format!("{:?}", component.kind).to_lowercase(),
            human_size(size),
            path.display(),
            if changed { "" } else { "  (unchanged)" }
        );
    }
    println!();
    Ok(components)
}

/// Designs and fixtures among the workspace members, sorted with designs first.
fn discover(metadata: &util::Metadata, dist: &Path) -> Result<Vec<Component>> {
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
            package: package.name.clone(),
            artifact: target.name.replace('-', "_"),
            dist,
        });
    }
    components.sort_by(|a, b| (a.kind as u8, &a.name).cmp(&(b.kind as u8, &b.name)));
    Ok(components)
}

/// Copies `from` to `to` unless the bytes are the same, through a temporary file and a rename:
/// the service watches `dist/` and must never load a half-written component.
fn install_atomically(from: &Path, to: &Path) -> Result<(u64, bool)> {
    let bytes = fs::read(from).with_context(|| {
        format!(
            "{} was not built: is the crate's lib named after its package?",
            from.display()
        )
    })?;
    let size = bytes.len() as u64;
    if fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok((size, false));
    }
    let dir = to.parent().context("dist path has no parent")?;
    fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let tmp = to.with_extension("wasm.tmp");
    fs::write(&tmp, &bytes).with_context(|| format!("could not write {}", tmp.display()))?;
    fs::rename(&tmp, to).with_context(|| format!("could not replace {}", to.display()))?;
    Ok((size, true))
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn crates_are_found_by_name_and_libraries_are_skipped() {
        let metadata = Metadata {
            target_directory: PathBuf::from("/t"),
            packages: vec![
                package("card-fixture-trap", "cdylib"),
                package("card-sdk", "lib"),
                package("card-design-classic", "cdylib"),
            ],
        };
        let found = discover(&metadata, Path::new("/d")).unwrap();
        let found: Vec<_> = found
            .iter()
            .map(|c| (c.kind, c.name.as_str(), c.artifact.as_str(), c.dist.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Kind::Design,
                    "classic",
                    "card_design_classic",
                    PathBuf::from("/d/classic.wasm")
                ),
                (
                    Kind::Fixture,
                    "fixture-trap",
                    "card_fixture_trap",
                    PathBuf::from("/d/fixtures/fixture-trap.wasm")
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

//! `cargo xtask templates build|new`: compiles the card designs and test fixtures to components, and scaffolds new designs.
//!
//! Rust crates are found by name in the `card-templates` workspace: `card-design-NAME` becomes
//! `card-templates/dist/NAME.wasm`, `card-fixture-NAME` becomes
//! `card-templates/dist/fixtures/fixture-NAME.wasm`. Anything else there (the SDK, the preview
//! tool) is a library. JavaScript designs are the directories `card-templates/js/NAME/` with a
//! `card.js` and a `package.json` that pins `componentize-qjs` and `@bytecodealliance/jco`;
//! each becomes `card-templates/dist/NAME.wasm` too, and is checked against the SDK's sample
//! inputs before it is copied there.
//!
//! `build.rs` finds and compiles the Rust crates, `js.rs` the JavaScript designs, and
//! `scaffold.rs` writes a new Rust design from the files in `scaffold/`.

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

mod build;
mod js;
mod scaffold;

#[derive(Debug, clap::Subcommand)]
pub enum Templates {
    /// Build every design (Rust and JavaScript) and fixture and copy them to card-templates/dist.
    Build,
    /// Scaffold a new Rust design in card-templates/NAME (crate card-design-NAME) from the SDK.
    New {
        /// The design's name, `[a-z0-9-]{1,32}`: used in URLs (`?variant=NAME`) and object keys.
        name: String,
    },
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
            Templates::New { name } => scaffold::run(&name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Design,
    Fixture,
}

/// Where a component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A crate of the card-templates workspace, built by cargo.
    Rust {
        package: String,
        /// The cdylib's file stem in the target directory (`card_design_classic`).
        artifact: String,
    },
    /// A directory under `card-templates/js/` with `card.js` and `package.json`.
    Js { dir: PathBuf },
}

/// A component and where its `.wasm` goes.
#[derive(Debug)]
pub struct Component {
    pub kind: Kind,
    /// The name the service knows it by: `classic`, `fixture-trap`.
    pub name: String,
    pub source: Source,
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
    let mut components = build::discover(&metadata, &dist)?;
    components.extend(js::discover(&root.join("card-templates/js"), &dist)?);
    check_unique_names(&components)?;
    components.sort_by(|a, b| (a.kind as u8, &a.name).cmp(&(b.kind as u8, &b.name)));
    if components.is_empty() {
        let names: Vec<&str> = metadata.packages.iter().map(|p| p.name.as_str()).collect();
        eprintln!(
            "    no card-design-* or card-fixture-* crates in the card-templates workspace \
             (members: {}) and no card-templates/js/*/card.js; nothing to build",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
        return Ok(components);
    }
    for component in &components {
        let from = match &component.source {
            Source::Rust { package, .. } => package.clone(),
            Source::Js { dir } => dir.strip_prefix(&root).unwrap_or(dir).display().to_string(),
        };
        eprintln!("    {from} ({:?})", component.kind);
    }

    let out_dir = metadata
        .target_directory
        .join(install::WASM_TARGET)
        .join("release");
    build::cargo_build(&root, &manifest, &components)?;

    let mut built = Vec::new();
    for component in &components {
        match &component.source {
            Source::Rust { artifact, .. } => {
                built.push(out_dir.join(format!("{artifact}.wasm")));
            }
            Source::Js { dir } => {
                let js_out = metadata.target_directory.join("card-templates-js");
                built.push(js::build(
                    &root,
                    &manifest,
                    &component.name,
                    dir,
                    &js_out,
                    &metadata.target_directory,
                )?);
            }
        }
    }

    util::step(format_args!("copying to {}", dist.display()));
    let mut rows = Vec::new();
    for (component, built) in components.iter().zip(&built) {
        let (size, changed) = install_atomically(built, &component.dist)?;
        rows.push((component, size, changed));
    }
    println!();
    println!(
        "    {:<28} {:<8} {:<5} {:>10}  path",
        "template", "kind", "lang", "size"
    );
    for (component, size, changed) in rows {
        let path = component
            .dist
            .strip_prefix(&root)
            .unwrap_or(&component.dist);
        println!(
            "    {:<28} {:<8} {:<5} {:>10}  {}{}",
            component.name,
            format!("{:?}", component.kind).to_lowercase(),
            match component.source {
                Source::Rust { .. } => "rust",
                Source::Js { .. } => "js",
            },
            human_size(size),
            path.display(),
            if changed { "" } else { "  (unchanged)" }
        );
    }
    println!();
    Ok(components)
}

/// Two sources for one `dist/NAME.wasm` would silently overwrite each other.
fn check_unique_names(components: &[Component]) -> Result<()> {
    for (i, a) in components.iter().enumerate() {
        if let Some(b) = components[i + 1..].iter().find(|b| b.dist == a.dist) {
            bail!(
                "two templates would both be {}: {:?} and {:?}; rename one",
                a.dist.display(),
                a.source,
                b.source
            );
        }
    }
    Ok(())
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

    fn rust(package: &str) -> Source {
        Source::Rust {
            package: package.to_owned(),
            artifact: package.replace('-', "_"),
        }
    }

    #[test]
    fn a_name_used_twice_is_refused() {
        let design = |source| Component {
            kind: Kind::Design,
            name: "ticket".into(),
            source,
            dist: PathBuf::from("/d/ticket.wasm"),
        };
        let twice = [
            design(rust("card-design-ticket")),
            design(Source::Js {
                dir: PathBuf::from("/js/ticket"),
            }),
        ];
        let err = check_unique_names(&twice).unwrap_err();
        assert!(err.to_string().contains("rename one"), "{err}");
    }
}

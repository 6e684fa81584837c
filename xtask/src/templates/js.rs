//! JavaScript designs: `card-templates/js/NAME/card.js` built by componentize-qjs, checked with jco and Node over the SDK's samples.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use super::{Component, Kind, Source, scaffold};
use crate::{install, util};

/// JavaScript designs: `js_root/NAME/` holding `card.js` and `package.json`.
pub(super) fn discover(js_root: &Path, dist: &Path) -> Result<Vec<Component>> {
    let Ok(entries) = fs::read_dir(js_root) else {
        return Ok(Vec::new()); // no JavaScript designs
    };
    let mut components = Vec::new();
    for entry in entries {
        let dir = entry
            .with_context(|| format!("could not list {}", js_root.display()))?
            .path();
        if !dir.is_dir() {
            continue; // the shared check script and READMEs
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.join("card.js").is_file() || !dir.join("package.json").is_file() {
            bail!(
                "{} is not a JavaScript design: it needs card.js and a package.json pinning \
                 componentize-qjs and @bytecodealliance/jco (see docs/templates.md)",
                dir.display()
            );
        }
        scaffold::validate_name(&name)
            .with_context(|| format!("{} is named like no design can be", dir.display()))?;
        components.push(Component {
            kind: Kind::Design,
            dist: dist.join(format!("{name}.wasm")),
            name,
            source: Source::Js { dir },
        });
    }
    Ok(components)
}

/// componentize-qjs `card.js` into `out_dir/NAME.wasm`, then check what it imports and what it
/// renders; returns the component's path.
pub(super) fn build(
    root: &Path,
    manifest: &Path,
    name: &str,
    dir: &Path,
    out_dir: &Path,
    target_dir: &Path,
) -> Result<PathBuf> {
    util::step(format_args!("building the JavaScript design {name}"));
    let tools = install::js_toolchain(name, dir)?;
    fs::create_dir_all(out_dir)
        .with_context(|| format!("could not create {}", out_dir.display()))?;
    let wasm = out_dir.join(format!("{name}.wasm"));
    // componentize-qjs output differs by a byte or two from run to run (the snapshot), and
    // every new digest is a new design version to the service (new cache keys, new renders):
    // rebuild only when an input changed. The inputs are small; keep them as the stamp.
    let stamp = out_dir.join(format!("{name}.wasm.inputs"));
    let mut inputs = Vec::new();
    for input in [
        dir.join("card.js"),
        dir.join("package.json"),
        root.join("wit/card.wit"),
        root.join("card-templates/js/check.mjs"),
    ] {
        inputs.extend(
            fs::read(&input).with_context(|| format!("could not read {}", input.display()))?,
        );
    }
    if wasm.is_file() && fs::read(&stamp).is_ok_and(|old| old == inputs) {
        eprintln!("    ok: {name} is up to date ({})", wasm.display());
        return Ok(wasm);
    }
    // A failed build below must not leave an old stamp that vouches for a new card.js.
    let _ = fs::remove_file(&stamp);
    // `--stub-wasi`: QuickJS's runtime is a wasip2 program; stubbing turns its `wasi:*`
    // imports into traps, so the component imports only what the card world offers.
    // `--sync`: the host calls `render` synchronously (no component-model async).
    util::run(
        Command::new(tools.bin("componentize-qjs"))
            .current_dir(root)
            .arg("--wit")
            .arg(root.join("wit/card.wit"))
            .args(["--world", "card", "--js"])
            .arg(dir.join("card.js"))
            .arg("-o")
            .arg(&wasm)
            .args(["--stub-wasi", "--sync"]),
    )
    .with_context(|| format!("componentize-qjs could not build {}", dir.display()))?;

    let world = util::read(Command::new(tools.bin("jco")).arg("wit").arg(&wasm))
        .context("jco could not read the component's world")?;
    let foreign = foreign_imports(&world);
    if !foreign.is_empty() {
        bail!(
            "{name} imports {} which the card world does not offer, so the service would \
             refuse it: build with --stub-wasi, and import nothing in card.js",
            foreign.join(", ")
        );
    }
    eprintln!("    ok: {name} imports only dealbrain:card/types");

    // Run the built component (transpiled by jco to run in Node) over the SDK's samples.
    let transpiled = out_dir.join(format!("{name}-transpiled"));
    util::read(
        Command::new(tools.bin("jco"))
            .arg("transpile")
            .arg(&wasm)
            .arg("-o")
            .arg(&transpiled)
            .args(["--name", "card", "--quiet"]),
    )
    .context("jco could not transpile the component for the sample check")?;
    // The transpiled module is an ES module; say so, or Node guesses (and warns).
    fs::write(transpiled.join("package.json"), "{\"type\":\"module\"}\n")
        .context("could not write the transpiled module's package.json")?;
    let samples = out_dir.join("samples.json");
    let json = util::read(
        util::cargo()
            .current_dir(root)
            .arg("run")
            .arg("--manifest-path")
            .arg(manifest)
            .args(["--quiet", "--package", "card-preview", "--", "samples-json"]),
    )
    .context("could not export the sample inputs (card-preview samples-json)")?;
    fs::write(&samples, json).with_context(|| format!("could not write {}", samples.display()))?;
    let html_dir = target_dir.join("card-preview").join(name);
    util::run(
        Command::new("node")
            .arg(root.join("card-templates/js/check.mjs"))
            .arg(transpiled.join("card.js"))
            .arg(&samples)
            .arg(&html_dir),
    )
    .with_context(|| {
        format!("{name} broke a card rule on a sample input (see above); fix card.js")
    })?;
    fs::write(&stamp, inputs).with_context(|| format!("could not write {}", stamp.display()))?;
    Ok(wasm)
}

/// The `import` lines of a `jco wit` world that are not the card world's types interface.
fn foreign_imports(world: &str) -> Vec<String> {
    world
        .lines()
        .filter_map(|line| line.trim().strip_prefix("import "))
        .map(|import| import.trim_end_matches(';').trim().to_owned())
        .filter(|import| !import.starts_with("dealbrain:card/types@"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::project_root;

    #[test]
    fn the_repository_javascript_designs_are_found() {
        let root = project_root();
        let found = discover(&root.join("card-templates/js"), Path::new("/d")).unwrap();
        let ticket = found.iter().find(|c| c.name == "ticket").expect("ticket");
        assert_eq!(ticket.kind, Kind::Design);
        assert_eq!(ticket.dist, Path::new("/d/ticket.wasm"));
        assert!(
            discover(Path::new("/no/such/dir"), Path::new("/d"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn only_the_types_interface_may_be_imported() {
        let world = "package root:component;\n\nworld root {\n  import dealbrain:card/types@0.1.0;\n  \
                     import wasi:io/poll@0.2.6;\n  use dealbrain:card/types@0.1.0.{card-input};\n\n  \
                     export render: func(input: card-input) -> string;\n}\n";
        assert_eq!(foreign_imports(world), ["wasi:io/poll@0.2.6"]);
        assert!(foreign_imports(&world.replace("  import wasi:io/poll@0.2.6;\n", "")).is_empty());
    }
}

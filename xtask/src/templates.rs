//! `cargo xtask templates build|new`: compiles the card designs and test fixtures to components, and scaffolds new designs.
//!
//! Rust crates are found by name in the `card-templates` workspace: `card-design-NAME` becomes
//! `card-templates/dist/NAME.wasm`, `card-fixture-NAME` becomes
//! `card-templates/dist/fixtures/fixture-NAME.wasm`. Anything else there (the SDK, the preview
//! tool) is a library. JavaScript designs are the directories `card-templates/js/NAME/` with a
//! `card.js` and a `package.json` that pins `componentize-qjs` and `@bytecodealliance/jco`;
//! each becomes `card-templates/dist/NAME.wasm` too, and is checked against the SDK's sample
//! inputs before it is copied there.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{Context, Result, bail};

use crate::{
    install,
    util::{self, cargo_metadata, human_size, project_root},
};

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
            Templates::New { name } => {
                let root = project_root().join("card-templates");
                let dir = scaffold(&root, &name)?;
                // The templates are formatted for a short name; a long one may wrap
                // differently. Best effort: an unformatted scaffold still builds.
                let _ = util::read(
                    Command::new("rustfmt")
                        .args(["--edition", "2024"])
                        .arg(dir.join("src/lib.rs"))
                        .arg(dir.join("examples/preview.rs")),
                );
                let shown = dir.strip_prefix(project_root()).unwrap_or(&dir);
                println!(
                    "templates new: created {} (crate card-design-{name}); next: \
                     `cargo test --manifest-path card-templates/Cargo.toml -p card-design-{name}`, \
                     its preview example, then `cargo xtask templates build`",
                    shown.display()
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
    let mut components = discover(&metadata, &dist)?;
    components.extend(discover_js(&root.join("card-templates/js"), &dist)?);
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
        cmd.current_dir(&root)
            .arg("build")
            .arg("--manifest-path")
            .arg(&manifest)
            .args(["--release", "--target", install::WASM_TARGET]);
        for package in &rust {
            cmd.args(["--package", package]);
        }
        util::run(&mut cmd).context("the card templates did not build")?;
    }

    let mut built = Vec::new();
    for component in &components {
        match &component.source {
            Source::Rust { artifact, .. } => {
                built.push(out_dir.join(format!("{artifact}.wasm")));
            }
            Source::Js { dir } => {
                let js_out = metadata.target_directory.join("card-templates-js");
                built.push(build_js(
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

/// Designs and fixtures among the workspace members.
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
            source: Source::Rust {
                package: package.name.clone(),
                artifact: target.name.replace('-', "_"),
            },
            dist,
        });
    }
    Ok(components)
}

/// JavaScript designs: `js_root/NAME/` holding `card.js` and `package.json`.
fn discover_js(js_root: &Path, dist: &Path) -> Result<Vec<Component>> {
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
        validate_name(&name)
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

/// componentize-qjs `card.js` into `out_dir/NAME.wasm`, then check what it imports and what it
/// renders; returns the component's path.
fn build_js(
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

// ---- `templates new` ----------------------------------------------------------------------

/// Directory names in `card-templates/` that are not designs.
const RESERVED: &[&str] = &["sdk", "preview", "fixtures", "js", "dist", "target"];

/// A design name is `[a-z0-9-]{1,32}` (`card_request::is_design_name`, as the service checks),
/// and the `fixture-` prefix belongs to the test fixtures.
fn validate_name(name: &str) -> Result<()> {
    if !card_request::is_design_name(name) {
        bail!(
            "`{name}` is not a design name: use 1 to 32 of a-z, 0-9 and `-` (it appears in \
             URLs and object keys), e.g. `spotlight` or `deal-v2`"
        );
    }
    if name.starts_with("fixture") || RESERVED.contains(&name) {
        bail!("`{name}` is reserved (fixtures and card-templates' own directories); pick another");
    }
    Ok(())
}

/// `card-design-my-deal` → `MyDeal`; a leading digit gets a `Design` prefix (`2col` → `Design2col`).
fn type_name(name: &str) -> String {
    let camel: String = name
        .split('-')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    if camel.is_empty() || camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("Design{camel}")
    } else {
        camel
    }
}

/// `manifest` (card-templates/Cargo.toml) with `"name"` added to `[workspace] members`.
fn add_member(manifest: &str, name: &str) -> Result<String> {
    let start = manifest
        .find("members = [")
        .context("card-templates/Cargo.toml has no `members = [` line to add the design to")?;
    let open = start + "members = [".len();
    let close = open
        + manifest[open..]
            .find(']')
            .context("card-templates/Cargo.toml's `members` list is not closed")?;
    let members = &manifest[open..close];
    let quoted = format!("\"{name}\"");
    if members.split(',').any(|m| m.trim() == quoted) {
        bail!("`{name}` is already a member of the card-templates workspace");
    }
    // Before the fixtures glob when there is one, so designs stay together.
    let insert_at = members
        .find("\"fixtures/")
        .map_or(close, |offset| open + offset);
    let mut out = String::with_capacity(manifest.len() + name.len() + 4);
    out.push_str(&manifest[..insert_at]);
    if insert_at == close {
        let trimmed = manifest[open..close].trim_end();
        out.truncate(open + trimmed.len());
        if !trimmed.is_empty() && !trimmed.ends_with(',') {
            out.push_str(", ");
        }
        out.push_str(&quoted);
        out.push_str(&manifest[close..]);
    } else {
        out.push_str(&quoted);
        out.push_str(", ");
        out.push_str(&manifest[insert_at..]);
    }
    Ok(out)
}

/// Creates `templates_root/NAME` (crate `card-design-NAME`: a working design, a host test and
/// a preview example) and adds it to the workspace; returns the new directory.
fn scaffold(templates_root: &Path, name: &str) -> Result<PathBuf> {
    validate_name(name)?;
    let dir = templates_root.join(name);
    if dir.exists() {
        bail!("{} already exists: pick another name", dir.display());
    }
    if templates_root.join("js").join(name).exists() {
        bail!("a JavaScript design is already called `{name}`: pick another name");
    }
    let manifest_path = templates_root.join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest_path)
        .with_context(|| format!("could not read {}", manifest_path.display()))?;
    let manifest = add_member(&manifest, name)?;

    let ty = type_name(name);
    let krate = format!("card_design_{}", name.replace('-', "_"));
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{Type}}", &ty)
            .replace("{{crate}}", &krate)
    };
    for (path, template) in [
        ("Cargo.toml", SCAFFOLD_CARGO_TOML),
        ("src/lib.rs", SCAFFOLD_LIB_RS),
        ("examples/preview.rs", SCAFFOLD_PREVIEW_RS),
    ] {
        let path = dir.join(path);
        let parent = path.parent().context("scaffold path has no parent")?;
        fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
        fs::write(&path, fill(template))
            .with_context(|| format!("could not write {}", path.display()))?;
        eprintln!("    created {}", path.display());
    }
    fs::write(&manifest_path, manifest)
        .with_context(|| format!("could not update {}", manifest_path.display()))?;
    eprintln!(
        "    added \"{name}\" to the members in {}",
        manifest_path.display()
    );
    Ok(dir)
}

const SCAFFOLD_CARGO_TOML: &str = r#"# `card-design-{{name}}`: the `{{name}}` Open Graph card design, a no_std WebAssembly component.
[package]
name = "card-design-{{name}}"
version = "0.1.0"
description = "The {{name}} Deal Brain Open Graph card design"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[lib]
# `cdylib` is the component; `rlib` lets host tests and the preview example call the design.
crate-type = ["cdylib", "rlib"]

[dependencies]
card-sdk.workspace = true

[dev-dependencies]
card-preview.workspace = true

[lints]
workspace = true
"#;

const SCAFFOLD_PREVIEW_RS: &str = r"//! Writes the `{{name}}` card for every sample input as HTML (and PNG with `--screenshot`); see `card-preview`.

fn main() -> Result<(), String> {
    card_preview::run::<{{crate}}::{{Type}}>()
}
";

const SCAFFOLD_LIB_RS: &str = r##"//! The `{{name}}` card design (scaffolded by `cargo xtask templates new`): title, price and CPU Mark per dollar beside the photo.
//!
//! Make it yours: change `STYLE` and `render_card`, run the tests and the preview
//! (`cargo run --manifest-path card-templates/Cargo.toml -p card-design-{{name}} --example preview -- --screenshot`),
//! look at every PNG, then `cargo xtask templates build`. docs/templates.md has the rules.
#![no_std]

extern crate alloc;

use alloc::borrow::Cow;
use alloc::string::String;

use card_sdk::{
    CardInput, Guest, Html, OG_CARD_SIZE, RenderError, TemplateInfo, format_one_decimal,
    format_price, safe_image_data_uri, visible_text,
};

/// Design name reported by `describe` (used in URLs, object keys and `X-Card-Template`).
pub const NAME: &str = "{{name}}";
/// Design version reported by `describe`; bump it when the pixels change.
pub const VERSION: &str = "0.1.0";

/// The `{{name}}` design.
pub struct {{Type}};

impl Guest for {{Type}} {
    fn describe() -> TemplateInfo {
        card_sdk::og_template_info(NAME, VERSION)
    }

    fn render(input: CardInput) -> Result<String, RenderError> {
        card_sdk::require_size(&input, OG_CARD_SIZE)?;
        Ok(render_card(&input))
    }
}

card_sdk::export_design!({{Type}});

/// Fixed CSS: listing data never goes here.
const STYLE: &str = r#"
*{box-sizing:border-box;margin:0;padding:0}
html,body{width:1200px;height:630px;overflow:hidden;background:#F8FAFC}
body{font-family:"Noto Sans","DejaVu Sans","Liberation Sans","Noto Sans CJK SC","Noto Sans Arabic","Noto Sans Hebrew","Noto Color Emoji",sans-serif;color:#0F172A}
.card{display:flex;gap:48px;width:1200px;height:630px;padding:64px}
.text{flex:1;min-width:0;display:flex;flex-direction:column}
.brand{font-size:20px;font-weight:700;letter-spacing:2px;text-transform:uppercase;color:#64748B;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.title{margin-top:24px;font-size:44px;line-height:1.2;font-weight:700;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere}
.price{margin-top:auto;font-size:64px;font-weight:800;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.score{margin-top:8px;font-size:24px;color:#475569}
.photo{flex:none;width:420px;height:502px;border-radius:24px;overflow:hidden;background:#E2E8F0;display:flex;align-items:center;justify-content:center;color:#94A3B8;font-size:20px;font-weight:700;text-transform:uppercase;letter-spacing:2px}
.photo img{width:100%;height:100%;object-fit:contain}
"#;

/// Renders the card for `input`; never fails: every missing field has a fallback.
pub fn render_card(input: &CardInput) -> String {
    let listing = &input.listing;
    let image = input
        .image_data_uri
        .as_deref()
        .and_then(safe_image_data_uri);
    let mut html = Html::with_capacity(4 * 1024 + image.map_or(0, str::len));
    html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><style>")
        .raw(STYLE)
        .raw("</style></head><body><div class=\"card\"><main class=\"text\">");
    let brand = visible_text(&input.brand, 32).unwrap_or(Cow::Borrowed("Deal Brain"));
    html.raw("<p class=\"brand\" dir=\"auto\">")
        .text(&brand)
        .raw("</p>");
    // Cut in Rust before CSS clamps it: a 100k-character title costs nothing.
    let title = visible_text(&listing.title, 160).unwrap_or(Cow::Borrowed("Untitled listing"));
    html.raw("<h1 class=\"title\" dir=\"auto\">")
        .text(&title)
        .raw("</h1>");
    html.raw("<p class=\"price\" dir=\"ltr\">")
        .text(&format_price(listing.price_cents, listing.currency.trim()))
        .raw("</p>");
    if let Some(figure) = listing.cpu_mark_per_dollar.and_then(format_one_decimal) {
        html.raw("<p class=\"score\"><b>")
            .text(&figure)
            .raw("</b> CPU Mark per dollar</p>");
    }
    html.raw("</main>");
    match image {
        Some(uri) => {
            html.raw("<div class=\"photo\"><img alt=\"\" src=\"")
                .text(uri)
                .raw("\"></div>");
        }
        None => {
            html.raw("<div class=\"photo\">No photo</div>");
        }
    }
    html.raw("</div></body></html>");
    html.finish()
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use card_preview::conformance::{self, Expect};

    /// The host's rules, checked over every sample input; add your design's own tests below.
    #[test]
    fn meets_the_host_contract() {
        conformance::check::<{{Type}}>(&Expect {
            name: "{{name}}",
            version: "0.1.0",
            marker: "class=\"card\"",
            placeholder: Some("No photo"),
        });
    }

    #[test]
    fn shows_the_price_and_the_score() {
        let html = conformance::render::<{{Type}}>(conformance::sample("mini-pc-bargain"));
        assert!(html.contains("$289<"), "price");
        assert!(html.contains("<b>73.2</b> CPU Mark per dollar"), "score");
    }
}
"##;

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

    #[test]
    fn the_repository_javascript_designs_are_found() {
        let root = project_root();
        let found = discover_js(&root.join("card-templates/js"), Path::new("/d")).unwrap();
        let ticket = found.iter().find(|c| c.name == "ticket").expect("ticket");
        assert_eq!(ticket.kind, Kind::Design);
        assert_eq!(ticket.dist, Path::new("/d/ticket.wasm"));
        assert!(
            discover_js(Path::new("/no/such/dir"), Path::new("/d"))
                .unwrap()
                .is_empty()
        );
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

    #[test]
    fn only_the_types_interface_may_be_imported() {
        let world = "package root:component;\n\nworld root {\n  import dealbrain:card/types@0.1.0;\n  \
                     import wasi:io/poll@0.2.6;\n  use dealbrain:card/types@0.1.0.{card-input};\n\n  \
                     export render: func(input: card-input) -> string;\n}\n";
        assert_eq!(foreign_imports(world), ["wasi:io/poll@0.2.6"]);
        assert!(foreign_imports(&world.replace("  import wasi:io/poll@0.2.6;\n", "")).is_empty());
    }

    #[test]
    fn design_names_follow_the_service_rules() {
        for good in ["spotlight", "deal-v2", "a", "2col", &"x".repeat(32)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Spotlight",
            "deal_v2",
            "deal v2",
            "déal",
            "a/b",
            &"x".repeat(33),
        ] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.contains("a-z, 0-9"), "{bad}: {err}");
        }
        for reserved in ["sdk", "preview", "fixtures", "fixture-trap", "js", "dist"] {
            let err = validate_name(reserved).unwrap_err().to_string();
            assert!(err.contains("reserved"), "{reserved}: {err}");
        }
    }

    #[test]
    fn type_names_are_rust_identifiers() {
        assert_eq!(type_name("spotlight"), "Spotlight");
        assert_eq!(type_name("deal-v2"), "DealV2");
        assert_eq!(type_name("2col"), "Design2col");
        assert_eq!(type_name("a--b-"), "AB");
    }

    #[test]
    fn members_get_the_new_design_before_the_fixtures() {
        let manifest = "[workspace]\nmembers = [\"sdk\", \"classic\", \"fixtures/*\"]\n";
        assert_eq!(
            add_member(manifest, "bold").unwrap(),
            "[workspace]\nmembers = [\"sdk\", \"classic\", \"bold\", \"fixtures/*\"]\n"
        );
        assert_eq!(
            add_member("members = [\"sdk\"]\n", "bold").unwrap(),
            "members = [\"sdk\", \"bold\"]\n"
        );
        assert_eq!(
            add_member("members = []\n", "bold").unwrap(),
            "members = [\"bold\"]\n"
        );
        let err = add_member(manifest, "classic").unwrap_err().to_string();
        assert!(err.contains("already a member"), "{err}");
        assert!(add_member("[workspace]\n", "bold").is_err());
    }

    #[test]
    fn scaffolding_writes_a_design_and_refuses_to_overwrite() {
        let root = std::env::temp_dir().join(format!("xtask-templates-new-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("classic")).unwrap();
        fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"sdk\", \"classic\", \"fixtures/*\"]\n",
        )
        .unwrap();

        let dir = scaffold(&root, "deal-v2").unwrap();
        let lib = fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct DealV2;"));
        assert!(lib.contains("pub const NAME: &str = \"deal-v2\";"));
        assert!(!lib.contains("{{"), "unfilled placeholder");
        let cargo = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"card-design-deal-v2\""));
        let preview = fs::read_to_string(dir.join("examples/preview.rs")).unwrap();
        assert!(preview.contains("card_preview::run::<card_design_deal_v2::DealV2>()"));
        let members = fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(members.contains("\"classic\", \"deal-v2\", \"fixtures/*\""));

        for taken in ["deal-v2", "classic"] {
            let err = scaffold(&root, taken).unwrap_err().to_string();
            assert!(err.contains("already exists"), "{taken}: {err}");
        }
        assert!(scaffold(&root, "Bad_Name").is_err());
        assert!(
            !root.join("Bad_Name").exists(),
            "nothing written for a bad name"
        );
        fs::remove_dir_all(&root).unwrap();
    }
}

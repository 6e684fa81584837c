//! `cargo xtask templates new NAME`: a new Rust design in `card-templates/NAME` from the files in `scaffold/`, with `{{name}}`, `{{Type}}` and `{{crate}}` filled in.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::util::{self, project_root};

/// What a new design is made of: its path in the design's directory, and the file's text.
/// The text is Rust (or TOML) with placeholders; the scaffold test builds and tests the result.
const FILES: [(&str, &str); 3] = [
    ("Cargo.toml", include_str!("scaffold/Cargo.toml.in")),
    ("src/lib.rs", include_str!("scaffold/lib.rs")),
    ("examples/preview.rs", include_str!("scaffold/preview.rs")),
];

/// Scaffolds design `name` in the repository's `card-templates/` and says what to do next.
pub(super) fn run(name: &str) -> Result<()> {
    let root = project_root().join("card-templates");
    let dir = scaffold(&root, name)?;
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

/// Directory names in `card-templates/` that are not designs.
const RESERVED: &[&str] = &["sdk", "preview", "fixtures", "js", "dist", "target"];

/// A design name is `[a-z0-9-]{1,32}` (`card_request::is_design_name`, as the service checks),
/// and the `fixture-` prefix belongs to the test fixtures.
pub(super) fn validate_name(name: &str) -> Result<()> {
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
    for (path, template) in FILES {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install;

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
        assert!(lib.contains("const NAME: &'static str = \"deal-v2\";"));
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

    /// The design `templates new` writes builds as a component and passes its own tests: it is
    /// scaffolded into a workspace of its own beside the repository's SDK and preview tool (so
    /// the real `card-templates/` is left alone), with the same lock file, lints and profiles.
    #[test]
    fn a_scaffolded_design_builds_and_passes_its_tests() -> Result<()> {
        let templates = project_root().join("card-templates");
        let metadata = util::cargo_metadata(&templates.join("Cargo.toml"))?;
        // Its own build directory: the `cargo test` running this test may hold the main one.
        let target = metadata.target_directory.join("scaffold-test");
        let root = target.join(format!("workspace-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root)?;
        let manifest = fs::read_to_string(templates.join("Cargo.toml"))?;
        let start = manifest.find("members = [").context("no members")?;
        let end = start + manifest[start..].find(']').context("members not closed")?;
        let mut manifest = format!("{}members = []{}", &manifest[..start], &manifest[end + 1..]);
        for krate in ["sdk", "preview"] {
            let path = templates.join(krate);
            manifest = manifest.replace(
                &format!("path = \"{krate}\""),
                &format!("path = {:?}", path.display().to_string()),
            );
        }
        fs::write(root.join("Cargo.toml"), manifest)?;
        // The same dependency versions as the real workspace (cargo only adds the new member).
        fs::copy(templates.join("Cargo.lock"), root.join("Cargo.lock"))?;
        scaffold(&root, "deal-v2")?;

        let cargo = |args: &[&str]| {
            let mut cmd = util::cargo();
            cmd.args(args)
                .arg("--manifest-path")
                .arg(root.join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target);
            cmd
        };
        util::run(&mut cargo(&["test", "--quiet"])).context("the scaffolded design's own tests")?;
        util::run(&mut cargo(&[
            "build",
            "--release",
            "--target",
            install::WASM_TARGET,
        ]))
        .with_context(|| {
            format!(
                "the scaffolded design as a component (is the target installed? \
                 `rustup target add {}`)",
                install::WASM_TARGET
            )
        })?;
        let wasm = target
            .join(install::WASM_TARGET)
            .join("release/card_design_deal_v2.wasm");
        let bytes = fs::read(&wasm).with_context(|| format!("{} was not built", wasm.display()))?;
        // A component (layer 1), not a core module: `\0asm`, then version 0x0d and layer 1.
        assert_eq!(
            &bytes[..8],
            b"\0asm\x0d\0\x01\0",
            "{} is no component",
            wasm.display()
        );
        fs::remove_dir_all(&root)?;
        Ok(())
    }
}

//! Embeds the sample listing images (`data/images/*.{png,jpg,jpeg,webp}`) so the default data set needs no files at run time.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time, not with env!(): a compiled build script is reused across checkouts that
    // share a target directory, and a path baked in at compile time would point at another one.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("data/images");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    [".png", ".jpg", ".jpeg", ".webp"]
                        .iter()
                        .any(|ext| n.ends_with(ext))
                })
                .collect()
        })
        .unwrap_or_else(|e| panic!("{}: {e}: the sample images must be present", dir.display()));
    names.sort();
    assert!(
        !names.is_empty(),
        "{}: no sample images found",
        dir.display()
    );
    let mut out = String::from(
        "/// Embedded sample images by file name.\npub static SAMPLE_IMAGES: &[(&str, &[u8])] = &[\n",
    );
    for name in &names {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("sample_images.rs");
    std::fs::write(dest, out).unwrap();
}

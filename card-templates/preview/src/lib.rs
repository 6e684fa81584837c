//! `card-preview`: renders a card design over every sample input to HTML and, optionally, PNG.
//!
//! One tool for every design, so previews look the same and nobody copies a screenshot helper.
//! A Rust design's `examples/preview.rs` is one line:
//!
//! ```no_run
//! fn main() -> Result<(), String> {
//!     # struct Classic;
//!     # impl card_sdk::Design for Classic {
//!     #     const NAME: &'static str = "classic";
//!     #     const VERSION: &'static str = "1.0.0";
//!     #     const STYLE: &'static str = "";
//!     #     fn markup(_: &card_sdk::CardInput, _: &mut card_sdk::Html) -> Result<(), card_sdk::RenderError> { Ok(()) }
//!     # }
//!     card_preview::run::<Classic>()
//! }
//! ```
//!
//! ```text
//! cargo run --manifest-path card-templates/Cargo.toml -p card-design-classic --example preview -- \
//!     [OUT_DIR] [--image FILE] [--screenshot]
//! ```
//!
//! - `OUT_DIR` (default `/tmp/card-preview/NAME`) receives `{sample}.html`.
//! - `--image FILE` embeds that PNG/JPEG/WebP/GIF as the listing image; by default the first
//!   image in `service/data/images/` is used, else a generated gradient PNG.
//! - `--screenshot` also captures `{sample}.png` with headless Chromium at the size the design
//!   declares (`$CHROMIUM` or `/usr/bin/chromium`).
//!
//! JavaScript designs are previewed from the same samples: `cargo xtask templates build` runs
//! each one over the output of the `card-preview samples-json` binary (with
//! `card-templates/js/check.mjs`) and leaves the HTML in `target/card-preview/NAME/`, which
//! `card-preview capture DIR` turns into screenshots.
//!
//! The checks every design's host tests run are `card_sdk::testing` (feature `testing`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use card_sdk::{CardInput, CardSize, Guest, OG_CARD_SIZE, data_uri, samples};

mod json;

pub use json::samples_json;

/// What a preview run does, from the command line.
#[derive(Debug)]
pub struct Options {
    /// Where `{sample}.html` (and `.png`) go.
    pub out_dir: PathBuf,
    /// The listing image to embed; `None` picks the data set's first picture.
    pub image: Option<PathBuf>,
    /// Also capture PNGs with headless Chromium.
    pub screenshot: bool,
}

impl Options {
    /// Parses `[OUT_DIR] [--image FILE] [--screenshot]`; `Ok(None)` after printing `--help`.
    ///
    /// # Errors
    /// A flag that lacks its value.
    pub fn parse(
        design: &str,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Option<Self>, String> {
        let mut options = Self {
            out_dir: Path::new("/tmp/card-preview").join(design),
            image: None,
            screenshot: false,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--image" => {
                    options.image = Some(args.next().ok_or("--image needs a file")?.into());
                }
                "--screenshot" => options.screenshot = true,
                "-h" | "--help" => {
                    println!("usage: preview [OUT_DIR] [--image FILE] [--screenshot]");
                    return Ok(None);
                }
                _ => options.out_dir = PathBuf::from(arg),
            }
        }
        Ok(Some(options))
    }
}

/// Previews design `D` as the command line asks: every sample to HTML, and PNG on request.
///
/// # Errors
/// A render that fails, a file that cannot be written, a screenshot that Chromium refuses.
pub fn run<D: Guest>() -> Result<(), String> {
    let info = D::describe();
    let Some(options) = Options::parse(&info.name, env::args().skip(1))? else {
        return Ok(());
    };
    let image = sample_image(options.image.as_deref())?;
    fs::create_dir_all(&options.out_dir)
        .map_err(|e| format!("create {}: {e}", options.out_dir.display()))?;
    for (name, input) in samples::all(Some(&image)) {
        let html = render::<D>(name, input)?;
        let html_path = options.out_dir.join(format!("{name}.html"));
        fs::write(&html_path, &html.text)
            .map_err(|e| format!("write {}: {e}", html_path.display()))?;
        println!(
            "{name:>16}: {:>6} bytes of HTML without the image -> {}",
            html.without_image,
            html_path.display()
        );
        if options.screenshot {
            capture_sized(&html_path, &html_path.with_extension("png"), info.size)?;
        }
    }
    Ok(())
}

/// A rendered sample and its size without the embedded image.
struct Rendered {
    text: String,
    without_image: usize,
}

fn render<D: Guest>(name: &str, input: CardInput) -> Result<Rendered, String> {
    let image_len = input.image_data_uri.as_ref().map_or(0, String::len);
    let text = D::render(input).map_err(|e| format!("{name}: render failed: {e:?}"))?;
    // An image the design dropped (unsafe URI) does not count against it.
    let without_image = if text.contains("data:image/") {
        text.len().saturating_sub(image_len)
    } else {
        text.len()
    };
    Ok(Rendered {
        text,
        without_image,
    })
}

/// The listing image as a `data:` URI: `path`, else the data set's first picture, else a
/// generated gradient, so a preview never needs the network.
///
/// # Errors
/// `path` cannot be read.
pub fn sample_image(path: Option<&Path>) -> Result<String, String> {
    if let Some(path) = path.map(Path::to_path_buf).or_else(default_image) {
        let bytes = fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        eprintln!("image: {}", path.display());
        Ok(data_uri(media_type(&path), &bytes))
    } else {
        eprintln!("image: generated gradient PNG (no file in service/data/images)");
        Ok(data_uri("image/png", &gradient_png(600, 600)))
    }
}

/// The first listing image the sample data set ships, if any.
fn default_image() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../service/data/images");
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("png" | "jpg" | "jpeg" | "webp" | "gif")
            )
        })
        .collect();
    files.sort();
    files.into_iter().next()
}

fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "image/png",
    }
}

/// Screenshots every `*.html` in `dir` to a `.png` beside it.
///
/// # Errors
/// `dir` cannot be read, or a capture fails.
pub fn capture_dir(dir: &Path) -> Result<usize, String> {
    let mut pages: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "html"))
        .collect();
    pages.sort();
    for page in &pages {
        capture(page, &page.with_extension("png"))?;
    }
    Ok(pages.len())
}

/// Screenshots `html` into `png` at the Open Graph card size, as the service captures cards.
///
/// # Errors
/// Chromium cannot be started or fails.
pub fn capture(html: &Path, png: &Path) -> Result<(), String> {
    capture_sized(html, png, OG_CARD_SIZE)
}

/// Paints a CSS `background` value over `width`×`height` CSS pixels at `scale` into `png`
/// (`ceil(width × scale)` × `ceil(height × scale)` pixels): the pre-rendered background a design
/// ships instead of gradients Chromium would raster on every card (see the `classic` design).
/// `zoom` scales every length of the value, so the image is the same painting, smaller.
///
/// # Errors
/// Chromium cannot be started or fails, or the value could end the attribute it is written in.
pub fn paint(
    background: &str,
    width: u32,
    height: u32,
    scale: f64,
    png: &Path,
) -> Result<(), String> {
    if background.contains(['"', '<', '>']) {
        return Err("the CSS value may not contain `\"`, `<` or `>`".into());
    }
    if !(scale > 0.0 && scale <= 1.0) {
        return Err(format!("scale {scale}: want 0 < scale <= 1"));
    }
    let html = env::temp_dir().join(format!("card-preview-paint-{}.html", std::process::id()));
    fs::write(
        &html,
        format!(
            "<!doctype html><html><body style=\"margin:0\"><div style=\"zoom:{scale};\
             width:{width}px;height:{height}px;background:{background}\"></div></body></html>"
        ),
    )
    .map_err(|e| format!("write {}: {e}", html.display()))?;
    // In range: 0 < scale <= 1, so the product is positive and at most `n`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let scaled = |n: u32| (f64::from(n) * scale).ceil() as u32;
    let size = CardSize {
        width: scaled(width),
        height: scaled(height),
    };
    let result = capture_sized(&html, png, size);
    let _ = fs::remove_file(&html);
    result
}

/// Screenshots `html` into `png` at `size`.
///
/// JavaScript stays on here because Chromium's `--screenshot` mode writes nothing under
/// `--blink-settings=scriptEnabled=false`; the cards contain no script (listing text is
/// escaped), and the service turns JavaScript off itself.
///
/// # Errors
/// Chromium cannot be started or fails.
fn capture_sized(html: &Path, png: &Path, size: CardSize) -> Result<(), String> {
    let chromium = env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let html = fs::canonicalize(html).map_err(|e| format!("{}: {e}", html.display()))?;
    // A private profile: with the default one, a Chromium already running on this machine
    // takes the request over and this process exits 0 without writing a screenshot.
    let profile = env::temp_dir().join(format!("card-preview-chromium-{}", std::process::id()));
    let output = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
        ])
        .arg(format!("--window-size={},{}", size.width, size.height))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| format!("run {chromium}: {e}"))?;
    // Best effort: a leftover profile in the temp dir is harmless.
    let _ = fs::remove_dir_all(&profile);
    if !output.status.success() || !png.is_file() {
        return Err(format!(
            "{chromium} wrote no {}: {}",
            png.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    println!("{:>16}  screenshot -> {}", "", png.display());
    Ok(())
}

/// A soft two-colour gradient as an uncompressed RGB PNG (stored deflate blocks), so the
/// preview needs no image crate when the data set has no pictures.
// Every cast is in range by construction: channel values stay below 256, stored blocks are
// at most 65,535 bytes, and a preview-sized image's chunks are far below 4 GiB.
#[allow(clippy::cast_possible_truncation)]
fn gradient_png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let t = (x + y) * 255 / (width + height);
            raw.extend([
                (226 - t / 6) as u8,
                (232 - t / 5) as u8,
                (240 - t / 8) as u8,
            ]);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend(((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend((data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        let crc = crc32(&png[start..]);
        png.extend(crc.to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_a_per_design_directory() {
        let options = Options::parse("spotlight", []).unwrap().unwrap();
        assert_eq!(options.out_dir, Path::new("/tmp/card-preview/spotlight"));
        assert!(!options.screenshot);
        let options = Options::parse(
            "spotlight",
            ["out", "--screenshot", "--image", "a.png"].map(String::from),
        )
        .unwrap()
        .unwrap();
        assert_eq!(options.out_dir, Path::new("out"));
        assert_eq!(options.image.as_deref(), Some(Path::new("a.png")));
        assert!(options.screenshot);
        assert!(Options::parse("x", ["--image".to_owned()]).is_err());
    }

    #[test]
    fn the_gradient_is_a_png_the_sdk_accepts() {
        let uri = data_uri("image/png", &gradient_png(8, 8));
        assert!(card_sdk::safe_image_data_uri(&uri).is_some());
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}

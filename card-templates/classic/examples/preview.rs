//! Writes the `classic` card for every sample input as HTML (and optionally PNG) for eyeballing.
//!
//! ```text
//! cargo run --manifest-path card-templates/Cargo.toml -p card-design-classic --example preview -- \
//!     [OUT_DIR] [--image FILE] [--screenshot]
//! ```
//!
//! - `OUT_DIR` (default `/tmp/card-preview/classic`) receives `{sample}.html`.
//! - `--image FILE` embeds that PNG/JPEG/WebP/GIF as the listing image; by default the first
//!   image in `service/data/images/` is used, else a generated gradient PNG.
//! - `--screenshot` also captures `{sample}.png` with headless Chromium at 1200×630 with
//!   JavaScript off, like the service (`$CHROMIUM` or `/usr/bin/chromium`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use card_design_classic::Classic;
use card_sdk::{Guest, samples};

fn main() -> Result<(), String> {
    let mut out_dir = PathBuf::from("/tmp/card-preview/classic");
    let mut image_path: Option<PathBuf> = None;
    let mut screenshot = false;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--image" => image_path = Some(args.next().ok_or("--image needs a file")?.into()),
            "--screenshot" => screenshot = true,
            "-h" | "--help" => {
                println!("usage: preview [OUT_DIR] [--image FILE] [--screenshot]");
                return Ok(());
            }
            _ => out_dir = PathBuf::from(arg),
        }
    }

    let image = match image_path.or_else(default_image) {
        Some(path) => {
            let bytes = fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
            println!("image: {}", path.display());
            data_uri(media_type(&path), &bytes)
        }
        None => {
            println!("image: generated gradient PNG (no file in service/data/images)");
            data_uri("image/png", &gradient_png(600, 600))
        }
    };

    fs::create_dir_all(&out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    for (name, input) in samples::all(Some(&image)) {
        let image_len = input.image_data_uri.as_ref().map_or(0, String::len);
        let html = Classic::render(input).map_err(|e| format!("{name}: render failed: {e:?}"))?;
        let html_path = out_dir.join(format!("{name}.html"));
        fs::write(&html_path, &html).map_err(|e| format!("write {}: {e}", html_path.display()))?;
        println!(
            "{name:>16}: {:>6} bytes of HTML without the image -> {}",
            html.len() - image_len.min(html.len()),
            html_path.display()
        );
        if screenshot {
            capture(&html_path, &html_path.with_extension("png"))?;
        }
    }
    Ok(())
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

/// Screenshots `html` into `png` the way the service captures cards.
fn capture(html: &Path, png: &Path) -> Result<(), String> {
    let chromium = env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let html = fs::canonicalize(html).map_err(|e| format!("{}: {e}", html.display()))?;
    // A private profile: with the default one, a Chromium already running on this machine
    // takes the request over and this process exits 0 without writing a screenshot.
    let profile = env::temp_dir().join(format!("card-preview-chromium-{}", std::process::id()));
    let status = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--blink-settings=scriptEnabled=false",
            "--window-size=1200,630",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| format!("run {chromium}: {e}"))?;
    // Best effort: a leftover profile in the temp dir is harmless.
    let _ = fs::remove_dir_all(&profile);
    if !status.status.success() {
        return Err(format!(
            "{chromium} failed: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    println!("{:>16}  screenshot -> {}", "", png.display());
    Ok(())
}

fn data_uri(media_type: &str, bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!("data:{media_type};base64,");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A soft two-colour gradient as an uncompressed RGB PNG (stored deflate blocks), so the
/// preview needs no image crate when the data set has no pictures yet.
fn gradient_png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let t = (x + y) * 255 / (width + height);
            raw.extend([(226 - t / 6) as u8, (232 - t / 5) as u8, (240 - t / 8) as u8]);
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
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

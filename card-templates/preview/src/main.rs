//! `card-preview`: the sample inputs as JSON and Chromium screenshots, for designs not written in Rust.
//!
//! ```text
//! card-preview samples-json [--image FILE]   # the SDK's samples, jco-shaped JSON on stdout
//! card-preview capture DIR                   # DIR/*.html → DIR/*.png at 1200×630
//! card-preview paint CSS WIDTHxHEIGHT SCALE OUT.png   # a pre-rendered background
//! ```
//!
//! `cargo xtask templates build` runs each JavaScript design over `samples-json` and leaves its
//! HTML in `target/card-preview/NAME/` for `capture`; Rust designs use `card_preview::run` instead.

use std::env;
use std::path::Path;

fn main() -> Result<(), String> {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["samples-json"] => {
            print!(
                "{}",
                card_preview::samples_json(Some(&card_preview::sample_image(None)?))
            );
            Ok(())
        }
        ["samples-json", "--image", file] => {
            let image = card_preview::sample_image(Some(Path::new(file)))?;
            print!("{}", card_preview::samples_json(Some(&image)));
            Ok(())
        }
        ["capture", dir] => {
            let count = card_preview::capture_dir(Path::new(dir))?;
            eprintln!("captured {count} page(s) in {dir}");
            Ok(())
        }
        ["paint", background, size, scale, out] => {
            let (width, height) = size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .ok_or_else(|| format!("size {size:?}: want WIDTHxHEIGHT, e.g. 1200x630"))?;
            let scale: f64 = scale
                .parse()
                .map_err(|_| format!("scale {scale:?}: want a number, e.g. 0.25"))?;
            card_preview::paint(background, width, height, scale, Path::new(out))
        }
        _ => Err(
            "usage: card-preview samples-json [--image FILE] | capture DIR | paint CSS-BACKGROUND WIDTHxHEIGHT SCALE OUT.png"
                .into(),
        ),
    }
}

//! `cargo xtask test-playwright`: Chromium renders cards here, through the service's own code.
//!
//! Checks the pieces first (Chromium, Node.js, the Playwright driver at the version playwright-rs
//! speaks, fonts) and fails naming the one that is missing. Then launches Chromium through
//! `card_service::BrowserPool` with the service's settings, renders the default
//! design through the template registry (when it is built) and a built-in check card, decodes the
//! PNGs and checks their size and pixels: the check card's colour block, that its text drew, and
//! that its emoji is in colour (a colour emoji font is in use). Reports versions and times.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use card_service::settings::Settings;
use card_service::{BrowserError, BrowserPool, DesignRegistry, ImageFormat, smoke_input};

use crate::{checks, util};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 630;
/// The check card's colour block, left of everything else.
const BLOCK_RGB: [u8; 3] = [0x1E, 0x6F, 0xFF];

/// A card that needs Latin, CJK and emoji fonts, with a solid block of a known colour.
const CHECK_CARD: &str = r#"<!doctype html><html><head><meta charset="utf-8"><style>
html,body{margin:0;width:1200px;height:630px;background:#fff;overflow:hidden}
#block{position:absolute;left:0;top:0;width:200px;height:630px;background:#1E6FFF}
#text{position:absolute;left:260px;top:120px;width:480px;height:200px;font:700 88px/1 "DejaVu Sans","Noto Sans CJK JP",sans-serif;color:#000}
#emoji{position:absolute;left:820px;top:120px;width:220px;height:220px;font:160px/1 "Noto Color Emoji"}
#caption{position:absolute;left:260px;top:420px;font:32px "DejaVu Sans",sans-serif;color:#333}
</style></head><body><div id="block"></div><div id="text">Ag 漢字</div><div id="emoji">🔥</div>
<div id="caption">cargo xtask test-playwright</div></body></html>"#;

#[derive(Debug, clap::Args)]
pub struct TestPlaywright {}

impl TestPlaywright {
    pub async fn run(self) -> Result<()> {
        let started = Instant::now();
        let settings = util::load_settings()?;
        util::step("checking Chromium, Node.js, the Playwright driver and fonts");
        let (node, node_path) = checks::node();
        let (driver, cli_js) = checks::driver();
        let versions = [&node, &driver].map(|check| check.to_string());
        let found = [
            checks::chromium(&settings.playwright),
            node,
            driver,
            checks::fonts(),
        ];
        for check in &found {
            eprintln!("    {check}");
        }
        let missing: Vec<String> = found
            .iter()
            .filter(|c| c.is_failure())
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            bail!("test-playwright: missing {}", missing.join("; "));
        }
        if let (Some(node), Some(cli_js)) = (node_path, cli_js) {
            use_driver(&node, &cli_js);
        }

        let mut playwright = settings.playwright.clone();
        (
            playwright.max_concurrent_browsers,
            playwright.pages_per_browser,
        ) = (1, 1);
        let deadline = Duration::from_millis(playwright.browser_timeout_ms);
        let pool = BrowserPool::new(playwright);
        let result = render_and_check(&pool, &settings, deadline).await;
        pool.shutdown().await;
        let report = result?;

        eprintln!("    versions:");
        eprintln!("      Chromium {} (from the browser)", report.chromium);
        for line in versions {
            eprintln!("      {line}");
        }
        eprintln!(
            "      playwright-rs speaks playwright-core {}",
            playwright_rs::PLAYWRIGHT_VERSION
        );
        println!(
            "test-playwright: Chromium {} renders cards; launch {} ms, {} render {} ms, check card {} ms ({})",
            report.chromium,
            report.launch.as_millis(),
            report.design,
            report.design_render.as_millis(),
            report.check_render.as_millis(),
            util::human_duration(started.elapsed())
        );
        Ok(())
    }
}

/// What the renders measured.
struct Report {
    chromium: String,
    launch: Duration,
    design: String,
    design_render: Duration,
    check_render: Duration,
}

async fn render_and_check(
    pool: &BrowserPool,
    settings: &Settings,
    deadline: Duration,
) -> Result<Report> {
    util::step("launching Chromium through card_service's BrowserPool");
    let started = Instant::now();
    pool.warm_up().await.map_err(|err| match err {
        BrowserError::Driver(message) => anyhow::anyhow!(
            "the Playwright driver did not start: {message} (fix: check PLAYWRIGHT_NODE_EXE and \
             PLAYWRIGHT_CLI_JS; `cargo xtask doctor` shows both)"
        ),
        BrowserError::Launch { path, message } => anyhow::anyhow!(
            "Chromium at {path} did not launch: {message} (fix: run `{path} --headless \
             --no-sandbox --dump-dom about:blank` to see why; `cargo xtask doctor` checks the rest)"
        ),
        other => anyhow::anyhow!("the browser failed: {other}"),
    })?;
    let launch = started.elapsed();
    let chromium = pool.version().unwrap_or_else(|| "(unknown version)".into());
    eprintln!(
        "    launched Chromium {chromium} in {} ms",
        launch.as_millis()
    );
    let out_dir = util::state_dir().join("test-playwright");
    fs::create_dir_all(&out_dir)?;

    let (design, design_render) = match design_html(settings)? {
        Some((name, design, html)) => {
            util::step(format_args!("rendering the `{design}` design"));
            let (png, took) = capture(pool, &html, deadline).await?;
            let image = Image::decode(&png).context("the design's PNG does not decode")?;
            image.check_size()?;
            ensure!(
                !image.is_blank(),
                "the `{design}` card is blank: one colour covers it all"
            );
            if name == "classic" {
                image.check_pixel(8, HEIGHT / 2, card_e2e::CLASSIC_BRAND_BAR, "the brand bar")?;
            }
            let path = save(&out_dir, &design, &png)?;
            eprintln!(
                "    ok: {}×{} PNG, {}, in {} ms ({})",
                image.width,
                image.height,
                util::human_size(png.len() as u64),
                took.as_millis(),
                path.display()
            );
            (design, took)
        }
        None => ("(no design built)".to_string(), Duration::ZERO),
    };

    util::step("rendering the check card (colour block, Latin + CJK text, colour emoji)");
    let (png, check_render) = capture(pool, CHECK_CARD, deadline).await?;
    let image = Image::decode(&png).context("the check card's PNG does not decode")?;
    image.check_size()?;
    image.check_pixel(100, HEIGHT / 2, BLOCK_RGB, "the colour block")?;
    let text = image.count(260..740, 120..320, |[r, g, b]| {
        u32::from(r) + u32::from(g) + u32::from(b) < 200
    });
    ensure!(
        text > 2_000,
        "the text drew only {text} dark pixels: fonts are not rendering (fix: apt-get install -y \
         fonts-dejavu-core fonts-noto-cjk)"
    );
    let colourful = image.count(820..1040, 120..340, |[r, g, b]| {
        r.max(g).max(b) - r.min(g).min(b) > 80
    });
    ensure!(
        colourful > 500,
        "the emoji drew only {colourful} coloured pixels: no colour emoji font (fix: apt-get \
         install -y fonts-noto-color-emoji)"
    );
    let path = save(&out_dir, "check-card", &png)?;
    eprintln!(
        "    ok: colour block, {text} text pixels, {colourful} colour emoji pixels, in {} ms ({})",
        check_render.as_millis(),
        path.display()
    );
    Ok(Report {
        chromium,
        launch,
        design,
        design_render,
        check_render,
    })
}

/// The default design's HTML for the reference listing, through the service's template registry;
/// `None` (said so) when the design is not built.
/// Returns the design's name, its `name@version` label and the HTML.
fn design_html(settings: &Settings) -> Result<Option<(String, String, String)>> {
    let templates = &settings.templates;
    let name = templates.default.clone();
    let path = templates.dir.join(format!("{name}.wasm"));
    if !path.is_file() {
        eprintln!(
            "    note: {} is not built (`cargo xtask templates build`); rendering the check card only",
            path.display()
        );
        return Ok(None);
    }
    let registry = DesignRegistry::new(templates.clone())
        .map_err(|e| anyhow::anyhow!("the template engine does not start: {e}"))?;
    let template = registry
        .load_file(&name, &path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let html = registry
        .render(&template, &smoke_input())
        .map_err(|e| anyhow::anyhow!("the `{name}` design failed to render: {e}"))?;
    Ok(Some((name, template.label(), html)))
}

async fn capture(
    pool: &BrowserPool,
    html: &str,
    deadline: Duration,
) -> Result<(Vec<u8>, Duration)> {
    let started = Instant::now();
    let png = pool
        .capture(html, ImageFormat::Png, 85, deadline)
        .await
        .context("the capture failed")?
        .bytes;
    Ok((png, started.elapsed()))
}

fn save(dir: &Path, name: &str, png: &[u8]) -> Result<PathBuf> {
    let path = dir.join(format!("{}.png", name.replace(['@', '/'], "-")));
    fs::write(&path, png).with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}

/// Points playwright-rs at the driver the checks found, when the environment does not already.
pub(crate) fn use_driver(node: &Path, cli_js: &Path) {
    for (name, value) in [("PLAYWRIGHT_NODE_EXE", node), ("PLAYWRIGHT_CLI_JS", cli_js)] {
        if util::env_nonempty(name).is_none() {
            eprintln!("    note: {name} is unset; using {}", value.display());
            // SAFETY: nothing else runs yet: no thread of ours reads the environment while the
            // command is still checking prerequisites, and the driver is started after this.
            unsafe { std::env::set_var(name, value) };
        }
    }
}

/// A decoded capture as 8-bit RGB.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(png: &[u8]) -> Result<Image> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size().context("PNG too large")?];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        ensure!(
            channels >= 3,
            "a {:?} PNG, expected colour",
            info.color_type
        );
        let rgb = buf[..info.buffer_size()]
            .chunks_exact(channels)
            .flat_map(|px| [px[0], px[1], px[2]])
            .collect();
        Ok(Image {
            width: info.width,
            height: info.height,
            rgb,
        })
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn check_size(&self) -> Result<()> {
        ensure!(
            (self.width, self.height) == (WIDTH, HEIGHT),
            "the capture is {}×{}, expected {WIDTH}×{HEIGHT}",
            self.width,
            self.height
        );
        Ok(())
    }

    fn check_pixel(&self, x: u32, y: u32, want: [u8; 3], what: &str) -> Result<()> {
        let got = self.pixel(x, y);
        let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 3);
        ensure!(
            close,
            "{what} at ({x}, {y}) is #{:02X}{:02X}{:02X}, expected #{:02X}{:02X}{:02X}",
            got[0],
            got[1],
            got[2],
            want[0],
            want[1],
            want[2]
        );
        Ok(())
    }

    /// Pixels in the rectangle for which `test` holds.
    fn count(
        &self,
        xs: std::ops::Range<u32>,
        ys: std::ops::Range<u32>,
        test: impl Fn([u8; 3]) -> bool,
    ) -> usize {
        ys.flat_map(|y| xs.clone().map(move |x| (x, y)))
            .filter(|&(x, y)| test(self.pixel(x, y)))
            .count()
    }

    /// One colour covers more than 99% of the image.
    fn is_blank(&self) -> bool {
        let first = self.pixel(0, 0);
        let same = self.rgb.chunks_exact(3).filter(|px| **px == first).count();
        same * 100 > (self.width * self.height) as usize * 99
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(rgb).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn pixels_are_read_where_they_were_drawn() {
        let mut rgb = vec![255; 4 * 2 * 3];
        rgb[(4 + 2) * 3..(4 + 2) * 3 + 3].copy_from_slice(&BLOCK_RGB);
        let image = Image::decode(&png(4, 2, &rgb)).unwrap();
        assert!(image.check_pixel(2, 1, BLOCK_RGB, "block").is_ok());
        let err = image.check_pixel(0, 0, BLOCK_RGB, "block").unwrap_err();
        assert_eq!(
            err.to_string(),
            "block at (0, 0) is #FFFFFF, expected #1E6FFF"
        );
        assert_eq!(image.count(0..4, 0..2, |px| px == BLOCK_RGB), 1);
        assert!(image.check_size().is_err());
        assert!(!image.is_blank());
        assert!(Image::decode(&png(2, 1, &[9; 6])).unwrap().is_blank());
    }
}

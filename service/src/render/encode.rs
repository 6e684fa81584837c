//! The `encode` step: Chromium's fast PNG re-encoded in Rust, smaller, off the browser's critical path.
//!
//! Chromium's PNG encoder is either slow (zlib 6 with adaptive filters: ≈ 300 ms a card) or, with
//! `optimizeForSpeed`, big (zlib 1, no filters: ≈ 540–800 KB). So the page captures fast, goes back
//! to the pool for the next card, and the pixels are recompressed here on the blocking pool at
//! most one encode per core at a time. docs/performance.md has the measurements behind
//! [`ZLIB_LEVEL`] and [`FILTER`].

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

/// zlib level of the re-encode (zlib-rs). On the sample cards (Chromium's fast PNG 540–590 KB):
/// level 1 → 480–540 KB in ≈ 6 ms, 2 → 340–410 KB in ≈ 10 ms, 3 → 280–340 KB in ≈ 18 ms, plus
/// ≈ 7 ms to decode; level 2 is the smallest that keeps every card under 500 KB.
pub const ZLIB_LEVEL: u8 = 2;
/// Row filter. Cards are mostly flat colour, gradients and text, which deflate finds as long runs
/// without a filter; at level 2 `Sub` came out 2–4 % bigger, `Adaptive` 17–20 % bigger and
/// slower, `Up` and `Paeth` worse still (docs/performance.md).
pub const FILTER: png::Filter = png::Filter::NoFilter;
/// Captures larger than this are not decoded (a 1200×630 card is ≈ 2.3 MB of raw RGB).
const MAX_DECODED_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("decode the capture: {0}")]
    Decode(#[from] png::DecodingError),
    #[error("encode: {0}")]
    Encode(#[from] png::EncodingError),
    #[error("unsupported capture: {0}")]
    Unsupported(String),
}

/// Bounds re-encodes to the cores, so a burst of captures queues here instead of starving the
/// Tokio workers' cores with a pile of blocking threads.
#[derive(Clone)]
pub struct Encoder {
    slots: Arc<Semaphore>,
}

impl Default for Encoder {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            slots: Arc::new(Semaphore::new(cores)),
        }
    }
}

impl Encoder {
    /// Recompresses a PNG capture. A failure keeps Chromium's bytes (a valid, bigger PNG) and is
    /// logged: the encode is an optimisation, never a reason to fail a render.
    /// Errs only when the blocking task itself is lost.
    pub async fn png(&self, capture: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
        let Ok(_slot) = self.slots.clone().acquire_owned().await else {
            return Ok(capture);
        };
        let started = Instant::now();
        let joined = tokio::task::spawn_blocking(move || {
            // A panic in the codec must not lose the capture: it is a valid PNG already.
            let result = std::panic::catch_unwind(|| recompress_png(&capture))
                .unwrap_or_else(|_| Err(EncodeError::Unsupported("the encoder panicked".into())));
            (capture, result)
        })
        .await;
        match joined {
            Ok((_, Ok(smaller))) => {
                tracing::trace!(
                    bytes = smaller.len(),
                    elapsed_us = started.elapsed().as_micros() as u64,
                    "render.encode"
                );
                Ok(smaller)
            }
            Ok((capture, Err(e))) => {
                tracing::warn!(error = %e, "png re-encode failed; serving Chromium's encoding");
                Ok(capture)
            }
            // Blocking tasks are never cancelled and the closure catches panics.
            Err(e) => Err(EncodeError::Unsupported(format!("encode task lost: {e}"))),
        }
    }
}

/// Decodes a PNG and encodes its pixels again at [`ZLIB_LEVEL`] with [`FILTER`]; an opaque RGBA
/// image loses its alpha channel (a quarter of the bytes to compress).
pub fn recompress_png(capture: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(capture),
        png::Limits {
            bytes: MAX_DECODED_BYTES,
        },
    );
    decoder.set_transformations(png::Transformations::IDENTITY);
    // Our own Chromium's bytes over a local pipe: the checksums cost ≈ 3 ms and guard nothing.
    decoder.ignore_checksums(true);
    let mut reader = decoder.read_info()?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| EncodeError::Unsupported("too large".into()))?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels)?;
    pixels.truncate(info.buffer_size());
    if info.bit_depth != png::BitDepth::Eight {
        return Err(EncodeError::Unsupported(format!(
            "bit depth {:?}",
            info.bit_depth
        )));
    }
    let color = match info.color_type {
        png::ColorType::Rgba if pixels.chunks_exact(4).all(|px| px[3] == 255) => {
            pixels = pixels
                .chunks_exact(4)
                .flat_map(|px| [px[0], px[1], px[2]])
                .collect();
            png::ColorType::Rgb
        }
        png::ColorType::Rgb | png::ColorType::Rgba => info.color_type,
        other => return Err(EncodeError::Unsupported(format!("colour type {other:?}"))),
    };
    let mut out = Vec::with_capacity(capture.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, info.width, info.height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::Level(ZLIB_LEVEL));
    encoder.set_filter(FILTER);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_deflate_compression(png::DeflateCompression::NoCompression);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(pixels).unwrap();
        writer.finish().unwrap();
        out
    }

    fn decode(bytes: &[u8]) -> (png::ColorType, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.color_type, buf)
    }

    #[test]
    fn pixels_survive_and_an_opaque_alpha_channel_is_dropped() {
        let rgba: Vec<u8> = (0..64u32 * 32)
            .flat_map(|i| [(i % 251) as u8, (i / 64) as u8, 7, 255])
            .collect();
        let smaller = recompress_png(&png(64, 32, png::ColorType::Rgba, &rgba)).unwrap();
        let (color, pixels) = decode(&smaller);
        assert_eq!(color, png::ColorType::Rgb);
        let rgb: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        assert_eq!(pixels, rgb);
    }

    #[test]
    fn translucent_pixels_keep_their_alpha() {
        let rgba = [10, 20, 30, 128, 40, 50, 60, 255];
        let (color, pixels) =
            decode(&recompress_png(&png(2, 1, png::ColorType::Rgba, &rgba)).unwrap());
        assert_eq!(color, png::ColorType::Rgba);
        assert_eq!(pixels, rgba);
    }

    #[test]
    fn garbage_is_an_error_and_the_encoder_keeps_the_original() {
        assert!(recompress_png(b"not a png").is_err());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let kept = runtime
            .block_on(Encoder::default().png(b"not a png".to_vec()))
            .unwrap();
        assert_eq!(kept, b"not a png");
    }
}

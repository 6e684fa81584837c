//! The `encode` step: Chromium's fast PNG capture encoded again in Rust, off the browser's
//! critical path: as a smaller PNG, or as WebP.
//!
//! Chromium's PNG encoder is either slow (zlib 6 with adaptive filters: ≈ 300 ms a card) or, with
//! `optimizeForSpeed`, big (zlib 1, no filters). Its WebP encoder (libwebp at method 4) costs
//! ≈ 48 ms of the browser process a card, more than the rest of the card together. So the page
//! captures a fast PNG, goes back to the pool for the next card, and the pixels are encoded here
//! on the blocking pool, at most one encode per core at a time. docs/performance.md has the
//! measurements behind [`ZLIB_LEVEL`], [`FILTER`] and [`WEBP_METHOD`].

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

/// zlib level of the re-encode (zlib-rs): the level past which each step costs more CPU than the
/// bytes it saves are worth to store, send and hold in memory ("PNG: size against speed" in
/// docs/performance.md has the table).
pub(crate) const ZLIB_LEVEL: u8 = 4;
/// Row filter. Cards are mostly flat colour, gradients and text, which deflate finds as long runs
/// without a filter; every filter measured came out bigger and slower (docs/performance.md).
pub(crate) const FILTER: png::Filter = png::Filter::NoFilter;
/// libwebp's speed/size knob (0 fastest … 6 smallest): the fastest, since a cold WebP is
/// CPU-bound and the slower methods save a few KB for several times the time ("WebP: libwebp in
/// the service" in docs/performance.md).
pub(crate) const WEBP_METHOD: i32 = 0;
/// Captures larger than this are not decoded (a card is a few MB of raw RGB).
const MAX_DECODED_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error("decode the capture: {0}")]
    Decode(#[from] png::DecodingError),
    #[error("encode: {0}")]
    Encode(#[from] png::EncodingError),
    #[error("webp encode: {0}")]
    Webp(String),
    #[error("unsupported capture: {0}")]
    Unsupported(String),
    /// The render's deadline passed before the encode finished (or could start).
    #[error("the render's deadline passed before the encode finished")]
    Deadline,
}

/// Bounds re-encodes to the cores, so a burst of captures queues here instead of starving the
/// Tokio workers' cores with a pile of blocking threads.
#[derive(Clone)]
pub(crate) struct Encoder {
    slots: Arc<Semaphore>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::with_slots(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

impl Encoder {
    /// An encoder that runs at most `slots` encodes at a time (the default: one per core).
    pub(crate) fn with_slots(slots: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }

    /// Recompresses a PNG capture. A failure keeps Chromium's bytes (a valid, bigger PNG) and is
    /// logged: the encode is an optimisation, never a reason to fail a render. So does a capture
    /// still waiting for a slot at `deadline`: it is served as Chromium encoded it.
    /// Errs only when the blocking task itself is lost.
    pub(crate) async fn png(
        &self,
        capture: Vec<u8>,
        deadline: Instant,
    ) -> Result<Vec<u8>, EncodeError> {
        match self.run(capture, deadline, recompress_png).await? {
            (_, Ok(smaller)) => Ok(smaller),
            (capture, Err(e)) => {
                tracing::warn!(error = %e, "png re-encode skipped; serving Chromium's encoding");
                Ok(capture)
            }
        }
    }

    /// Encodes a PNG capture as lossy WebP at `quality` (1–100). There is no WebP to fall back
    /// to, so a failure is an error, and so is a capture still waiting for a slot at `deadline`
    /// ([`EncodeError::Deadline`]).
    pub(crate) async fn webp(
        &self,
        capture: Vec<u8>,
        quality: u8,
        deadline: Instant,
    ) -> Result<Vec<u8>, EncodeError> {
        self.run(capture, deadline, move |png| png_to_webp(png, quality))
            .await?
            .1
    }

    /// Runs `encode` over `capture` on the blocking pool in one of the cores' slots; gives the
    /// capture back with the result. A capture that has no slot by `deadline` is not encoded
    /// (`Err(Deadline)` beside it); one that has started runs to the end, so a render overruns its
    /// deadline by at most one encode (≈ 10–12 ms), and the slot stays taken until the encode is
    /// done. Errs only when the blocking task itself is lost.
    async fn run(
        &self,
        capture: Vec<u8>,
        deadline: Instant,
        encode: impl FnOnce(&[u8]) -> Result<Vec<u8>, EncodeError> + Send + 'static,
    ) -> Result<(Vec<u8>, Result<Vec<u8>, EncodeError>), EncodeError> {
        let waited =
            tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned()).await;
        let slot = match waited {
            Ok(Ok(slot)) if Instant::now() < deadline => slot,
            Ok(Ok(_)) | Err(_) => return Ok((capture, Err(EncodeError::Deadline))),
            Ok(Err(_)) => {
                let result = Err(EncodeError::Unsupported("the encoder is closed".into()));
                return Ok((capture, result));
            }
        };
        let started = Instant::now();
        let joined = tokio::task::spawn_blocking(move || {
            // Held here, not by the awaiting future: the slot is the core this encode is using.
            let _slot = slot;
            // A panic in a codec must not lose the capture.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode(&capture)))
                    .unwrap_or_else(|_| {
                        Err(EncodeError::Unsupported("the encoder panicked".into()))
                    });
            (capture, result)
        })
        .await;
        match joined {
            Ok((capture, result)) => {
                tracing::trace!(
                    bytes = result.as_ref().map_or(0, Vec::len),
                    elapsed_us = started.elapsed().as_micros() as u64,
                    "render.encode"
                );
                Ok((capture, result))
            }
            // Blocking tasks are never cancelled and the closure catches panics.
            Err(e) => Err(EncodeError::Unsupported(format!("encode task lost: {e}"))),
        }
    }
}

/// A capture's pixels: 8-bit RGB, or RGBA when some pixel is not opaque.
pub(crate) struct Pixels {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) color: png::ColorType,
    pub(crate) data: Vec<u8>,
}

/// Decodes a PNG capture; an opaque RGBA image loses its alpha channel (a quarter of the bytes).
pub(crate) fn decode_png(capture: &[u8]) -> Result<Pixels, EncodeError> {
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
    let mut data = vec![0; size];
    let info = reader.next_frame(&mut data)?;
    data.truncate(info.buffer_size());
    if info.bit_depth != png::BitDepth::Eight {
        return Err(EncodeError::Unsupported(format!(
            "bit depth {:?}",
            info.bit_depth
        )));
    }
    let color = match info.color_type {
        png::ColorType::Rgba if data.chunks_exact(4).all(|px| px[3] == 255) => {
            data = data
                .chunks_exact(4)
                .flat_map(|px| [px[0], px[1], px[2]])
                .collect();
            png::ColorType::Rgb
        }
        png::ColorType::Rgb | png::ColorType::Rgba => info.color_type,
        other => return Err(EncodeError::Unsupported(format!("colour type {other:?}"))),
    };
    Ok(Pixels {
        width: info.width,
        height: info.height,
        color,
        data,
    })
}

/// Decodes a PNG and encodes its pixels again at [`ZLIB_LEVEL`] with [`FILTER`].
pub(crate) fn recompress_png(capture: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let pixels = decode_png(capture)?;
    let mut out = Vec::with_capacity(capture.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, pixels.width, pixels.height);
    encoder.set_color(pixels.color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::Level(ZLIB_LEVEL));
    encoder.set_filter(FILTER);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels.data)?;
    writer.finish()?;
    Ok(out)
}

/// Decodes a PNG and encodes its pixels as lossy WebP at `quality` with [`WEBP_METHOD`].
pub(crate) fn png_to_webp(capture: &[u8], quality: u8) -> Result<Vec<u8>, EncodeError> {
    encode_webp(&decode_png(capture)?, quality)
}

/// libwebp's advanced API: the simple one (`WebPEncodeRGB`) always uses method 4.
fn encode_webp(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, EncodeError> {
    use libwebp_sys as webp;
    use std::mem::MaybeUninit;

    let fail = |what: &str| EncodeError::Webp(what.to_string());
    let too_big = |_| fail("image too large");
    let width = i32::try_from(pixels.width).map_err(too_big)?;
    let height = i32::try_from(pixels.height).map_err(too_big)?;
    let (channels, import): (i32, unsafe extern "C" fn(_, _, _) -> _) = match pixels.color {
        png::ColorType::Rgb => (3, webp::WebPPictureImportRGB),
        _ => (4, webp::WebPPictureImportRGBA),
    };
    let stride = width
        .checked_mul(channels)
        .ok_or_else(|| fail("image too large"))?;
    let expected = usize::try_from(stride).unwrap_or(usize::MAX) * pixels.height as usize;
    if pixels.data.len() < expected {
        return Err(fail("fewer pixels than the header says"));
    }
    let abi = webp::WEBP_ENCODER_ABI_VERSION as i32;
    // SAFETY: every struct is initialised by libwebp's own init function before use; the
    // picture only reads `pixels.data` (checked above to hold `height` rows of `stride` bytes)
    // during the import, which copies them; the writer outlives the encode and is not moved
    // while the picture points at it; picture and writer are freed on every path.
    unsafe {
        let mut config = MaybeUninit::<webp::WebPConfig>::uninit();
        let preset = webp::WebPPreset::WEBP_PRESET_DEFAULT;
        if webp::WebPConfigInitInternal(config.as_mut_ptr(), preset, f32::from(quality), abi) == 0 {
            return Err(fail("config init (ABI mismatch)"));
        }
        let mut config = config.assume_init();
        config.method = WEBP_METHOD;
        if webp::WebPValidateConfig(&config) == 0 {
            return Err(fail("invalid config"));
        }
        let mut picture = MaybeUninit::<webp::WebPPicture>::uninit();
        if webp::WebPPictureInitInternal(picture.as_mut_ptr(), abi) == 0 {
            return Err(fail("picture init (ABI mismatch)"));
        }
        let mut picture = picture.assume_init();
        picture.width = width;
        picture.height = height;
        if import(&mut picture, pixels.data.as_ptr(), stride) == 0 {
            webp::WebPPictureFree(&mut picture);
            return Err(fail("import: out of memory"));
        }
        let mut writer = MaybeUninit::<webp::WebPMemoryWriter>::uninit();
        webp::WebPMemoryWriterInit(writer.as_mut_ptr());
        let mut writer = writer.assume_init();
        picture.writer = Some(webp::WebPMemoryWrite);
        picture.custom_ptr = (&raw mut writer).cast();
        let encoded = webp::WebPEncode(&config, &mut picture) != 0;
        let error = picture.error_code;
        webp::WebPPictureFree(&mut picture);
        let out = if encoded && !writer.mem.is_null() {
            std::slice::from_raw_parts(writer.mem, writer.size).to_vec()
        } else {
            Vec::new()
        };
        webp::WebPMemoryWriterClear(&mut writer);
        if !encoded {
            return Err(EncodeError::Webp(format!("libwebp: {error:?}")));
        }
        Ok(out)
    }
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

    /// Decodes a WebP with libwebp: (width, height, RGB).
    fn decode_webp(bytes: &[u8]) -> (i32, i32, Vec<u8>) {
        let (mut width, mut height) = (0, 0);
        // SAFETY: libwebp reads `bytes` and returns a buffer of width × height × 3 it allocated,
        // copied out and freed here.
        unsafe {
            let rgb =
                libwebp_sys::WebPDecodeRGB(bytes.as_ptr(), bytes.len(), &mut width, &mut height);
            assert!(!rgb.is_null(), "not a WebP libwebp can decode");
            let out = std::slice::from_raw_parts(rgb, (width * height * 3) as usize).to_vec();
            libwebp_sys::WebPFree(rgb.cast());
            (width, height, out)
        }
    }

    #[test]
    fn a_capture_becomes_a_lossy_webp_of_the_same_picture() {
        // Two flat halves, the kind of picture a card is: lossy, but close to every pixel.
        let (width, height) = (96u32, 40u32);
        let rgba: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                if i % width < width / 2 {
                    [11, 16, 32, 255]
                } else {
                    [255, 106, 19, 255]
                }
            })
            .collect();
        let webp = png_to_webp(&png(width, height, png::ColorType::Rgba, &rgba), 85).unwrap();
        assert_eq!(&webp[..4], b"RIFF");
        assert_eq!(&webp[8..15], b"WEBPVP8", "lossy (VP8), not lossless (VP8L)");
        let (w, h, rgb) = decode_webp(&webp);
        assert_eq!((w as u32, h as u32), (width, height));
        let expected = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]);
        let error: u64 = rgb
            .iter()
            .zip(expected)
            .map(|(a, b)| u64::from(a.abs_diff(b)))
            .sum();
        let mean = error as f64 / rgb.len() as f64;
        assert!(mean < 4.0, "mean error {mean} a channel");
        // Quality is passed through: a lower one makes a smaller file of the same picture.
        let noisy: Vec<u8> = (0..width * height * 3)
            .map(|i| (i * 7919 % 251) as u8)
            .collect();
        let noisy = png(width, height, png::ColorType::Rgb, &noisy);
        assert!(png_to_webp(&noisy, 20).unwrap().len() < png_to_webp(&noisy, 95).unwrap().len());
    }

    #[test]
    fn a_webp_encode_fails_loudly_on_garbage() {
        assert!(png_to_webp(b"not a png", 85).is_err());
        assert!(
            runtime()
                .block_on(Encoder::default().webp(b"not a png".to_vec(), 85, soon()))
                .is_err()
        );
    }

    #[test]
    fn garbage_is_an_error_and_the_encoder_keeps_the_original() {
        assert!(recompress_png(b"not a png").is_err());
        let kept = runtime()
            .block_on(Encoder::default().png(b"not a png".to_vec(), soon()))
            .unwrap();
        assert_eq!(kept, b"not a png");
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(30)
    }

    #[test]
    fn a_capture_still_queued_at_the_deadline_is_not_encoded() {
        let capture = png(8, 8, png::ColorType::Rgb, &[90; 8 * 8 * 3]);
        let runtime = runtime();
        let encoder = Encoder::with_slots(1);
        // Every slot is taken (by an encode that outlives the deadline).
        let busy = runtime
            .block_on(encoder.slots.clone().acquire_owned())
            .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        // WebP has nothing to fall back to: the render times out.
        let webp = runtime.block_on(encoder.webp(capture.clone(), 85, deadline));
        assert!(matches!(webp, Err(EncodeError::Deadline)), "{webp:?}");
        assert!(Instant::now() >= deadline);
        // PNG serves Chromium's capture as it is, at once.
        let kept = runtime
            .block_on(encoder.png(capture.clone(), Instant::now()))
            .unwrap();
        assert_eq!(kept, capture);
        // With the slot free again, the same capture is encoded.
        drop(busy);
        let webp = runtime.block_on(encoder.webp(capture, 85, soon())).unwrap();
        assert_eq!(&webp[..4], b"RIFF");
    }
}

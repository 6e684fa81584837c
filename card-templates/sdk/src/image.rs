//! The check that decides whether an image URI may be put into a card, and the encoder for a
//! design's own assets.

use alloc::string::String;

/// Media types a card may embed: raster formats only. SVG is excluded because it is a
/// document (it can carry markup and references), not just pixels.
const ALLOWED_PREFIXES: [&str; 4] = [
    "data:image/png;base64,",
    "data:image/jpeg;base64,",
    "data:image/webp;base64,",
    "data:image/gif;base64,",
];

/// Returns `uri` when it is a base64 `data:` URI of a PNG, JPEG, WebP or GIF image, else `None`.
///
/// The host already fetched and checked the image; this is defence in depth so a design never
/// emits `javascript:`, `http:` or markup-breaking text in an `src` attribute. Scheme and
/// media type are matched case-insensitively; the payload must be non-empty and use only the
/// base64 alphabet (`A–Z a–z 0–9 + /`) with `=` padding at the end, so it needs no escaping.
pub fn safe_image_data_uri(uri: &str) -> Option<&str> {
    let prefix = ALLOWED_PREFIXES.iter().find(|prefix| {
        uri.len() > prefix.len()
            && uri.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    })?;
    let payload = &uri.as_bytes()[prefix.len()..];
    let unpadded = payload
        .strip_suffix(b"==")
        .or_else(|| payload.strip_suffix(b"="))
        .unwrap_or(payload);
    let alphabet_only = unpadded
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    (alphabet_only && !unpadded.is_empty()).then_some(uri)
}

/// Appends `data:{media_type};base64,{bytes in base64}` to `out`.
///
/// For a design's own assets (`include_bytes!`), e.g. a pre-rendered background: the result
/// uses only the base64 alphabet after the prefix, so it is safe in a CSS `url()` or a quoted
/// attribute without escaping.
pub fn push_data_uri(out: &mut String, media_type: &str, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(media_type.len() + 13 + bytes.len().div_ceil(3) * 4);
    out.push_str("data:");
    out.push_str(media_type);
    out.push_str(";base64,");
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
}

/// [`push_data_uri`] into a new string.
pub fn data_uri(media_type: &str, bytes: &[u8]) -> String {
    let mut out = String::new();
    push_data_uri(&mut out, media_type, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_are_base64_with_padding() {
        assert_eq!(data_uri("image/png", b""), "data:image/png;base64,");
        assert_eq!(data_uri("image/png", b"f"), "data:image/png;base64,Zg==");
        assert_eq!(data_uri("image/png", b"fo"), "data:image/png;base64,Zm8=");
        assert_eq!(data_uri("image/png", b"foo"), "data:image/png;base64,Zm9v");
        assert_eq!(
            data_uri("image/gif", &[0xff, 0xfe, 0x00, 0x3e, 0x3f]),
            "data:image/gif;base64,//4APj8="
        );
        let uri = data_uri("image/png", &[7; 100]);
        assert_eq!(safe_image_data_uri(&uri), Some(uri.as_str()));
    }

    #[test]
    fn accepts_raster_data_uris() {
        for uri in [
            "data:image/png;base64,iVBORw0KGgo=",
            "data:image/jpeg;base64,/9j/4AAQSkZJRg==",
            "data:image/webp;base64,UklGRg",
            "data:image/gif;base64,R0lGODlh",
            "DATA:Image/PNG;BASE64,iVBORw0KGgo",
        ] {
            assert_eq!(safe_image_data_uri(uri), Some(uri), "{uri}");
        }
    }

    #[test]
    fn rejects_other_schemes_and_types() {
        for uri in [
            "",
            "javascript:alert(1)",
            "http://example.com/a.png",
            "https://example.com/a.png",
            "//example.com/a.png",
            "data:image/svg+xml;base64,PHN2Zz4=",
            "data:text/html;base64,PHNjcmlwdD4=",
            "data:image/png,rawbytes",
            "data:image/png;base64,",
            " data:image/png;base64,iVBOR",
            "data:image/pngx;base64,iVBOR",
        ] {
            assert_eq!(safe_image_data_uri(uri), None, "{uri}");
        }
    }

    #[test]
    fn rejects_payloads_outside_the_alphabet() {
        for uri in [
            "data:image/png;base64,iVBOR\"><script>",
            "data:image/png;base64,iVB OR",
            "data:image/png;base64,iVB\nOR",
            "data:image/png;base64,iV=BOR",
            "data:image/png;base64,iVBOR===",
            "data:image/png;base64,==",
            "data:image/png;base64,iVBOR%3C",
            "data:image/png;base64,iVBOR'",
            "data:image/png;base64,iVBORé",
        ] {
            assert_eq!(safe_image_data_uri(uri), None, "{uri}");
        }
    }

    #[test]
    fn long_payloads_are_fine() {
        let mut uri = String::from("data:image/png;base64,");
        uri.push_str(&"A".repeat(3_000_000));
        assert!(safe_image_data_uri(&uri).is_some());
    }
}

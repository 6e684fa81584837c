//! The check that decides whether an image URI may be put into a card.

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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

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

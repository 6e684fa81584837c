//! How an image response is delivered (RFC 9110): the format negotiated from `Accept`, the
//! conditional requests (`If-Modified-Since`, `If-Range`), single byte ranges, and the redirect to
//! the object's public URL. Pure functions of the request headers, so each rule is unit-tested.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::response::Builder;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::error::ApiError;
use crate::render::ImageFormat;

/// Whether the query names a format itself (`?format=…`); if not, `Accept` chooses and the
/// response varies on it. The query was validated before, so only the names matter here.
pub(crate) fn format_requested(raw_query: Option<&str>) -> bool {
    raw_query
        .is_some_and(|raw| form_urlencoded::parse(raw.as_bytes()).any(|(name, _)| name == "format"))
}

/// The format for a request without `?format`: WebP, a third of PNG's size, when `Accept` lists
/// `image/webp` with a non-zero weight; else PNG, which every crawler decodes. Wildcards
/// (`*/*`, `image/*`) do not count: crawlers send them and not all of them decode WebP.
pub(crate) fn negotiate(headers: &HeaderMap) -> ImageFormat {
    let webp = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|media| media.eq_ignore_ascii_case("image/webp"))
                && parts.all(|param| weight(param).is_none_or(|q| q > 0.0))
        });
    if webp {
        ImageFormat::Webp
    } else {
        ImageFormat::Png
    }
}

/// The weight of a `q=…` parameter (`None` for other parameters); a malformed one counts as 0.
fn weight(param: &str) -> Option<f32> {
    let (name, value) = param.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    Some(value.trim().parse::<f32>().unwrap_or(0.0))
}

/// `If-Modified-Since` says the client's copy is current. Ignored when `If-None-Match` is present,
/// which takes precedence (RFC 9110 §13.2.2). HTTP dates have whole seconds.
pub(crate) fn not_modified_since(headers: &HeaderMap, last_modified: SystemTime) -> bool {
    if headers.contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    whole_seconds(last_modified) <= whole_seconds(since)
}

fn whole_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a `Range` header asks of a representation of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAnswer {
    /// No usable single range (none, another unit, several ranges, bad syntax, a stale
    /// `If-Range`): the whole representation, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Partial { start: u64, end: u64 },
    /// The range starts past the end: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The range to answer a GET with: `Range` if there is exactly one and `If-Range` (when sent)
/// still holds for `etag` and `last_modified`.
pub(crate) fn requested_range(
    headers: &HeaderMap,
    etag: &str,
    last_modified: SystemTime,
    len: u64,
) -> RangeAnswer {
    let mut ranges = headers.get_all(header::RANGE).iter();
    let (Some(range), None) = (ranges.next(), ranges.next()) else {
        return RangeAnswer::Full;
    };
    if !if_range_holds(headers, etag, last_modified) {
        return RangeAnswer::Full;
    }
    range
        .to_str()
        .map_or(RangeAnswer::Full, |r| parse_range(r, len))
}

/// `If-Range` is absent, or names this representation: its ETag (strong comparison, so a weak tag
/// never matches) or exactly its `Last-Modified` date.
fn if_range_holds(headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> bool {
    let Some(value) = headers.get(header::IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str().map(str::trim) else {
        return false;
    };
    if value.starts_with('"') || value.starts_with("W/") {
        return value == etag;
    }
    httpdate::parse_http_date(value)
        .is_ok_and(|date| whole_seconds(date) == whole_seconds(last_modified))
}

/// One `bytes=` range over `len` bytes (RFC 9110 §14.1.2): `first-last`, `first-` or `-suffix`.
/// Several ranges are answered with the whole image, which the RFC allows and crawlers accept.
pub(crate) fn parse_range(value: &str, len: u64) -> RangeAnswer {
    let Some((unit, set)) = value.trim().split_once('=') else {
        return RangeAnswer::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (position(first), position(last)) {
        // `-suffix`: the last `suffix` bytes, all of them if the image is shorter.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                return RangeAnswer::Unsatisfiable;
            }
            (len.saturating_sub(suffix), len - 1)
        }
        // `first-`: to the end.
        (Some(start), None) if last.is_empty() => (start, u64::MAX),
        (Some(start), Some(end)) if end >= start => (start, end),
        _ => return RangeAnswer::Full,
    };
    if start >= len {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial {
        start,
        end: end.min(len - 1),
    }
}

/// A byte position: digits only; one too large for `u64` is past any image, so it saturates.
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// `302 Found` to `location`, reusable for `max_age` seconds. 302 rather than 307: the route
/// answers GET and HEAD only, for which both keep the method, and 302 is the redirect every
/// crawler and HTTP/1.0-era client follows.
pub(crate) fn redirect(
    builder: Builder,
    location: &str,
    max_age: u64,
) -> Result<Response, ApiError> {
    builder
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, format!("public, max-age={max_age}"))
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `416 Range Not Satisfiable` with the length the client should have asked within.
pub(crate) fn unsatisfiable(builder: Builder, len: u64) -> Result<Response, ApiError> {
    let body = serde_json::json!({
        "code": "range-not-satisfiable",
        "message": format!("the image has {len} bytes; ask for a range that starts within them"),
    })
    .to_string();
    builder
        .status(StatusCode::RANGE_NOT_SATISFIABLE)
        .header(header::CONTENT_RANGE, format!("bytes */{len}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn single_ranges_follow_rfc_9110() {
        use RangeAnswer::*;
        let p = |start, end| Partial { start, end };
        assert_eq!(parse_range("bytes=0-99", 1000), p(0, 99));
        assert_eq!(parse_range("bytes=0-0", 1000), p(0, 0));
        assert_eq!(parse_range("bytes=990-2000", 1000), p(990, 999));
        assert_eq!(parse_range("bytes=500-", 1000), p(500, 999));
        assert_eq!(parse_range("bytes=-100", 1000), p(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), p(0, 999));
        assert_eq!(parse_range("Bytes = 10 - 19 ", 1000), p(10, 19));
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999", 1000),
            p(0, 999)
        );
        // Past the end, and an empty suffix: nothing to send.
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-1001", 1000), Unsatisfiable);
        assert_eq!(
            parse_range("bytes=99999999999999999999-", 1000),
            Unsatisfiable
        );
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        // Invalid or not ours to answer partially: the whole image.
        for value in [
            "bytes=0-99,200-299",
            "bytes=99-0",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1",
            "items=0-99",
            "0-99",
            "",
        ] {
            assert_eq!(parse_range(value, 1000), Full, "{value:?}");
        }
    }

    #[test]
    fn if_range_gates_the_range() {
        let etag = "\"abc\"";
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = httpdate::fmt_http_date(modified);
        let range = |if_range: Option<&str>| {
            let mut h = headers(&[(header::RANGE, "bytes=0-9")]);
            if let Some(v) = if_range {
                h.insert(header::IF_RANGE, HeaderValue::from_str(v).unwrap());
            }
            requested_range(&h, etag, modified, 100)
        };
        let partial = RangeAnswer::Partial { start: 0, end: 9 };
        assert_eq!(range(None), partial);
        assert_eq!(range(Some("\"abc\"")), partial);
        assert_eq!(range(Some(&date)), partial);
        assert_eq!(range(Some("\"old\"")), RangeAnswer::Full);
        assert_eq!(range(Some("W/\"abc\"")), RangeAnswer::Full);
        let earlier = httpdate::fmt_http_date(modified - Duration::from_secs(60));
        assert_eq!(range(Some(&earlier)), RangeAnswer::Full);
        assert_eq!(range(Some("yesterday")), RangeAnswer::Full);
        // Two Range headers: not a single range.
        let two = headers(&[(header::RANGE, "bytes=0-9"), (header::RANGE, "bytes=10-19")]);
        assert_eq!(
            requested_range(&two, etag, modified, 100),
            RangeAnswer::Full
        );
    }

    #[test]
    fn webp_only_when_accept_names_it_with_weight() {
        let format = |accept: &str| negotiate(&headers(&[(header::ACCEPT, accept)]));
        assert_eq!(negotiate(&HeaderMap::new()), ImageFormat::Png);
        assert_eq!(format("image/webp"), ImageFormat::Webp);
        assert_eq!(
            format("image/avif,image/webp,image/apng,image/*,*/*;q=0.8"),
            ImageFormat::Webp
        );
        assert_eq!(format("IMAGE/WEBP;q=0.5"), ImageFormat::Webp);
        assert_eq!(format("image/png, image/webp ; q=0.1"), ImageFormat::Webp);
        assert_eq!(format("*/*"), ImageFormat::Png);
        assert_eq!(format("image/*"), ImageFormat::Png);
        assert_eq!(format("image/webp;q=0"), ImageFormat::Png);
        assert_eq!(format("image/webp;q=0.000"), ImageFormat::Png);
        assert_eq!(format("image/webp;q=x"), ImageFormat::Png);
        assert_eq!(format("image/webpx"), ImageFormat::Png);
        assert_eq!(format("text/html,image/png"), ImageFormat::Png);
    }

    #[test]
    fn format_requested_only_by_the_format_parameter() {
        assert!(format_requested(Some("format=png")));
        assert!(format_requested(Some("variant=bold&format=webp")));
        assert!(format_requested(Some("f%6Frmat=webp")));
        assert!(!format_requested(Some("variant=format")));
        assert!(!format_requested(Some("")));
        assert!(!format_requested(None));
    }

    #[test]
    fn if_modified_since_compares_whole_seconds_and_yields_to_if_none_match() {
        let modified = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_750);
        let at =
            |secs: u64| httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        let check =
            |pairs: &[(header::HeaderName, &str)]| not_modified_since(&headers(pairs), modified);
        assert!(check(&[(header::IF_MODIFIED_SINCE, &at(1_700_000_000))]));
        assert!(check(&[(header::IF_MODIFIED_SINCE, &at(1_800_000_000))]));
        assert!(!check(&[(header::IF_MODIFIED_SINCE, &at(1_699_999_999))]));
        assert!(!check(&[(header::IF_MODIFIED_SINCE, "not a date")]));
        assert!(!check(&[]));
        assert!(!check(&[
            (header::IF_MODIFIED_SINCE, &at(1_800_000_000)),
            (header::IF_NONE_MATCH, "\"other\""),
        ]));
    }
}

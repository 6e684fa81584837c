//! `GET|HEAD /api/og-image/{listing_id}`: the card image, with HTTP caching.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

/// What the query string may say: `variant`, `format` and `sig` (parsed in `card-request`, fuzzed).
pub use card_request::ImageQuery;

use crate::AppState;
use crate::error::ApiError;
use crate::listings::is_valid_id;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/og-image/{listing_id}", get(og_image))
}

async fn og_image(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    listing_id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    // 1. validate: the signature first (with SIGNING__KEYS set, nothing unsigned gets further),
    // then the id (a segment that is not UTF-8 once decoded is as invalid as `../x`), then the query.
    state.signer.verify(uri.path(), raw.as_deref())?;
    let Ok(Path(listing_id)) = listing_id else {
        return Err(ApiError::InvalidListingId);
    };
    if !is_valid_id(&listing_id) {
        return Err(ApiError::InvalidListingId);
    }
    let query = ImageQuery::parse(raw.as_deref())?;
    // 2. listing
    let listing = state.listing(&listing_id).await?;
    // 3. design
    let pick = state.pick_design(&listing.id, query.variant.as_deref())?;
    let (variant, template) = (&pick.variant, &pick.template);
    let family = crate::experiments::agent_family(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    );
    // 4. key; a matching If-None-Match needs neither the cache nor a render
    // Impressions count assigned traffic only: a `?variant` override is a preview, not a sample.
    if query.variant.is_none() {
        state
            .experiments
            .impressions
            .record(&pick.experiment, variant, family);
    }
    let key = state.cards.key(template, &listing, query.format);
    let etag = key.etag();
    let common = |builder: axum::http::response::Builder| {
        builder
            .header(header::ETAG, &etag)
            .header(header::CACHE_CONTROL, state.image_cache_control())
            .header("x-card-template", template.label())
            .header("x-card-variant", variant.as_str())
    };
    if if_none_match_matches(&headers, &etag) {
        return common(Response::builder().status(StatusCode::NOT_MODIFIED))
            .body(Body::empty())
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    // 5–6. memory → S3 → render
    let card = match state.cards.card(&listing, template, query.format).await {
        Ok(card) => card,
        Err(e) => {
            // A render past its deadline may get the fallback card (RENDER__FALLBACK_ON_TIMEOUT).
            if let Some(fallback) = state.fallback_response(&e, query.format) {
                tracing::warn!(listing = %listing.id, error = %e, "served the fallback card");
                return Ok(fallback);
            }
            return Err(state.render_error(&e, &template.name));
        }
    };
    tracing::info!(
        listing = %listing.id,
        variant = %variant,
        agent = family,
        cache = card.outcome.as_str(),
        bytes = card.image.bytes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "og image"
    );
    // 7. respond
    let mut builder = common(Response::builder().status(StatusCode::OK))
        .header(header::CONTENT_TYPE, card.image.content_type)
        .header(header::CONTENT_LENGTH, card.image.bytes.len())
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(card.image.last_modified),
        )
        .header("x-cache", card.outcome.as_str());
    let total = started.elapsed().as_secs_f64() * 1000.0;
    let timing = match card.timings {
        Some(t) => format!("{}, total;dur={total:.1}", t.server_timing()),
        None => format!("total;dur={total:.1}"),
    };
    if let Ok(v) = HeaderValue::from_str(&timing) {
        builder = builder.header("server-timing", v);
    }
    builder
        .body(Body::from(card.image.bytes))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `If-None-Match` holds `*` or our ETag (weak comparison, as RFC 9110 asks for this header).
fn if_none_match_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"abc\", W/\"def\""),
        );
        assert!(if_none_match_matches(&h, "\"def\""));
        assert!(if_none_match_matches(&h, "\"abc\""));
        assert!(!if_none_match_matches(&h, "\"xyz\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match_matches(&h, "\"xyz\""));
    }
}

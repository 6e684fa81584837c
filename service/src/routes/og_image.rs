//! `GET|HEAD /api/og-image/{listing_id}`: the card image, with HTTP caching.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

/// What the query string may say: `variant`, `format` and `sig` (parsed in `card-request`, fuzzed).
pub(crate) use card_request::ImageQuery;

use crate::AppState;
use crate::error::ApiError;
use crate::listings::is_valid_id;
use crate::routes::delivery::{self, RangeAnswer};
use crate::settings::ServeMode;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/og-image/{listing_id}", get(og_image))
}

async fn og_image(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    listing_id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    method: Method,
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
    // `?format`, else what `Accept` prefers; then the response varies on `Accept`.
    let negotiated = !delivery::format_requested(raw.as_deref());
    let format = if negotiated {
        delivery::negotiate(&headers)
    } else {
        query.format
    };
    // 2. listing
    let listing = state.listing(&listing_id).await?;
    // 3. design
    let pick = state
        .experiments
        .pick(state.designs(), &listing.id, query.variant.as_deref())?;
    let (variant, design) = (&pick.variant, &pick.design);
    let family = crate::experiments::agent_family(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    );
    // 4. key; a matching If-None-Match needs neither the cache nor a render
    // Impressions count assigned traffic, and crawlers fetching a variant's image by name (the
    // share page's `og:image` names it); anyone else's `?variant` is a designer's preview.
    let counted = match query.variant.as_deref() {
        None => true,
        Some(name) => family != "other" && state.experiments.current().variant(name).is_some(),
    };
    if counted {
        state
            .experiments
            .events
            .record(&pick.experiment, variant, family);
    }
    let key = state.cards.key(design, &listing, format);
    let etag = key.etag();
    // Every answer (200, 206, 304, 302, 416) says which design it is and what it varies on.
    let labelled = |builder: axum::http::response::Builder| {
        let builder = builder
            .header("x-card-template", design.label())
            .header("x-card-variant", variant.as_str());
        if negotiated {
            builder.header(header::VARY, "Accept")
        } else {
            builder
        }
    };
    let common = |builder: axum::http::response::Builder| {
        labelled(builder)
            .header(header::ETAG, &etag)
            .header(header::CACHE_CONTROL, state.image_cache_control())
    };
    if if_none_match_matches(&headers, &etag) {
        return common(Response::builder().status(StatusCode::NOT_MODIFIED))
            .body(Body::empty())
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    // SERVE__MODE=redirect: to the bucket (or its CDN) whenever the object is known to be there.
    let redirect_mode = state.settings.serve.mode == ServeMode::Redirect;
    let redirect = |location: &str, outcome: crate::cache::CacheOutcome| {
        tracing::info!(
            listing = %listing.id,
            variant = %variant,
            agent = family,
            cache = outcome.as_str(),
            location,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "og image redirect"
        );
        let builder = labelled(Response::builder()).header("x-cache", outcome.as_str());
        delivery::redirect(
            builder,
            location,
            state.settings.serve.redirect_max_age_seconds,
        )
    };
    if redirect_mode && let Some((location, outcome)) = state.cards.stored_url(&key).await {
        return redirect(&location, outcome);
    }
    // 5–6. memory → S3 → render
    let card = match state.cards.card(&listing, design, format).await {
        Ok(card) => card,
        Err(e) => {
            // A render past its deadline may get the fallback card (RENDER__FALLBACK_ON_TIMEOUT).
            if let Some(mut fallback) = state.fallback.response_for(&e, format) {
                tracing::warn!(listing = %listing.id, error = %e, "served the fallback card");
                if negotiated {
                    fallback
                        .headers_mut()
                        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
                }
                return Ok(fallback);
            }
            return Err(ApiError::from(&*e));
        }
    };
    // 7. respond: a redirect once the miss is stored (never to an object that is not there),
    // else the bytes, whole or the one range asked for.
    if redirect_mode && let Some(location) = state.cards.public_url(&key, &card.image) {
        return redirect(&location, card.outcome);
    }
    tracing::info!(
        listing = %listing.id,
        variant = %variant,
        agent = family,
        cache = card.outcome.as_str(),
        bytes = card.image.bytes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "og image"
    );
    let last_modified = card.image.last_modified;
    let validated = |builder| {
        common(builder)
            .header(
                header::LAST_MODIFIED,
                httpdate::fmt_http_date(last_modified),
            )
            .header(header::ACCEPT_RANGES, "bytes")
            .header("x-cache", card.outcome.as_str())
    };
    if delivery::not_modified_since(&headers, last_modified) {
        return validated(Response::builder().status(StatusCode::NOT_MODIFIED))
            .body(Body::empty())
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    let len = card.image.bytes.len() as u64;
    // A HEAD describes the whole image; Range applies to GET only (RFC 9110 §14.2).
    let range = if method == Method::GET {
        delivery::requested_range(&headers, &etag, last_modified, len)
    } else {
        RangeAnswer::Full
    };
    let (status, body) = match range {
        RangeAnswer::Full => (StatusCode::OK, card.image.bytes),
        RangeAnswer::Partial { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            card.image.bytes.slice(start as usize..=end as usize),
        ),
        RangeAnswer::Unsatisfiable => {
            // Not `validated`: a 416 is no representation to cache or revalidate.
            let builder = labelled(Response::builder()).header(header::ACCEPT_RANGES, "bytes");
            return delivery::unsatisfiable(builder, len);
        }
    };
    let mut builder = validated(Response::builder().status(status))
        .header(header::CONTENT_TYPE, card.image.content_type)
        .header(header::CONTENT_LENGTH, body.len());
    if let RangeAnswer::Partial { start, end } = range {
        builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    let total = started.elapsed().as_secs_f64() * 1000.0;
    let timing = match card.timings {
        Some(t) => format!("{}, total;dur={total:.1}", t.server_timing()),
        None => format!("total;dur={total:.1}"),
    };
    if let Ok(v) = HeaderValue::from_str(&timing) {
        builder = builder.header("server-timing", v);
    }
    builder
        .body(Body::from(body))
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

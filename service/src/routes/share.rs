//! `GET /share/{listing_id}`: crawlers get a small page whose Open Graph and Twitter tags point at
//! the variant-specific image URL (platforms cache images per URL, so each variant needs its own)
//! and count an unfurl; people are redirected to the listing on Deal Brain and count a click for
//! the variant the link names (`?v=`). `GET /api/share-link/{listing_id}`: the URL to publish.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;
use crate::experiments::{self, CLICKS, Pick, UNFURLS, Visitor};
use crate::listings::{Listing, is_valid_id};
use crate::render::{CARD_SIZE, ImageFormat};
use crate::settings::ServeMode;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/share/{listing_id}", get(share))
        .route("/api/share-link/{listing_id}", get(share_link))
}

/// The longest `User-Agent` looked at; a longer one is refused (and counted nowhere).
const MAX_USER_AGENT: usize = 512;

/// What a share URL may carry: `v` (the variant the link was published with: attribution),
/// `variant` (a designer's preview, counted nowhere) and `format`. Anything else (a platform's
/// `fbclid`, tracking parameters) is ignored: people click these links.
struct ShareQuery {
    v: Option<String>,
    variant: Option<String>,
    format: Option<String>,
}

impl ShareQuery {
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let raw = raw.unwrap_or_default();
        if raw.len() > card_request::MAX_QUERY_LEN {
            return Err(ApiError::QueryTooLong);
        }
        let mut query = ShareQuery {
            v: None,
            variant: None,
            format: None,
        };
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            let slot = match name.as_ref() {
                "v" => &mut query.v,
                "variant" => &mut query.variant,
                "format" => &mut query.format,
                _ => continue,
            };
            if slot.is_some() {
                return Err(ApiError::DuplicateParameter(match name.as_ref() {
                    "v" => "v",
                    "variant" => "variant",
                    _ => "format",
                }));
            }
            *slot = Some(value.into_owned());
        }
        Ok(query)
    }
}

/// The share URL to publish now for a listing, so the app's Share button never computes variants.
async fn share_link(
    State(state): State<AppState>,
    Path(listing_id): Path<String>,
) -> Result<Response, ApiError> {
    if !is_valid_id(&listing_id) {
        return Err(ApiError::InvalidListingId);
    }
    let listing = state.listing(&listing_id).await?;
    let pick = state.experiments.pick(state.designs(), &listing.id, None)?;
    let running = state.experiments.is_running();
    let base = &state.public_url;
    // With no experiment running there is nothing to attribute: the link names no variant.
    let url = if running {
        format!("{base}/share/{}?v={}", listing.id, pick.variant)
    } else {
        format!("{base}/share/{}", listing.id)
    };
    let image = format!(
        "{base}{}",
        state.signer.sign_path(&format!(
            "/api/og-image/{}?variant={}",
            listing.id, pick.variant
        ))
    );
    let body = serde_json::json!({
        "url": url,
        "variant": running.then_some(&pick.variant),
        "experiment": running.then_some(&pick.experiment),
        "image_url": image,
    });
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

async fn share(
    State(state): State<AppState>,
    Path(listing_id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Response, ApiError> {
    if !is_valid_id(&listing_id) {
        return Err(ApiError::InvalidListingId);
    }
    let query = ShareQuery::parse(raw.as_deref())?;
    let user_agent = match headers.get(header::USER_AGENT) {
        None => "",
        Some(value) => value
            .to_str()
            .ok()
            .filter(|ua| ua.len() <= MAX_USER_AGENT)
            .ok_or(ApiError::InvalidUserAgent(MAX_USER_AGENT))?,
    };
    let format = match query.format.as_deref() {
        None => ImageFormat::Png,
        Some(name) => ImageFormat::parse(name).ok_or(ApiError::InvalidFormat)?,
    };
    let explicit = query.format.is_some();
    let listing = state.listing(&listing_id).await?;
    let (pick, label) = resolve(&state, &listing.id, &query)?;
    let visitor = experiments::visitor(user_agent);
    match visitor {
        Visitor::Crawler(family) if label.counted => {
            state
                .experiments
                .events
                .count(&label.experiment, &label.variant, UNFURLS, family);
        }
        Visitor::Person if label.counted => {
            let prefetch = ["purpose", "sec-purpose"].iter().any(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.to_ascii_lowercase().contains("prefetch"))
            });
            let address = client_address(&state, &headers, &extensions);
            if !prefetch && state.clicks.first(&address, user_agent).await {
                state
                    .experiments
                    .events
                    .count(&label.experiment, &label.variant, CLICKS, "person");
            }
        }
        _ => {}
    }
    if visitor == Visitor::Person {
        return Ok(redirect_to_listing(&state, &listing.id, &label));
    }
    tag_page(&state, &listing, &pick, format, explicit).await
}

/// What a share link's visit is attributed to: the experiment and variant it names (also the UTM
/// campaign and content of the redirect), and whether it counts.
struct Label {
    experiment: String,
    variant: String,
    counted: bool,
}

/// The design to show and the attribution of a visit:
/// - `?v=` naming a variant of the experiment in force: that variant, counted (whatever the
///   weights say now: a link keeps the variant it was published with);
/// - no `?v=`: the listing's assigned variant, counted;
/// - `?v=` naming a variant of an ended experiment (a link shared before a promotion or a new
///   experiment): the design in force now, labelled with the old variant, counted nowhere;
/// - `?variant=` or a `?v=` naming a live design: a preview, counted nowhere;
/// - anything else: 400 `unknown-variant`.
fn resolve(
    state: &AppState,
    listing_id: &str,
    query: &ShareQuery,
) -> Result<(Pick, Label), ApiError> {
    let current = state.experiments.current();
    if let Some(v) = query.v.as_deref()
        && query.variant.is_none()
        && current.variant(v).is_none()
        && let Some(ended) = ended_experiment_with(state, v)
    {
        let pick = state.experiments.pick(state.designs(), listing_id, None)?;
        let label = Label {
            experiment: ended,
            variant: v.to_owned(),
            counted: false,
        };
        return Ok((pick, label));
    }
    let asked = query.variant.as_deref().or(query.v.as_deref());
    let pick = state.experiments.pick(state.designs(), listing_id, asked)?;
    let counted = query.variant.is_none() && current.variant(&pick.variant).is_some();
    let label = Label {
        experiment: pick.experiment.clone(),
        variant: pick.variant.clone(),
        counted,
    };
    Ok((pick, label))
}

/// The newest ended experiment (kept by the control plane) that had a variant named `variant`.
fn ended_experiment_with(state: &AppState, variant: &str) -> Option<String> {
    let manifest = state.control.as_ref()?.manifest()?;
    manifest
        .ended
        .iter()
        .rev()
        .find(|e| {
            e.spec
                .get("variants")
                .and_then(|v| v.as_array())
                .is_some_and(|vs| {
                    vs.iter()
                        .any(|x| x.get("name").and_then(|n| n.as_str()) == Some(variant))
                })
        })
        .map(|e| e.name.clone())
}

/// Where the person goes: the listing's page, with UTM parameters naming the experiment and the
/// variant, never cached (each visit is a click).
fn redirect_to_listing(state: &AppState, id: &str, label: &Label) -> Response {
    let mut url = state.settings.listings.page_url(id);
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(
        &form_urlencoded::Serializer::new(String::new())
            .append_pair("utm_source", "share")
            .append_pair("utm_medium", "og-card")
            .append_pair("utm_campaign", &label.experiment)
            .append_pair("utm_content", &label.variant)
            .finish(),
    );
    let mut response = Redirect::to(&url).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&label.variant) {
        response.headers_mut().insert("x-card-variant", v);
    }
    response
}

/// The client's address: the configured proxy header's last entry, else the connection's peer.
/// Used only to key the click dedupe (hashed), never stored or logged.
fn client_address(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> String {
    if let Some(name) = &state.settings.experiments.client_address_header
        && let Some(value) = headers.get(name.as_str()).and_then(|v| v.to_str().ok())
        && let Some(last) = value.rsplit(',').next()
    {
        return last.trim().to_owned();
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_default()
}

async fn tag_page(
    state: &AppState,
    listing: &Listing,
    pick: &Pick,
    format: ImageFormat,
    explicit: bool,
) -> Result<Response, ApiError> {
    let base = &state.public_url;
    let mut image_path = format!("/api/og-image/{}?variant={}", listing.id, pick.variant);
    if explicit {
        image_path.push_str(&format!("&format={}", format.name()));
    }
    // With SIGNING__KEYS set the image URL carries its signature; unchanged otherwise.
    let image = format!("{base}{}", state.signer.sign_path(&image_path));
    // SERVE__MODE=redirect: a stored image is fetched from the bucket (or its CDN) directly, so
    // crawlers never touch the service; one that is not stored yet goes through the service.
    let stored = match state.settings.serve.mode {
        ServeMode::Redirect => state
            .cards
            .stored_url(&state.cards.key(&pick.design, listing, format))
            .await
            .map(|(url, _)| url),
        ServeMode::Proxy => None,
    };
    // The type is only known when the URL fixes it: `?format`, or the stored object. Without
    // either, the image endpoint picks WebP or PNG by each crawler's `Accept`.
    let image_type = (explicit || stored.is_some()).then(|| {
        format!(
            "\n<meta property=\"og:image:type\" content=\"{}\">",
            format.content_type()
        )
    });
    let image = stored.unwrap_or(image);
    // The canonical share URL names the variant while an experiment runs, so a platform that
    // re-fetches it, and the people who click it, stay attributed to the card it showed.
    let page_url = if state.experiments.is_running() {
        format!("{base}/share/{}?v={}", listing.id, pick.variant)
    } else {
        format!("{base}/share/{}", listing.id)
    };
    let listing_url = state.settings.listings.page_url(&listing.id);
    let title = truncate(&listing.title, 200);
    let description = describe(listing);
    let alt = format!("{} — {}", truncate(&listing.title, 120), description);
    let e = escape;
    let html = format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="description" content="{description}">
<meta property="og:type" content="website">
<meta property="og:site_name" content="{brand}">
<meta property="og:title" content="{title}">
<meta property="og:description" content="{description}">
<meta property="og:url" content="{page_url}">
<meta property="og:image" content="{image}">
<meta property="og:image:secure_url" content="{image}">{image_type}
<meta property="og:image:width" content="{width}">
<meta property="og:image:height" content="{height}">
<meta property="og:image:alt" content="{alt}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{title}">
<meta name="twitter:description" content="{description}">
<meta name="twitter:image" content="{image}">
<meta name="twitter:image:alt" content="{alt}">
<meta name="theme-color" content="#FF6A13">
<link rel="canonical" href="{page_url}">
<style>body{{margin:0;font-family:system-ui,sans-serif;background:#0d1a2d;color:#e8edf5;display:grid;place-items:center;min-height:100vh}}
main{{max-width:{width}px;padding:24px}}img{{width:100%;height:auto;border-radius:12px}}h1{{font-size:22px;font-weight:600}}a{{color:inherit}}</style>
</head>
<body><main><a href="{listing_url}"><img src="{image}" width="{width}" height="{height}" alt="{alt}"></a><h1 dir="auto"><a href="{listing_url}">{title}</a></h1><p dir="auto">{description}</p><p><a href="{listing_url}">See this deal on {brand}</a></p></main></body>
</html>
"##,
        title = e(&title),
        description = e(&description),
        width = CARD_SIZE.width,
        height = CARD_SIZE.height,
        brand = e(&state.settings.render.brand),
        page_url = e(&page_url),
        image = e(&image),
        image_type = image_type.unwrap_or_default(),
        alt = e(&alt),
        listing_url = e(&listing_url),
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    // People get a redirect from the same URL: a shared cache must keep the two apart.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("User-Agent"));
    if let Ok(v) = HeaderValue::from_str(&pick.variant) {
        response.headers_mut().insert("x-card-variant", v);
    }
    Ok(response)
}

/// "CPU Mark/$ 73.1 · $289 · AMD Ryzen 7 5800H · 32 GB RAM · 500 GB NVMe SSD"
fn describe(l: &Listing) -> String {
    let mut parts = Vec::new();
    if let Some(v) = l.cpu_mark_per_dollar() {
        parts.push(format!("CPU Mark/$ {v:.1}"));
    }
    if let Some(cents) = l.price_cents() {
        parts.push(format!("${}.{:02}", cents / 100, cents % 100).replace(".00", ""));
    }
    if let Some(cpu) = &l.cpu_name {
        parts.push(truncate(cpu, 60));
    }
    if let Some(ram) = l.ram_gb {
        parts.push(format!("{ram} GB RAM"));
    }
    if let Some(storage) = l.storage_gb {
        let kind = l.storage_type.as_deref().unwrap_or("storage");
        parts.push(format!("{storage} GB {}", truncate(kind, 20)));
    }
    if parts.is_empty() {
        "PC deal on Deal Brain".into()
    } else {
        parts.join(" · ")
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max_chars {
        return s;
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn truncate_counts_characters_and_folds_whitespace() {
        assert_eq!(truncate("a\n\tb", 10), "a b");
        assert_eq!(truncate("ミニPCミニPC", 4), "ミニP…");
    }
}

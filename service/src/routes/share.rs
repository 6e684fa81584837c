//! `GET /share/{listing_id}`: a small page whose Open Graph and Twitter tags point at the
//! variant-specific image URL (platforms cache images per URL, so each variant needs its own).

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;
use crate::listings::{Listing, is_valid_id};
use crate::render::CARD_SIZE;
use crate::routes::og_image::ImageQuery;
use crate::settings::ServeMode;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/share/{listing_id}", get(share))
}

async fn share(
    State(state): State<AppState>,
    Path(listing_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if !is_valid_id(&listing_id) {
        return Err(ApiError::InvalidListingId);
    }
    let query = ImageQuery::parse(raw.as_deref())?;
    let listing = state.listing(&listing_id).await?;
    let pick = state
        .experiments
        .pick(state.designs(), &listing.id, query.variant.as_deref())?;
    let base = &state.public_url;
    let format = query.format;
    let explicit = crate::routes::delivery::format_requested(raw.as_deref());
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
            .stored_url(&state.cards.key(&pick.design, &listing, format))
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
    let page_url = format!("{base}/share/{}", listing.id);
    let title = truncate(&listing.title, 200);
    let description = describe(&listing);
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
main{{max-width:{width}px;padding:24px}}img{{width:100%;height:auto;border-radius:12px}}h1{{font-size:22px;font-weight:600}}</style>
</head>
<body><main><img src="{image}" width="{width}" height="{height}" alt="{alt}"><h1 dir="auto">{title}</h1><p dir="auto">{description}</p></main></body>
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
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
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

//! Serving modes over real HTTP: `SERVE__MODE=redirect` against a bucket provisioned as
//! `cargo xtask provision-bucket` does (its policy makes `card-images/*` public; moto enforces it
//! for anonymous requests), and the crawler-friendly answers of `proxy` mode: byte ranges,
//! `If-Modified-Since`, `Content-Length` on HEAD, and WebP negotiated from `Accept`.

use anyhow::{Context, ensure};
use aws_sdk_s3::primitives::ByteStream;
use card_bucket::BucketSpec;
use card_e2e::s3::S3Server;
use card_e2e::service::{TestService, header, http, s3_settings};
use card_service::S3Settings;
use reqwest::header::{
    ACCEPT, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    HeaderName, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, LOCATION, RANGE, VARY,
};
use reqwest::{Method, StatusCode};

/// A request to the service with extra headers; redirects are never followed.
async fn send(
    method: Method,
    url: &str,
    headers: &[(HeaderName, &str)],
) -> anyhow::Result<reqwest::Response> {
    let mut request = http().request(method.clone(), url);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request
        .send()
        .await
        .with_context(|| format!("{method} {url}"))
}

/// What a crawler does with a URL: plain HTTP, no credentials, no signature.
async fn anonymous(method: Method, url: &str) -> anyhow::Result<reqwest::Response> {
    reqwest::Client::new()
        .request(method.clone(), url)
        .send()
        .await
        .with_context(|| format!("anonymous {method} {url}"))
}

/// A bucket on `s3` configured by the provisioning code (public `card-images/*`), and the
/// settings that point an instance at it in `mode`.
async fn provisioned<'a>(
    s3: &'a S3Server,
    bucket: &'a str,
    mode: &'a str,
) -> anyhow::Result<Vec<(&'a str, &'a str)>> {
    let defaults = S3Settings::default();
    let spec = BucketSpec::new(bucket, &defaults.region, defaults.cache_ttl_seconds);
    card_bucket::ensure(&s3.client(), &spec, |_| {}).await?;
    Ok(serving(mode, s3.endpoint(), bucket))
}

/// An instance in `mode` that uses the bucket at `endpoint` with the emulators' credentials.
fn serving<'a>(mode: &'a str, endpoint: &'a str, bucket: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut settings = s3_settings(endpoint, bucket);
    settings.push(("SERVE__MODE", mode));
    settings
}

/// The share page of `listing` on `service`.
async fn share_page(service: &TestService, listing: &str) -> anyhow::Result<String> {
    let url = service.url(&format!("/share/{listing}"));
    Ok(send(Method::GET, &url, &[]).await?.text().await?)
}

/// Checks a share page's `og:image` names the service's own image URL for `listing`.
fn names_the_service(page: &str, service: &TestService, listing: &str) -> anyhow::Result<()> {
    let image = meta(page, "og:image").unwrap_or_default();
    let own = service.url(&format!("/api/og-image/{listing}"));
    ensure!(image.starts_with(&own), "og:image {image}, expected {own}…");
    Ok(())
}

/// The `content` of `<meta property|name="{name}" content="…">` in a share page.
fn meta<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("=\"{name}\" content=\"");
    let start = html.find(&prefix)? + prefix.len();
    html[start..].split('"').next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_mode_sends_clients_to_the_bucket_only_once_the_object_exists()
-> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let bucket = "serving-redirect";
    let mut redirect_settings = provisioned(&s3, bucket, "redirect").await?;
    redirect_settings.push(("SERVE__REDIRECT_MAX_AGE_SECONDS", "120"));
    let proxy = TestService::start(&provisioned(&s3, bucket, "proxy").await?).await?;
    let redirect = TestService::start(&redirect_settings).await?;
    let public_base = format!("{}/{bucket}/", s3.endpoint());

    // The bucket's policy is what makes the redirect work: anonymous reads outside card-images/
    // are refused where the server enforces policies.
    s3.client()
        .put_object()
        .bucket(bucket)
        .key("private/x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await?;
    let private = anonymous(Method::GET, &format!("{public_base}private/x")).await?;
    if s3.enforces_policies() {
        ensure!(
            private.status() == StatusCode::FORBIDDEN,
            "private/x: {}",
            private.status()
        );
    } else {
        eprintln!(
            "{:?} does not enforce bucket policies; the anonymous reads below prove less than on moto",
            s3.backend()
        );
    }

    // A card the proxy instance rendered and stored: the redirect instance has it in S3 only.
    let served = send(Method::GET, &proxy.url("/api/og-image/dl-0001"), &[]).await?;
    ensure!(served.status() == StatusCode::OK, "{}", served.status());
    let served_etag = header(&served, ETAG);
    let served = served.bytes().await?;
    let hit = send(Method::GET, &redirect.url("/api/og-image/dl-0001"), &[]).await?;
    ensure!(hit.status() == StatusCode::FOUND, "hit: {}", hit.status());
    let location = header(&hit, LOCATION);
    ensure!(
        location
            == format!(
                "{public_base}card-images/classic/dl-0001/{}.png",
                served_etag.trim_matches('"')
            ),
        "location {location}, etag {served_etag}"
    );
    ensure!(header(&hit, CACHE_CONTROL) == "public, max-age=120");
    ensure!(header(&hit, "x-cache") == "hit-s3");
    ensure!(header(&hit, "x-card-template") == "classic@1.1.0");
    ensure!(header(&hit, "x-card-variant") == "classic");
    ensure!(
        header(&hit, ETAG).is_empty(),
        "a redirect is not the image: no ETag"
    );
    let fetched = anonymous(Method::GET, &location).await?;
    ensure!(
        fetched.status() == StatusCode::OK,
        "{location}: {}",
        fetched.status()
    );
    ensure!(header(&fetched, CONTENT_TYPE) == "image/png");
    ensure!(
        fetched.bytes().await? == served,
        "the bucket's bytes differ from what proxy mode served"
    );

    // The instance remembers what its HEAD found: the next redirect needs no S3 call.
    let again = send(Method::GET, &redirect.url("/api/og-image/dl-0001"), &[]).await?;
    ensure!(again.status() == StatusCode::FOUND);
    ensure!(header(&again, "x-cache") == "hit-memory");
    ensure!(header(&again, LOCATION) == location);

    // A miss renders and stores first: the object is there the moment the redirect arrives.
    let miss = send(Method::GET, &redirect.url("/api/og-image/dl-0011"), &[]).await?;
    ensure!(
        miss.status() == StatusCode::FOUND,
        "miss: {}",
        miss.status()
    );
    ensure!(header(&miss, "x-cache") == "miss");
    let location = header(&miss, LOCATION);
    // Probed with a one-byte anonymous GET rather than a HEAD: moto authorises an anonymous HEAD
    // as `s3:HeadObject`, which is no IAM action (AWS checks `s3:GetObject`), and refuses it.
    let probe = reqwest::Client::new()
        .get(&location)
        .header(RANGE, "bytes=0-0")
        .send()
        .await?;
    ensure!(
        probe.status() == StatusCode::PARTIAL_CONTENT,
        "{location} right after the redirect: {}",
        probe.status()
    );
    // The memory tier remembers the object is stored, so the next request redirects from memory;
    // and the bytes behind it are what proxy mode serves for the same card.
    let again = send(Method::GET, &redirect.url("/api/og-image/dl-0011"), &[]).await?;
    ensure!(again.status() == StatusCode::FOUND);
    ensure!(header(&again, "x-cache") == "hit-memory");
    ensure!(header(&again, LOCATION) == location);
    let proxied = send(Method::GET, &proxy.url("/api/og-image/dl-0011"), &[]).await?;
    ensure!(header(&proxied, "x-cache") == "hit-s3");
    let proxied = proxied.bytes().await?;
    ensure!(anonymous(Method::GET, &location).await?.bytes().await? == proxied);

    // WebP negotiated from Accept: its own object, and the redirect varies on Accept.
    let webp = send(
        Method::GET,
        &redirect.url("/api/og-image/dl-0011"),
        &[(ACCEPT, "image/webp,*/*")],
    )
    .await?;
    ensure!(webp.status() == StatusCode::FOUND);
    ensure!(header(&webp, VARY) == "Accept");
    let webp_location = header(&webp, LOCATION);
    ensure!(webp_location.ends_with(".webp"), "{webp_location}");
    let fetched = anonymous(Method::GET, &webp_location).await?;
    ensure!(header(&fetched, CONTENT_TYPE) == "image/webp");

    // Share pages point crawlers at the bucket for a stored card, at the service otherwise.
    let page = share_page(&redirect, "dl-0011").await?;
    for tag in ["og:image", "og:image:secure_url", "twitter:image"] {
        ensure!(
            meta(&page, tag) == Some(location.as_str()),
            "{tag}: {:?}",
            meta(&page, tag)
        );
    }
    names_the_service(
        &share_page(&redirect, "dl-0042").await?,
        &redirect,
        "dl-0042",
    )
    .context("a card not stored yet")?;
    // Proxy mode's share page always names the service.
    names_the_service(&share_page(&proxy, "dl-0011").await?, &proxy, "dl-0011")?;

    redirect.stop().await?;
    proxy.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_mode_serves_the_bytes_when_nothing_could_be_stored() -> anyhow::Result<()> {
    // S3 enabled, but nothing listens at the endpoint: the PUT fails, so there is nothing to
    // redirect to; the image is served by the service instead.
    let dead = format!("http://127.0.0.1:{}", card_e2e::s3::free_port()?);
    let mut settings = serving("redirect", &dead, "serving-down");
    settings.push(("S3__TIMEOUT_MS", "500"));
    let down = TestService::start(&settings).await?;
    for x_cache in ["miss", "hit-memory"] {
        let response = send(Method::GET, &down.url("/api/og-image/dl-0003"), &[]).await?;
        ensure!(
            response.status() == StatusCode::OK,
            "{x_cache}: {} to {}",
            response.status(),
            header(&response, LOCATION)
        );
        ensure!(header(&response, "x-cache") == x_cache);
        ensure!(header(&response, CONTENT_TYPE) == "image/png");
        ensure!(!response.bytes().await?.is_empty());
    }
    names_the_service(&share_page(&down, "dl-0003").await?, &down, "dl-0003")?;
    down.stop().await?;

    // Without S3 at all, likewise.
    let plain = TestService::start(&[("SERVE__MODE", "redirect")]).await?;
    let response = send(Method::GET, &plain.url("/api/og-image/dl-0003"), &[]).await?;
    ensure!(response.status() == StatusCode::OK, "{}", response.status());
    plain.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_mode_answers_ranges_conditional_requests_and_negotiates_webp() -> anyhow::Result<()>
{
    let service = TestService::start(&[]).await?;
    let url = service.url("/api/og-image/dl-0005");

    // The whole image: its length, its date, ranges offered; chosen from Accept (PNG for */*).
    let full = send(Method::GET, &url, &[(ACCEPT, "*/*")]).await?;
    ensure!(full.status() == StatusCode::OK, "{}", full.status());
    ensure!(header(&full, CONTENT_TYPE) == "image/png");
    ensure!(header(&full, ACCEPT_RANGES) == "bytes");
    ensure!(header(&full, VARY) == "Accept");
    let etag = header(&full, ETAG);
    let last_modified = header(&full, LAST_MODIFIED);
    ensure!(
        httpdate_ok(&last_modified),
        "last-modified {last_modified:?}"
    );
    let length: usize = header(&full, CONTENT_LENGTH).parse()?;
    let image = full.bytes().await?;
    ensure!(
        image.len() == length && length > 1000,
        "{length} vs {}",
        image.len()
    );

    // HEAD: the same headers, Content-Length included, no body.
    let head = send(Method::HEAD, &url, &[]).await?;
    ensure!(head.status() == StatusCode::OK);
    ensure!(header(&head, CONTENT_LENGTH) == length.to_string());
    ensure!(header(&head, ETAG) == etag);
    ensure!(head.bytes().await?.is_empty());

    // Facebook's crawler asks for a prefix.
    let first = send(Method::GET, &url, &[(RANGE, "bytes=0-99")]).await?;
    ensure!(
        first.status() == StatusCode::PARTIAL_CONTENT,
        "{}",
        first.status()
    );
    ensure!(
        header(&first, CONTENT_RANGE) == format!("bytes 0-99/{length}"),
        "{}",
        header(&first, CONTENT_RANGE)
    );
    ensure!(header(&first, CONTENT_LENGTH) == "100");
    ensure!(header(&first, CONTENT_TYPE) == "image/png");
    ensure!(first.bytes().await? == image.slice(0..100));
    // A suffix, an open range, and one that runs past the end.
    for (range, from) in [
        ("bytes=-10".to_string(), length - 10),
        (format!("bytes={}-", length - 5), length - 5),
        (format!("bytes={}-{}", length - 3, length + 100), length - 3),
    ] {
        let part = send(Method::GET, &url, &[(RANGE, range.as_str())]).await?;
        ensure!(part.status() == StatusCode::PARTIAL_CONTENT, "{range}");
        ensure!(
            header(&part, CONTENT_RANGE) == format!("bytes {from}-{}/{length}", length - 1),
            "{range}: {}",
            header(&part, CONTENT_RANGE)
        );
        ensure!(part.bytes().await? == image.slice(from..), "{range}");
    }
    // Past the end: 416 with the length to ask within.
    let beyond = format!("bytes={length}-");
    let none = send(Method::GET, &url, &[(RANGE, beyond.as_str())]).await?;
    ensure!(
        none.status() == StatusCode::RANGE_NOT_SATISFIABLE,
        "{}",
        none.status()
    );
    ensure!(header(&none, CONTENT_RANGE) == format!("bytes */{length}"));
    // Several ranges, or an If-Range for another version: the whole image.
    for headers in [
        vec![(RANGE, "bytes=0-9,20-29")],
        vec![(RANGE, "bytes=0-9"), (IF_RANGE, "\"stale\"")],
    ] {
        let whole = send(Method::GET, &url, &headers).await?;
        ensure!(whole.status() == StatusCode::OK, "{headers:?}");
        ensure!(whole.bytes().await? == image, "{headers:?}");
    }
    let current = send(
        Method::GET,
        &url,
        &[(RANGE, "bytes=0-9"), (IF_RANGE, etag.as_str())],
    )
    .await?;
    ensure!(current.status() == StatusCode::PARTIAL_CONTENT);

    // If-Modified-Since: 304 with the validators and Vary; If-None-Match takes precedence.
    let unchanged = send(
        Method::GET,
        &url,
        &[(IF_MODIFIED_SINCE, last_modified.as_str())],
    )
    .await?;
    ensure!(
        unchanged.status() == StatusCode::NOT_MODIFIED,
        "{}",
        unchanged.status()
    );
    ensure!(header(&unchanged, ETAG) == etag);
    ensure!(header(&unchanged, VARY) == "Accept");
    ensure!(unchanged.bytes().await?.is_empty());
    let overruled = send(
        Method::GET,
        &url,
        &[
            (IF_MODIFIED_SINCE, last_modified.as_str()),
            (IF_NONE_MATCH, "\"another\""),
        ],
    )
    .await?;
    ensure!(
        overruled.status() == StatusCode::OK,
        "{}",
        overruled.status()
    );
    let old = "Mon, 01 Jan 2001 00:00:00 GMT";
    let newer = send(Method::GET, &url, &[(IF_MODIFIED_SINCE, old)]).await?;
    ensure!(newer.status() == StatusCode::OK, "{}", newer.status());

    // A browser that takes WebP gets WebP, with its own ETag, varying on Accept.
    let browser_accept = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
    let webp = send(Method::GET, &url, &[(ACCEPT, browser_accept)]).await?;
    ensure!(webp.status() == StatusCode::OK);
    ensure!(header(&webp, CONTENT_TYPE) == "image/webp");
    ensure!(header(&webp, VARY) == "Accept");
    let webp_etag = header(&webp, ETAG);
    ensure!(webp_etag != etag, "WebP must have its own ETag");
    let bytes = webp.bytes().await?;
    ensure!(bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP");
    let revalidated = send(
        Method::GET,
        &url,
        &[
            (ACCEPT, browser_accept),
            (IF_NONE_MATCH, webp_etag.as_str()),
        ],
    )
    .await?;
    ensure!(revalidated.status() == StatusCode::NOT_MODIFIED);
    ensure!(header(&revalidated, VARY) == "Accept");
    // `?format` decides alone: no negotiation, so no Vary.
    let chosen = send(
        Method::GET,
        &format!("{url}?format=png"),
        &[(ACCEPT, browser_accept)],
    )
    .await?;
    ensure!(header(&chosen, CONTENT_TYPE) == "image/png");
    ensure!(
        header(&chosen, VARY).is_empty(),
        "{}",
        header(&chosen, VARY)
    );
    service.stop().await
}

fn httpdate_ok(value: &str) -> bool {
    value.ends_with(" GMT") && value.len() == 29
}

//! A corpus of hostile listings and requests through the real service (Chromium, the classic
//! design): each gets its documented answer (docs/operations.md, Security), and a loopback
//! listener that every hostile URL points at receives nothing.

use std::time::Duration;

use anyhow::{Context, ensure};
use card_e2e::CountingListener;
use card_e2e::service::{ADMIN_TOKEN, TestService, header, http};
use card_e2e::wait::STRAY_CONNECTION_GRACE;
use image::GenericImageView;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Listings whose every text field is hostile, and whose image URLs point where the service must
/// never go. All of them are renderable: the design escapes, the host refuses the images.
fn hostile_listings(target: &str) -> Vec<Value> {
    let base = format!("http://{target}");
    let injections = [
        format!("</title><script>fetch('{base}/script')</script>"),
        format!("<img src={base}/img-tag onerror=alert(1)>"),
        format!(r#"<div style="background:url({base}/css-url)">x</div>"#),
        format!("<style>@import url({base}/import.css); body{{background:url({base}/bg)}}</style>"),
        format!(
            r#"<link rel=stylesheet href="{base}/link.css"><link rel=preload as=image href="{base}/preload">"#
        ),
        format!(
            r#""><iframe src="{base}/frame"></iframe><svg><image href="{base}/svg-image"/></svg>"#
        ),
        format!(
            r#"<object data="{base}/object"></object><embed src="{base}/embed"><video poster="{base}/poster"></video><audio src="{base}/audio"></audio><input type=image src="{base}/input"><picture><source srcset="{base}/srcset"><img srcset="{base}/img-srcset 2x"></picture><table background="{base}/table-bg"><tr><td>x</td></tr></table><a ping="{base}/ping" href="{base}/a">a</a>"#
        ),
        // Last: a design that emits this unescaped is refused by the host (`<meta http-equiv>`).
        format!(r#"<meta http-equiv="refresh" content="0;url={base}/meta">"#),
    ];
    let images = [
        "javascript:alert(1)".to_string(),
        "file:///etc/passwd".to_string(),
        format!("{base}/image.png"),
        format!(
            "http://localhost:{}/image.png",
            target.rsplit(':').next().unwrap_or("80")
        ),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!(
            "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'><image href='{base}/data-svg'/></svg>"
        ),
        "data:image/png;base64,iVBORw0KGgo=".to_string(),
        format!(
            "http://[::ffff:127.0.0.1]:{}/mapped",
            target.rsplit(':').next().unwrap_or("80")
        ),
    ];
    let mut listings = Vec::new();
    for (i, title) in injections.iter().enumerate() {
        listings.push(json!({
            "id": format!("hostile-title-{i}"),
            "title": title,
            "price_usd": 199.0, "cpu_name": title, "cpu_mark": 9000, "ram_gb": 16,
            "storage_gb": 512, "storage_type": title, "condition": title, "seller": title,
            "currency": "<b>USD</b>",
            "image_url": images[i % images.len()],
        }));
    }
    for (i, image) in images.iter().enumerate() {
        listings.push(json!({
            "id": format!("hostile-image-{i}"),
            "title": "Mini PC with a hostile image URL",
            "price_usd": 149.0, "cpu_name": "Intel Processor N100", "cpu_mark": 5500,
            "image_url": image,
        }));
    }
    listings.push(json!({
        "id": "hostile-giant-title",
        "title": format!("{} <img src={base}/giant>", "Giant ".repeat(100 * 1024 / 6)),
        "price_usd": 99.0,
        "seller": "x".repeat(100 * 1024),
    }));
    listings.push(json!({
        "id": "hostile-control-chars",
        "title": "Null\u{0} bell\u{7} escape\u{1b}[31m red\u{1b}[0m backspace\u{8} DEL\u{7f} C1\u{85}\u{9b} tab\tnewline\nCR\r",
        "price_usd": 99.0, "seller": "\u{0}\u{0}\u{0}",
    }));
    listings.push(json!({
        "id": "hostile-bidi",
        "title": "RTL override \u{202E}gnp.exe\u{202C} isolate \u{2067}abc\u{2069} zero width \u{200B}\u{200D}\u{FEFF} Zalgo Z\u{0337}\u{0353}\u{0336}\u{0358}\u{0338}\u{035A}",
        "price_usd": 99.0, "seller": "\u{202E}reveR",
    }));
    listings.push(json!({
        "id": "hostile-numbers",
        "title": "Numbers at the edge",
        "price_usd": 1e300, "cpu_mark": 4294967295u32, "ram_gb": 4294967295u32, "storage_gb": 0,
    }));
    listings
}

/// One request over a raw socket, so the path reaches the server byte for byte (an HTTP client
/// would normalise `..` and re-encode). Returns the status and the body.
async fn raw_get(addr: &str, target: &str, extra_headers: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut response))
        .await
        .context("no response within 60 s")??;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no header end")?;
    let head = String::from_utf8_lossy(&response[..head_end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    let body = response[head_end + 4..].to_vec();
    // Chunked bodies (axum's JSON errors are sized, images too): good enough to find the JSON.
    Ok((status, body))
}

/// The `{code, message}` of an error body.
fn error_code(body: &[u8]) -> anyhow::Result<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find('{').context("no JSON in body")?;
    let end = text.rfind('}').context("no JSON in body")?;
    let value: Value =
        serde_json::from_str(&text[start..=end]).with_context(|| format!("not JSON: {text:?}"))?;
    ensure!(
        value["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message in {value}"
    );
    Ok(value["code"].as_str().unwrap_or_default().to_string())
}

/// A 1200×630 image in the stated format.
fn assert_card(bytes: &[u8]) -> anyhow::Result<()> {
    let img = image::load_from_memory(bytes).context("decodes")?;
    ensure!(
        img.dimensions() == (1200, 630),
        "dimensions {:?}",
        img.dimensions()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_listings_and_requests_get_their_documented_answers_and_reach_nothing()
-> anyhow::Result<()> {
    let listener = CountingListener::start().await?;
    let listings = hostile_listings(&listener.addr());
    let file = std::env::temp_dir().join(format!("card-e2e-hostile-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&json!({ "listings": listings }))?)?;
    let source = file.display().to_string();
    // The listener's host is allowed, so only the private-address rule stands between a listing
    // and the loopback listener: the test shows that rule holds, not just the allow-list.
    let svc = TestService::start(&[
        ("LISTINGS__SOURCE", &source),
        (
            "IMAGES__ALLOWED_HOSTS",
            "127.0.0.1,localhost,169.254.169.254,[::ffff:7f00:1]",
        ),
        ("IMAGES__ALLOW_PRIVATE_ADDRESSES", "false"),
        ("TEMPLATES__DEFAULT", "classic"),
    ])
    .await?;
    let addr = svc.base.trim_start_matches("http://").to_string();

    // Hostile but renderable: 200 with a real card (PNG and JPEG), and an escaped share page.
    for listing in &listings {
        let id = listing["id"].as_str().unwrap_or_default();
        for (format, content_type) in [("png", "image/png"), ("jpeg", "image/jpeg")] {
            let response = http()
                .get(svc.url(&format!("/api/og-image/{id}?format={format}")))
                .send()
                .await?;
            let status = response.status();
            let got_type = header(&response, "content-type");
            let bytes = response.bytes().await?;
            ensure!(
                status == 200,
                "{id} {format}: {status} {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
            ensure!(got_type == content_type, "{id}: {got_type}");
            assert_card(&bytes).with_context(|| format!("{id} {format}"))?;
        }
        let page = http().get(svc.url(&format!("/share/{id}"))).send().await?;
        ensure!(page.status() == 200, "share {id}: {}", page.status());
        let html = page.text().await?;
        for raw in [
            "<script",
            "<img src=http",
            "<iframe",
            "<style>@import",
            "<link rel=stylesheet",
        ] {
            ensure!(
                !html.contains(raw),
                "share page of {id} carries raw `{raw}`"
            );
        }
    }

    // Hostile requests: the documented status and JSON code, over a raw socket.
    let long_id = "a".repeat(65);
    let huge_id = "a".repeat(10 * 1024);
    let huge_query = format!(
        "/api/og-image/hostile-numbers?variant={}",
        "x".repeat(10 * 1024)
    );
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "/api/og-image/..%2F..%2Fetc%2Fpasswd".into(),
            400,
            "invalid-listing-id",
        ),
        ("/api/og-image/%2e%2e".into(), 400, "invalid-listing-id"),
        ("/api/og-image/..".into(), 400, "invalid-listing-id"),
        ("/api/og-image/dl-0001%00".into(), 400, "invalid-listing-id"),
        ("/api/og-image/%FF%FE%FD".into(), 400, "invalid-listing-id"),
        ("/api/og-image/%C0%AF".into(), 400, "invalid-listing-id"),
        (
            "/api/og-image/%E2%80%AEdl-0001".into(),
            400,
            "invalid-listing-id",
        ),
        (
            "/api/og-image/%3Cscript%3E".into(),
            400,
            "invalid-listing-id",
        ),
        (
            format!("/api/og-image/{long_id}"),
            400,
            "invalid-listing-id",
        ),
        (
            format!("/api/og-image/{huge_id}"),
            400,
            "invalid-listing-id",
        ),
        ("/api/og-image/../../etc/passwd".into(), 404, "not-found"),
        (
            "/api/og-image/dl-0001/../../admin/templates".into(),
            404,
            "not-found",
        ),
        ("/api/og-image/dl-0001/extra".into(), 404, "not-found"),
        ("/share/..%2Fadmin".into(), 400, "invalid-listing-id"),
        (huge_query, 414, "query-too-long"),
        (
            "/api/og-image/hostile-numbers?format=gif".into(),
            400,
            "invalid-format",
        ),
        (
            "/api/og-image/hostile-numbers?format=PNG".into(),
            400,
            "invalid-format",
        ),
        (
            "/api/og-image/hostile-numbers?format=png%00".into(),
            400,
            "invalid-format",
        ),
        (
            "/api/og-image/hostile-numbers?format=../../png".into(),
            400,
            "invalid-format",
        ),
        (
            "/api/og-image/hostile-numbers?foo=1".into(),
            400,
            "unknown-parameter",
        ),
        (
            "/api/og-image/hostile-numbers?%FF=1".into(),
            400,
            "unknown-parameter",
        ),
        (
            "/api/og-image/hostile-numbers?format=png&format=png".into(),
            400,
            "duplicate-parameter",
        ),
        (
            "/api/og-image/hostile-numbers?variant=%FF%FE".into(),
            400,
            "unknown-variant",
        ),
        (
            "/api/og-image/hostile-numbers?variant=..%2F..%2Fclassic".into(),
            400,
            "unknown-variant",
        ),
        (
            "/api/og-image/hostile-numbers?variant=%3Cscript%3E".into(),
            400,
            "unknown-variant",
        ),
        ("/admin/templates".into(), 404, "not-found"),
        // Render-check runs: a path or query never names an object outside a run's cards.
        (
            "/preview/diff?design=..%2F..%2Fmanifest".into(),
            422,
            "invalid-parameter",
        ),
        (
            "/preview/diff?design=classic&run=..%2F..%2Fmanifest.json".into(),
            422,
            "invalid-parameter",
        ),
        (
            "/preview/diff?design=classic&run=1764780000000-abcdef".into(),
            422,
            "no-check-run",
        ),
        (
            "/preview/diff/classic/1764780000000-abcdef/..%2F..%2Fmanifest.json/after.png".into(),
            404,
            "not-found",
        ),
        (
            "/preview/diff/classic/..%2Fdesigns/typical/after.png".into(),
            404,
            "not-found",
        ),
        (
            "/preview/diff/classic/1764780000000-abcdef/typical/run.json".into(),
            404,
            "not-found",
        ),
    ];
    for (path, status, code) in &cases {
        let (got, body) = raw_get(&addr, path, "").await?;
        let got_code = error_code(&body).with_context(|| format!("{path}: {got}"))?;
        ensure!(
            (got, got_code.as_str()) == (*status, *code),
            "{}: {got} {got_code}",
            &path[..path.len().min(120)]
        );
    }
    // A method the route does not have: 405 JSON, like every other error.
    let response = http().post(svc.url("/api/og-image/dl-0001")).send().await?;
    ensure!(response.status() == 405, "POST: {}", response.status());
    ensure!(error_code(&response.bytes().await?)? == "method-not-allowed");
    // A 64 KiB header is not ours to refuse (hyper's limits are larger) and changes nothing.
    let (status, _) = raw_get(
        &addr,
        "/healthz",
        &format!("X-Junk: {}\r\n", "j".repeat(64 * 1024)),
    )
    .await?;
    ensure!(status == 200, "a large header: {status}");
    // Too many headers is refused by the HTTP layer itself (hyper: 431, no body).
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let (status, _) = raw_get(&addr, "/healthz", &many).await?;
    ensure!(status == 431, "200 headers: {status}");

    // None arrived during the requests, and none arrives after them: the assertion is that none
    // ever does.
    listener
        .assert_untouched_for(STRAY_CONNECTION_GRACE)
        .await?;
    let _ = std::fs::remove_file(&file);
    svc.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_signing_keys_only_signed_urls_are_served_and_keys_rotate() -> anyhow::Result<()> {
    const OLD: &str = "6f6c642d6b65792d6f6c642d6b65792d6f6c642d6b65792d6f6c642d6b6579";
    const NEW: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let keys = format!("{NEW},{OLD}");
    let svc = TestService::start(&[
        ("SIGNING__KEYS", keys.as_str()),
        ("SERVER__PUBLIC_URL", "https://cards.example.com"),
    ])
    .await?;
    let addr = svc.base.trim_start_matches("http://").to_string();
    let signer = |key: &str| {
        card_service::settings::Settings::from_pairs([("SIGNING__KEYS", key)])
            .map(|s| s.signing.signer())
    };
    let (new, old) = (signer(NEW)?, signer(OLD)?);

    let path = "/api/og-image/dl-0001?format=jpeg";
    let signed_new = new.sign_path(path);
    let signed_old = old.sign_path(path);
    // Signed with either key: served (the first key signs, any verifies).
    for url in [&signed_new, &signed_old] {
        let response = http().get(svc.url(url)).send().await?;
        ensure!(response.status() == 200, "{url}: {}", response.status());
        assert_card(&response.bytes().await?)?;
    }
    // Refused: unsigned, tampered, signed for another path, a garbage or repeated signature.
    let sig = signed_new
        .rsplit_once("sig=")
        .map(|(_, s)| s)
        .unwrap_or_default();
    let cases: Vec<(String, u16, &str)> = vec![
        (path.into(), 403, "signature-required"),
        ("/api/og-image/dl-0001".into(), 403, "signature-required"),
        (signed_new.replace("jpeg", "png"), 403, "invalid-signature"),
        (
            format!("/api/og-image/dl-0002?format=jpeg&sig={sig}"),
            403,
            "invalid-signature",
        ),
        (format!("{path}&sig=AAAA"), 403, "invalid-signature"),
        (format!("{path}&sig=%FF%FE"), 403, "invalid-signature"),
        (format!("{signed_new}&sig={sig}"), 403, "invalid-signature"),
        (
            format!("/api/og-image/..%2Fx?sig={sig}"),
            403,
            "invalid-signature",
        ),
        // Signed hostile requests still get the answer their content deserves.
        (
            new.sign_path("/api/og-image/..%2F..%2Fetc"),
            400,
            "invalid-listing-id",
        ),
        (
            new.sign_path("/api/og-image/dl-0001?format=gif"),
            400,
            "invalid-format",
        ),
    ];
    for (url, status, code) in &cases {
        let (got, body) = raw_get(&addr, url, "").await?;
        ensure!(
            (got, error_code(&body)?.as_str()) == (*status, *code),
            "{url}: {got} {}",
            String::from_utf8_lossy(&body)
        );
    }
    // The share page links a signed image URL, which is served.
    let html = http()
        .get(svc.url("/share/dl-0001"))
        .send()
        .await?
        .text()
        .await?;
    let image = html
        .split("property=\"og:image\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no og:image")?
        .replace("&amp;", "&");
    ensure!(image.contains("&sig="), "unsigned og:image {image}");
    let local = image.replace("https://cards.example.com", "");
    let response = http().get(svc.url(&local)).send().await?;
    ensure!(response.status() == 200, "{local}: {}", response.status());
    svc.stop().await
}

/// The careless design (`fixture-unescaped`) puts the hostile titles into the page as live markup:
/// every way HTML can name a URL is now in the document, and the page still reaches nothing. The
/// one title that would navigate the page (`<meta http-equiv>`) is refused by the host: 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_design_that_does_not_escape_still_reaches_nothing() -> anyhow::Result<()> {
    let listener = CountingListener::start().await?;
    let listings = hostile_listings(&listener.addr());
    let file = std::env::temp_dir().join(format!(
        "card-e2e-hostile-design-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec(&json!({ "listings": listings }))?)?;
    let source = file.display().to_string();
    let svc = TestService::start(&[("LISTINGS__SOURCE", &source)]).await?;
    let titles: Vec<&Value> = listings
        .iter()
        .filter(|l| {
            l["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("hostile-title-"))
        })
        .collect();
    ensure!(titles.len() >= 8, "the corpus shrank");
    for (i, listing) in titles.iter().enumerate() {
        let id = listing["id"].as_str().unwrap_or_default();
        let response = http()
            .get(svc.url(&format!(
                "/api/og-image/{id}?variant=fixture-unescaped&format=jpeg"
            )))
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if i == titles.len() - 1 {
            ensure!(status == 500, "{id}: {status}");
            ensure!(error_code(&bytes)? == "template-failed");
        } else {
            ensure!(
                status == 200,
                "{id}: {status} {}",
                String::from_utf8_lossy(&bytes)
            );
            assert_card(&bytes).with_context(|| id.to_string())?;
        }
    }
    listener
        .assert_untouched_for(STRAY_CONNECTION_GRACE)
        .await?;
    let _ = std::fs::remove_file(&file);
    svc.stop().await
}

/// Bodies axum refuses before a handler runs answer JSON `{code, message}` like every other
/// error, and the sign-in form never sends a browser to another site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_bodies_answer_json_and_sign_in_never_redirects_off_site() -> anyhow::Result<()> {
    let svc = TestService::start(&[
        ("PLAYWRIGHT__ENABLED", "false"),
        ("ADMIN__TOKEN", ADMIN_TOKEN),
    ])
    .await?;
    // A design upload over its 32 MiB limit, a sign-in form over axum's default 2 MiB.
    for (request, what) in [
        (
            http()
                .put(svc.url("/admin/templates/huge"))
                .bearer_auth(ADMIN_TOKEN)
                .body(vec![0u8; 33 << 20]),
            "upload",
        ),
        (
            http()
                .post(svc.url("/admin/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![b'a'; 3 << 20]),
            "sign-in form",
        ),
    ] {
        let r = request.send().await?;
        let status = r.status();
        ensure!(status == 413, "{what}: {status}");
        ensure!(
            header(&r, "content-type").starts_with("application/json"),
            "{what}"
        );
        let body: Value = r.json().await?;
        ensure!(
            body["code"] == "body-too-large"
                && body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/admin/../x",
    ] {
        let form = format!(
            "token={ADMIN_TOKEN}&next={}",
            form_urlencoded_byte_serialize(next)
        );
        let r = no_redirects
            .post(svc.url("/admin/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await?;
        ensure!(r.status().is_redirection(), "{next}: {}", r.status());
        let location = header(&r, "location");
        ensure!(
            location == "/preview" || location.starts_with("/admin/"),
            "{next} → {location}"
        );
        ensure!(!location.contains("evil"), "{next} → {location}");
        ensure!(
            header(&r, "set-cookie").contains("HttpOnly")
                && header(&r, "set-cookie").contains("SameSite=Strict"),
            "{}",
            header(&r, "set-cookie")
        );
    }
    svc.stop().await
}

fn form_urlencoded_byte_serialize(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

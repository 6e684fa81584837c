//! Listing images: fetched by the service itself (never by the page) and inlined as `data:` URIs.
//!
//! Only `IMAGES__ALLOWED_HOSTS` are contacted, over http(s), with no redirects, a size and a
//! time limit, a DNS resolver that refuses loopback, private and link-local addresses, and the
//! content type sniffed from the bytes (the server's `Content-Type` is not trusted).
//! `sample:NAME` names an image embedded with the sample data set.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use crate::render::settings::ImageSettings;

include!(concat!(env!("OUT_DIR"), "/sample_images.rs"));

/// The first embedded sample image: the photo of the render checks' typical card.
pub(crate) fn first_sample_image() -> Option<&'static [u8]> {
    SAMPLE_IMAGES.first().map(|(_, bytes)| *bytes)
}

/// An embedded sample image by file name.
pub(crate) fn sample_image(name: &str) -> Option<&'static [u8]> {
    SAMPLE_IMAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("unsupported image URL scheme (only https://, http:// and sample: are accepted)")]
    Scheme,
    #[error("host `{0}` is not in IMAGES__ALLOWED_HOSTS")]
    HostNotAllowed(String),
    #[error("no sample image named `{0}`")]
    NoSuchSample(String),
    #[error("fetch failed: {0}")]
    Fetch(String),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("larger than IMAGES__MAX_BYTES ({0} bytes)")]
    TooLarge(usize),
    #[error("not a PNG, JPEG, WebP or GIF image")]
    NotAnImage,
    #[error("{0}x{1} pixels is more than IMAGES__MAX_PIXELS")]
    TooManyPixels(u64, u64),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Fetches listing images under the limits of `ImageSettings`.
#[derive(Clone)]
pub struct ImageFetcher {
    settings: ImageSettings,
    allowed: Arc<Vec<String>>,
    client: reqwest::Client,
}

impl ImageFetcher {
    pub fn new(settings: ImageSettings) -> Self {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let resolver = PublicResolver {
            allow_private: settings.allow_private_addresses,
        };
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver))
            .user_agent(concat!(
                "dealbrain-card-service/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let allowed = Arc::new(settings.allowed_hosts());
        Self {
            settings,
            allowed,
            client,
        }
    }

    /// The image as a `data:` URI, or why not. Callers render without the image on error.
    pub async fn data_uri(&self, url: &str) -> Result<String, ImageError> {
        let bytes = if let Some(name) = url.strip_prefix("sample:") {
            sample_image(name)
                .ok_or_else(|| ImageError::NoSuchSample(name.into()))?
                .to_vec()
        } else {
            let timeout = Duration::from_millis(self.settings.timeout_ms);
            tokio::time::timeout(timeout, self.fetch(url))
                .await
                .map_err(|_| ImageError::Timeout(timeout))??
        };
        self.to_data_uri(&bytes)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, ImageError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| ImageError::Scheme)?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(ImageError::Scheme);
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        if !self.allowed.contains(&host) {
            return Err(ImageError::HostNotAllowed(host));
        }
        // An IP literal bypasses the resolver: check it here.
        if let Ok(ip) = host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            && !self.settings.allow_private_addresses
            && !is_public(ip)
        {
            return Err(ImageError::Fetch(format!("address {ip} is not public")));
        }
        let mut response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(|e| ImageError::Fetch(without_url(e)))?;
        if !response.status().is_success() {
            return Err(ImageError::Status(response.status().as_u16()));
        }
        let max = self.settings.max_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(ImageError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ImageError::Fetch(without_url(e)))?
        {
            if body.len() + chunk.len() > max {
                return Err(ImageError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn to_data_uri(&self, bytes: &[u8]) -> Result<String, ImageError> {
        if bytes.len() > self.settings.max_bytes {
            return Err(ImageError::TooLarge(self.settings.max_bytes));
        }
        let mime = sniff(bytes).ok_or(ImageError::NotAnImage)?;
        let size = imagesize::blob_size(bytes).map_err(|_| ImageError::NotAnImage)?;
        let (w, h) = (size.width as u64, size.height as u64);
        if w == 0 || h == 0 || w.saturating_mul(h) > self.settings.max_pixels {
            return Err(ImageError::TooManyPixels(w, h));
        }
        let mut uri = format!("data:{mime};base64,");
        base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut uri);
        Ok(uri)
    }
}

/// The MIME type from the magic bytes; `None` for anything that is not a raster image we allow.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// reqwest errors carry the URL, which may hold a signed query string: keep it out of logs.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// `true` for addresses a server on the public internet may have.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

/// DNS resolution that drops non-public addresses, so a name cannot point the fetcher inside the network.
struct PublicResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(hosts: &str) -> ImageFetcher {
        ImageFetcher::new(ImageSettings {
            allowed_hosts: hosts.into(),
            ..ImageSettings::default()
        })
    }

    #[tokio::test]
    async fn sample_images_inline_as_data_uris() {
        let (name, _) = SAMPLE_IMAGES.first().expect("sample images are embedded");
        let uri = fetcher("")
            .data_uri(&format!("sample:{name}"))
            .await
            .unwrap();
        assert!(uri.starts_with("data:image/"), "{}", &uri[..30]);
    }

    #[tokio::test]
    async fn hosts_outside_the_allow_list_are_refused() {
        let err = fetcher("images.example.com")
            .data_uri("https://evil.example.net/a.png")
            .await
            .unwrap_err();
        assert!(matches!(err, ImageError::HostNotAllowed(_)), "{err}");
        let err = fetcher("")
            .data_uri("file:///etc/passwd")
            .await
            .unwrap_err();
        assert!(matches!(err, ImageError::Scheme), "{err}");
        let err = fetcher("")
            .data_uri("sample:../../etc/passwd")
            .await
            .unwrap_err();
        assert!(matches!(err, ImageError::NoSuchSample(_)), "{err}");
    }

    #[tokio::test]
    async fn private_addresses_are_refused_even_when_allowed_by_name() {
        let err = fetcher("127.0.0.1,localhost")
            .data_uri("http://127.0.0.1:9/a.png")
            .await
            .unwrap_err();
        assert!(matches!(err, ImageError::Fetch(_)), "{err}");
        let err = fetcher("localhost")
            .data_uri("http://localhost:9/a.png")
            .await
            .unwrap_err();
        assert!(matches!(err, ImageError::Fetch(_)), "{err}");
    }

    #[test]
    fn non_images_are_refused() {
        let f = fetcher("");
        assert!(matches!(
            f.to_data_uri(b"<svg onload=alert(1)>"),
            Err(ImageError::NotAnImage)
        ));
        assert!(matches!(f.to_data_uri(b""), Err(ImageError::NotAnImage)));
    }

    #[test]
    fn address_classes() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}

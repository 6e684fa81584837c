//! Signed image URLs, as imgproxy does them: HMAC-SHA256 over the path and the query, keys that
//! rotate (the first signs, any verifies), the signature in the `sig` query parameter.
//!
//! The signed message is the raw path, then `?` and the raw query with every `sig=…` segment
//! removed, in the order received, when anything remains (`/api/og-image/dl-0001?variant=bold`).
//! Raw means as sent, percent-encoding included: a proxy that re-encodes URLs breaks signatures.
//! The signature is base64url without padding (43 characters).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The query parameter that carries the signature.
pub const SIGNATURE_PARAM: &str = "sig";

/// Bytes of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// The shortest key accepted, in bytes (`openssl rand -hex 32` gives 32).
pub const MIN_KEY_LEN: usize = 16;

/// Why a request's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// Signing is on and the query has no `sig`.
    Required,
    /// `sig` is repeated, not base64url, the wrong length, or matches no key.
    Invalid,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required => f.write_str("this URL must be signed (`sig` query parameter)"),
            Self::Invalid => f.write_str("the URL's signature does not match"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// A key in `SIGNING__KEYS` that cannot be used; the index is 1-based, the reason says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub index: usize,
    pub reason: &'static str,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {}: {}", self.index, self.reason)
    }
}

impl std::error::Error for KeyError {}

/// Comma-separated keys, each hex (an even number of hex digits) or else base64 (standard or
/// URL-safe, padding optional), each at least [`MIN_KEY_LEN`] bytes. Empty entries are skipped.
pub fn parse_keys(value: &str) -> Result<Vec<Vec<u8>>, KeyError> {
    let mut keys = Vec::new();
    for (i, text) in value.split(',').map(str::trim).enumerate() {
        if text.is_empty() {
            continue;
        }
        let error = |reason| KeyError {
            index: i + 1,
            reason,
        };
        let is_hex = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
        let key = if is_hex {
            hex::decode(text).map_err(|_| error("not valid hex"))?
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or_else(|| error("neither hex nor base64"))?
        };
        if key.len() < MIN_KEY_LEN {
            return Err(error("shorter than 16 bytes (use `openssl rand -hex 32`)"));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The bytes that are signed: the path, and the query without its `sig` segments when any remain.
pub fn canonical_message(path: &str, query: Option<&str>) -> String {
    let rest: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|segment| !segment.is_empty() && !is_signature_segment(segment))
        .collect();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

fn is_signature_segment(segment: &str) -> bool {
    segment.split('=').next() == Some(SIGNATURE_PARAM)
}

/// Signs and verifies URLs with rotatable keys; without keys it signs nothing and accepts all.
#[derive(Clone, Default)]
pub struct Signer {
    keys: Vec<Vec<u8>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Signer {
    /// The first key signs; every key verifies.
    pub fn new(keys: Vec<Vec<u8>>) -> Self {
        Self { keys }
    }

    /// From the `SIGNING__KEYS` form (see [`parse_keys`]).
    pub fn from_keys_setting(value: &str) -> Result<Self, KeyError> {
        parse_keys(value).map(Self::new)
    }

    /// Whether URLs must be signed.
    pub fn is_enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The signature of a path and query with the first key; none when signing is off.
    pub fn signature(&self, path: &str, query: Option<&str>) -> Option<String> {
        let key = self.keys.first()?;
        Some(URL_SAFE_NO_PAD.encode(tag(key, &canonical_message(path, query))))
    }

    /// `path?query` with `sig=…` appended (replacing any it had); unchanged when signing is off.
    pub fn sign_path(&self, path_and_query: &str) -> String {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let Some(sig) = self.signature(path, query) else {
            return path_and_query.to_string();
        };
        let unsigned = canonical_message(path, query);
        let separator = if unsigned.contains('?') { '&' } else { '?' };
        format!("{unsigned}{separator}{SIGNATURE_PARAM}={sig}")
    }

    /// Checks the request's `sig` against every key, in constant time per key; always `Ok` when
    /// signing is off.
    pub fn verify(&self, path: &str, query: Option<&str>) -> Result<(), SignatureError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let mut presented = query
            .unwrap_or_default()
            .split('&')
            .filter(|segment| is_signature_segment(segment));
        let Some(segment) = presented.next() else {
            return Err(SignatureError::Required);
        };
        if presented.next().is_some() {
            return Err(SignatureError::Invalid);
        }
        let encoded = segment
            .strip_prefix(SIGNATURE_PARAM)
            .and_then(|s| s.strip_prefix('='))
            .unwrap_or_default();
        let presented = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| SignatureError::Invalid)?;
        if presented.len() != TAG_LEN {
            return Err(SignatureError::Invalid);
        }
        let message = canonical_message(path, query);
        // Every key is tried, so the time taken does not say which one matched.
        let matched = self.keys.iter().fold(subtle::Choice::from(0), |any, key| {
            any | tag(key, &message).ct_eq(presented.as_slice())
        });
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

fn tag(key: &[u8], message: &str) -> [u8; TAG_LEN] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn signer(keys: &str) -> Signer {
        Signer::from_keys_setting(keys).unwrap()
    }

    #[test]
    fn a_known_vector_matches_openssl() {
        // printf '/api/og-image/dl-0001?variant=classic' |
        //   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f -binary | basenc --base64url | tr -d =
        let s = signer(HEX_KEY);
        let signed = s.sign_path("/api/og-image/dl-0001?variant=classic");
        let sig = signed.rsplit_once("sig=").unwrap().1;
        assert_eq!(sig, "TIlXjtlj2m3WFt1n5N3xNp8Bm5a-dlYhoLziaU9m8kU");
    }

    #[test]
    fn signed_urls_verify_and_tampered_ones_do_not() {
        let s = signer(HEX_KEY);
        for url in ["/api/og-image/dl-0001", "/api/og-image/dl-0001?format=webp"] {
            let signed = s.sign_path(url);
            let (path, query) = signed.split_once('?').unwrap();
            assert_eq!(s.verify(path, Some(query)), Ok(()), "{signed}");
            assert_eq!(
                s.verify("/api/og-image/dl-0002", Some(query)),
                Err(SignatureError::Invalid)
            );
            assert_eq!(
                s.verify(path, Some(&format!("{query}&format=png"))),
                Err(SignatureError::Invalid)
            );
        }
        // The signature may sit anywhere in the query.
        let sig = s.signature("/p", Some("a=1")).unwrap();
        assert_eq!(s.verify("/p", Some(&format!("sig={sig}&a=1"))), Ok(()));
        assert_eq!(s.verify("/p", Some("a=1")), Err(SignatureError::Required));
        assert_eq!(s.verify("/p", None), Err(SignatureError::Required));
        assert_eq!(
            s.verify("/p", Some(&format!("a=1&sig={sig}&sig={sig}"))),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify("/p", Some("a=1&sig=!!")),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify("/p", Some("a=1&sig=AAAA")),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify("/p", Some("a=1&sig")),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn keys_rotate_the_first_signs_any_verifies() {
        let old = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleQ";
        let new_key = HEX_KEY;
        let before = signer(old).sign_path("/p?a=1");
        let during = signer(&format!("{new_key}, {old}"));
        let (path, query) = before.split_once('?').unwrap();
        assert_eq!(during.verify(path, Some(query)), Ok(()));
        let fresh = during.sign_path("/p?a=1");
        assert_ne!(fresh, before, "the first key signs");
        let after = signer(new_key);
        assert_eq!(
            after.verify(path, Some(query)),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn without_keys_nothing_is_signed_or_checked() {
        let s = signer(" , ");
        assert!(!s.is_enabled());
        assert_eq!(s.sign_path("/p?a=1"), "/p?a=1");
        assert_eq!(s.verify("/p", None), Ok(()));
    }

    #[test]
    fn keys_are_hex_or_base64_and_long_enough() {
        assert_eq!(parse_keys(HEX_KEY).unwrap()[0].len(), 32);
        let b64 = STANDARD.encode([7u8; 24]);
        assert_eq!(parse_keys(&b64).unwrap()[0], vec![7u8; 24]);
        let url = URL_SAFE_NO_PAD.encode([0xfbu8; 20]);
        assert_eq!(parse_keys(&url).unwrap()[0], vec![0xfbu8; 20]);
        assert_eq!(parse_keys("").unwrap().len(), 0);
        assert_eq!(parse_keys(&format!("{HEX_KEY},,{b64}")).unwrap().len(), 2);
        assert_eq!(parse_keys(&format!("{HEX_KEY},abcd")).unwrap_err().index, 2);
        assert!(parse_keys("not a key!").is_err());
    }

    #[test]
    fn sign_path_replaces_an_old_signature() {
        let s = signer(HEX_KEY);
        let once = s.sign_path("/p?a=1");
        assert_eq!(s.sign_path(&once), once);
        assert_eq!(s.sign_path("/p").matches("sig=").count(), 1);
    }
}

//! Signed admin sessions for browsers: the cookie set by `/admin/login`, and the CSRF token its
//! forms carry.
//!
//! The key is derived from the admin token (HMAC-SHA256 of a fixed label keyed by the token), so
//! every instance of a fleet verifies every other's sessions with nothing stored, and changing
//! `ADMIN__TOKEN` ends every session. A cookie value is `v1.{expires}.{nonce}.{tag}`: the Unix
//! second it expires at, 16 random bytes in hex (chosen by the caller, so this stays pure), and
//! the base64url HMAC of the rest. The CSRF token is an HMAC of the nonce under a second label:
//! a page can only know it by having been served to a holder of the cookie.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const SESSION_COOKIE: &str = "card_admin";

/// The longest cookie value looked at; a longer one is refused unparsed.
const MAX_VALUE_LEN: usize = 128;

/// Why a session cookie or a CSRF token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// Not of the `v1.{expires}.{nonce}.{tag}` shape, or the tag does not match: forged.
    Forged,
    /// Well signed but past its expiry.
    Expired,
    /// A form post without a CSRF token, or with one that is not this session's.
    Csrf,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Forged => "the session cookie is not one this service signed",
            Self::Expired => "the session has expired",
            Self::Csrf => "the form's CSRF token is missing or is not this session's",
        })
    }
}

impl std::error::Error for SessionError {}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Unix seconds.
    pub expires: u64,
    nonce: String,
}

/// Issues and verifies sessions under a key derived from the admin token.
#[derive(Clone)]
pub struct SessionKey {
    key: [u8; 32],
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

impl SessionKey {
    /// The session key of an admin token.
    pub fn derive(admin_token: &str) -> Self {
        Self {
            key: hmac(admin_token.as_bytes(), b"card-service admin session v1"),
        }
    }

    /// A cookie value valid until `expires` (Unix seconds); `nonce` must be fresh random bytes.
    pub fn issue(&self, expires: u64, nonce: [u8; 16]) -> (String, Session) {
        let nonce = hex::encode(nonce);
        let body = format!("v1.{expires}.{nonce}");
        let tag = URL_SAFE_NO_PAD.encode(hmac(&self.key, body.as_bytes()));
        (format!("{body}.{tag}"), Session { expires, nonce })
    }

    /// The session a cookie value names, if this key signed it and it has not expired at `now`.
    pub fn verify(&self, value: &str, now: u64) -> Result<Session, SessionError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(SessionError::Forged);
        }
        let (body, tag) = value.rsplit_once('.').ok_or(SessionError::Forged)?;
        let expected = hmac(&self.key, body.as_bytes());
        let presented = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| SessionError::Forged)?;
        if presented.len() != expected.len() || !bool::from(presented.ct_eq(&expected)) {
            return Err(SessionError::Forged);
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(expires), Some(nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SessionError::Forged);
        };
        let expires: u64 = expires.parse().map_err(|_| SessionError::Forged)?;
        if now >= expires {
            return Err(SessionError::Expired);
        }
        Ok(Session {
            expires,
            nonce: nonce.to_owned(),
        })
    }

    /// The CSRF token of a session: what its forms carry.
    pub fn csrf(&self, session: &Session) -> String {
        let mut message = b"csrf.".to_vec();
        message.extend_from_slice(session.nonce.as_bytes());
        URL_SAFE_NO_PAD.encode(hmac(&self.key, &message))
    }

    /// Checks a form's CSRF token against the session's, in constant time.
    pub fn check_csrf(
        &self,
        session: &Session,
        presented: Option<&str>,
    ) -> Result<(), SessionError> {
        let expected = self.csrf(session);
        match presented {
            Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
            _ => Err(SessionError::Csrf),
        }
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn an_issued_session_verifies_until_it_expires() {
        let key = SessionKey::derive("0123456789abcdef-admin");
        let (cookie, session) = key.issue(NOW + 60, [7; 16]);
        assert_eq!(key.verify(&cookie, NOW), Ok(session.clone()));
        assert_eq!(
            key.verify(&cookie, NOW + 59).map(|s| s.expires),
            Ok(NOW + 60)
        );
        assert_eq!(key.verify(&cookie, NOW + 60), Err(SessionError::Expired));
        assert!(cookie.len() <= MAX_VALUE_LEN);
    }

    #[test]
    fn a_changed_byte_another_token_or_a_bad_shape_is_forged() {
        let key = SessionKey::derive("0123456789abcdef-admin");
        let (cookie, _) = key.issue(NOW + 60, [7; 16]);
        // Extending the expiry breaks the tag.
        let extended = cookie.replacen(&(NOW + 60).to_string(), &(NOW + 6000).to_string(), 1);
        assert_eq!(key.verify(&extended, NOW), Err(SessionError::Forged));
        let other = SessionKey::derive("another-admin-token-0000");
        assert_eq!(other.verify(&cookie, NOW), Err(SessionError::Forged));
        for bad in ["", "v1", "v1.1.2", "v1.x.y.z", &"a".repeat(200), "v2.1.2.3"] {
            assert_eq!(key.verify(bad, NOW), Err(SessionError::Forged), "{bad:?}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let key = SessionKey::derive("0123456789abcdef-admin");
        let (_, one) = key.issue(NOW + 60, [1; 16]);
        let (_, two) = key.issue(NOW + 60, [2; 16]);
        let token = key.csrf(&one);
        assert_eq!(key.check_csrf(&one, Some(&token)), Ok(()));
        assert_eq!(key.check_csrf(&two, Some(&token)), Err(SessionError::Csrf));
        assert_eq!(key.check_csrf(&one, None), Err(SessionError::Csrf));
        assert_eq!(key.check_csrf(&one, Some("")), Err(SessionError::Csrf));
    }
}

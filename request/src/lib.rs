//! What a card request may say, checked without any I/O: the listing id, the image query, the
//! URL signature and the admin session cookie.
//!
//! Everything here is a pure function of the bytes a client sent, so it is fuzzed on its own
//! (`fuzz/`, `cargo xtask fuzz`) and the service only maps these errors to HTTP answers.

mod design;
mod format;
mod id;
mod query;
mod session;
mod signature;

pub use design::{MAX_DESIGN_NAME_LEN, is_design_name};
pub use format::ImageFormat;
pub use id::{MAX_ID_LEN, is_valid_id};
pub use query::{ImageQuery, MAX_QUERY_LEN, QueryError};
pub use session::{SESSION_COOKIE, Session, SessionError, SessionKey};
pub use signature::{
    KeyError, SIGNATURE_PARAM, SignatureError, Signer, canonical_message, parse_keys,
};

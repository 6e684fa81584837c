//! The image query: `?variant=NAME&format=png|jpeg|webp`, plus the signature parameter.

use std::fmt;

use crate::format::ImageFormat;
use crate::signature::SIGNATURE_PARAM;

/// The longest raw query string accepted, in bytes (with the signature, `variant` and `format`
/// need far less).
pub const MAX_QUERY_LEN: usize = 256;

/// What the query string may say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImageQuery {
    /// `?variant=NAME`: a variant of the experiment or a live design (checked by the service).
    pub variant: Option<String>,
    pub format: ImageFormat,
}

/// Why a query was refused; each maps to one documented status and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Longer than [`MAX_QUERY_LEN`].
    TooLong,
    /// A parameter other than `variant`, `format` and `sig` (its name, cut to 32 characters).
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(&'static str),
    /// `format` is not png, jpeg (jpg) or webp.
    InvalidFormat,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => write!(f, "query string longer than {MAX_QUERY_LEN} bytes"),
            Self::UnknownParameter(name) => write!(
                f,
                "unknown query parameter `{name}`; allowed: variant, format, {SIGNATURE_PARAM}"
            ),
            Self::DuplicateParameter(name) => {
                write!(f, "query parameter `{name}` given more than once")
            }
            Self::InvalidFormat => f.write_str("format must be one of png, jpeg, webp"),
        }
    }
}

impl std::error::Error for QueryError {}

impl ImageQuery {
    /// Parses `variant` and `format` (percent-decoded; invalid UTF-8 becomes U+FFFD, which no
    /// variant name contains). `sig` is allowed once and left to [`crate::Signer::verify`].
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let mut query = Self::default();
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(query);
        };
        if raw.len() > MAX_QUERY_LEN {
            return Err(QueryError::TooLong);
        }
        let (mut seen_format, mut seen_sig) = (false, false);
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            match name.as_ref() {
                "variant" if query.variant.is_some() => {
                    return Err(QueryError::DuplicateParameter("variant"));
                }
                "variant" => query.variant = Some(value.into_owned()),
                "format" if seen_format => return Err(QueryError::DuplicateParameter("format")),
                "format" => {
                    seen_format = true;
                    query.format = ImageFormat::parse(&value).ok_or(QueryError::InvalidFormat)?;
                }
                SIGNATURE_PARAM if seen_sig => {
                    return Err(QueryError::DuplicateParameter(SIGNATURE_PARAM));
                }
                SIGNATURE_PARAM => seen_sig = true,
                other => {
                    return Err(QueryError::UnknownParameter(
                        other.chars().take(32).collect(),
                    ));
                }
            }
        }
        Ok(query)
    }

    /// The query that means this (`variant` then `format`, `format` only when not PNG), without
    /// the leading `?`; empty for the defaults.
    pub fn to_query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        if let Some(variant) = &self.variant {
            out.append_pair("variant", variant);
        }
        if self.format != ImageFormat::Png {
            out.append_pair("format", self.format.name());
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_variant_format_and_one_signature() {
        let q = ImageQuery::parse(Some("format=webp&variant=classic&sig=abc")).unwrap();
        assert_eq!(q.format, ImageFormat::Webp);
        assert_eq!(q.variant.as_deref(), Some("classic"));
        assert_eq!(ImageQuery::parse(None).unwrap(), ImageQuery::default());
        assert_eq!(ImageQuery::parse(Some("")).unwrap(), ImageQuery::default());
        assert_eq!(
            ImageQuery::parse(Some("format=jpg")).unwrap().format,
            ImageFormat::Jpeg
        );
    }

    #[test]
    fn refuses_everything_else() {
        let err = |raw: &str| ImageQuery::parse(Some(raw)).unwrap_err();
        assert_eq!(err("format=gif"), QueryError::InvalidFormat);
        assert_eq!(err("format=PNG"), QueryError::InvalidFormat);
        assert_eq!(err("size=10"), QueryError::UnknownParameter("size".into()));
        assert_eq!(
            err("format=png&format=jpeg"),
            QueryError::DuplicateParameter("format")
        );
        assert_eq!(
            err("variant=a&variant=b"),
            QueryError::DuplicateParameter("variant")
        );
        assert_eq!(err("sig=a&sig=b"), QueryError::DuplicateParameter("sig"));
        assert_eq!(err(&"a".repeat(MAX_QUERY_LEN + 1)), QueryError::TooLong);
        assert_eq!(
            err(&format!("{}=1", "x".repeat(100))),
            QueryError::UnknownParameter("x".repeat(32))
        );
    }

    #[test]
    fn invalid_utf8_and_encoded_names_are_decoded_not_trusted() {
        let q = ImageQuery::parse(Some("variant=%FF%FE")).unwrap();
        assert_eq!(q.variant.as_deref(), Some("\u{FFFD}\u{FFFD}"));
        // An encoded `format` is still `format`: one meaning however it is spelled.
        assert_eq!(
            ImageQuery::parse(Some("f%6Frmat=webp")).unwrap().format,
            ImageFormat::Webp
        );
    }

    #[test]
    fn the_query_string_round_trips() {
        for raw in [
            "",
            "variant=classic",
            "format=webp",
            "variant=a+b%26c&format=jpeg",
        ] {
            let q = ImageQuery::parse(Some(raw)).unwrap();
            assert_eq!(ImageQuery::parse(Some(&q.to_query_string())).unwrap(), q);
        }
    }
}

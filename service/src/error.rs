//! The one error type HTTP handlers return, and its JSON `{code, message}` response.
//!
//! Client errors say what to fix. Server errors carry their internal detail for the log only:
//! the response shows a fixed message, never internals.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use card_control::{ControlError, Refused};
use card_request::SessionError;

use crate::experiments::PickError;
use crate::render::RenderError;
use crate::render::browser::BrowserError;
use crate::render::designs::DesignError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("listing id must match [A-Za-z0-9_-]{{1,64}}")]
    InvalidListingId,
    #[error("no listing with id `{0}`")]
    ListingNotFound(String),
    #[error("format must be one of png, jpeg, webp")]
    InvalidFormat,
    #[error("unknown variant `{0}`; live variants: {1}")]
    UnknownVariant(String, String),
    #[error("unknown query parameter `{0}`; allowed: variant, format, sig")]
    UnknownParameter(String),
    #[error("query parameter `{0}` given more than once")]
    DuplicateParameter(&'static str),
    #[error("query string longer than {} bytes", card_request::MAX_QUERY_LEN)]
    QueryTooLong,
    #[error("the User-Agent must be visible ASCII of at most {0} bytes")]
    InvalidUserAgent(usize),
    /// `SIGNING__KEYS` is set and the URL carries no `sig`.
    #[error("this URL must be signed (`sig` query parameter)")]
    SignatureRequired,
    /// The `sig` matches none of `SIGNING__KEYS` (or is malformed).
    #[error("the URL's signature does not match")]
    InvalidSignature,
    #[error("design `{design}` rejected this listing: {message}")]
    DesignRejected { design: String, message: String },
    #[error("design `{design}` failed to render this card")]
    DesignFailed { design: String, detail: String },
    #[error(
        "rendering is disabled on this instance (PLAYWRIGHT__ENABLED=false) and the image is not cached"
    )]
    RenderingDisabled,
    #[error("too many renders in progress; retry shortly")]
    Overloaded { retry_after: Duration },
    #[error("rendering took longer than its deadline; retry shortly")]
    RenderTimeout { retry_after: Duration },
    #[error("the browser failed to render this card; retry shortly")]
    BrowserUnavailable { detail: String },
    #[error("the {format} encoder failed for this card")]
    EncodeFailed {
        format: &'static str,
        detail: String,
    },
    #[error("the listing source is unavailable; retry shortly")]
    ListingSourceUnavailable { detail: String },
    #[error("not found")]
    NotFound,
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// A browser's session cookie is forged or expired, or a form's CSRF token is wrong.
    #[error("{0}; sign in again at /admin/login")]
    Session(card_request::SessionError),
    /// A request body an admin endpoint cannot accept; the message says why.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The request conflicts with the current state (e.g. deleting a design an experiment serves).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The bucket holding the control plane does not answer: nothing was changed.
    #[error("the control plane (S3) is unavailable; nothing was changed; retry shortly")]
    ControlPlaneUnavailable { detail: String },
    /// Every conditional write of the manifest lost to another change.
    #[error(
        "the control plane kept changing under this request ({attempts} attempts; revision {revision} is current); nothing was changed; retry"
    )]
    ControlPlaneConflict { attempts: u32, revision: u64 },
    /// The manifest in the bucket does not parse: an operator must repair it.
    #[error(
        "the control plane's manifest (control/manifest.json) is broken; nothing was changed; `cargo xtask designs list` shows why"
    )]
    ControlPlaneCorrupt { detail: String },
    #[error("internal error")]
    Internal(String),
    /// A design upload failed a refusing render check; `checks` is the whole report.
    #[error("{message}")]
    DesignCheckFailed {
        message: String,
        checks: serde_json::Value,
    },
    /// A request axum refused before any handler ran (a body over its limit, a wrong content
    /// type, a body that does not parse): its status, and axum's text as the message.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
    /// The render checks' report of a `design-check-failed` upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidListingId
            | ApiError::InvalidFormat
            | ApiError::UnknownVariant(..)
            | ApiError::UnknownParameter(_)
            | ApiError::DuplicateParameter(_)
            | ApiError::InvalidUserAgent(_) => StatusCode::BAD_REQUEST,
            ApiError::QueryTooLong => StatusCode::URI_TOO_LONG,
            ApiError::SignatureRequired | ApiError::InvalidSignature => StatusCode::FORBIDDEN,
            ApiError::ListingNotFound(_) | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Session(SessionError::Csrf) => StatusCode::FORBIDDEN,
            ApiError::Session(_) => StatusCode::UNAUTHORIZED,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } | ApiError::ControlPlaneConflict { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::ControlPlaneUnavailable { .. } | ApiError::ControlPlaneCorrupt { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::DesignRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::DesignFailed { .. }
            | ApiError::EncodeFailed { .. }
            | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::ListingSourceUnavailable { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Rejected { status, .. } => *status,
            ApiError::DesignCheckFailed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RenderingDisabled
            | ApiError::Overloaded { .. }
            | ApiError::RenderTimeout { .. }
            | ApiError::BrowserUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Stable, kebab-case code clients can match on.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidListingId => "invalid-listing-id",
            ApiError::ListingNotFound(_) => "listing-not-found",
            ApiError::InvalidFormat => "invalid-format",
            ApiError::UnknownVariant(..) => "unknown-variant",
            ApiError::UnknownParameter(_) => "unknown-parameter",
            ApiError::DuplicateParameter(_) => "duplicate-parameter",
            ApiError::QueryTooLong => "query-too-long",
            ApiError::InvalidUserAgent(_) => "invalid-user-agent",
            ApiError::SignatureRequired => "signature-required",
            ApiError::InvalidSignature => "invalid-signature",
            ApiError::DesignRejected { .. } => "template-rejected",
            ApiError::DesignFailed { .. } => "template-failed",
            ApiError::RenderingDisabled => "rendering-disabled",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::RenderTimeout { .. } => "render-timeout",
            ApiError::BrowserUnavailable { .. } => "browser-unavailable",
            ApiError::EncodeFailed { .. } => "encode-failed",
            ApiError::ListingSourceUnavailable { .. } => "listing-source-unavailable",
            ApiError::NotFound => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Session(SessionError::Forged) => "session-invalid",
            ApiError::Session(SessionError::Expired) => "session-expired",
            ApiError::Session(SessionError::Csrf) => "csrf-invalid",
            ApiError::Invalid { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::ControlPlaneUnavailable { .. } => "control-plane-unavailable",
            ApiError::ControlPlaneConflict { .. } => "control-plane-conflict",
            ApiError::ControlPlaneCorrupt { .. } => "control-plane-corrupt",
            ApiError::Internal(_) => "internal",
            ApiError::DesignCheckFailed { .. } => "design-check-failed",
            ApiError::Rejected { status, .. } => match *status {
                StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
                StatusCode::UNPROCESSABLE_ENTITY => "body-invalid",
                StatusCode::LENGTH_REQUIRED => "length-required",
                _ => "bad-request",
            },
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Overloaded { retry_after } | ApiError::RenderTimeout { retry_after } => {
                Some(*retry_after)
            }
            ApiError::BrowserUnavailable { .. } | ApiError::ListingSourceUnavailable { .. } => {
                Some(Duration::from_secs(2))
            }
            ApiError::RenderingDisabled => Some(Duration::from_secs(60)),
            ApiError::ControlPlaneUnavailable { .. } | ApiError::ControlPlaneCorrupt { .. } => {
                Some(Duration::from_secs(5))
            }
            _ => None,
        }
    }

    /// Internal detail worth a log line; never sent to the client.
    fn detail(&self) -> Option<&str> {
        match self {
            ApiError::DesignFailed { detail, .. }
            | ApiError::EncodeFailed { detail, .. }
            | ApiError::BrowserUnavailable { detail }
            | ApiError::ListingSourceUnavailable { detail }
            | ApiError::ControlPlaneUnavailable { detail }
            | ApiError::ControlPlaneCorrupt { detail }
            | ApiError::Internal(detail) => Some(detail),
            _ => None,
        }
    }
}

/// How long a client should wait before retrying a render that failed for lack of capacity.
const RENDER_RETRY_AFTER: Duration = Duration::from_secs(2);

impl From<&RenderError> for ApiError {
    fn from(e: &RenderError) -> Self {
        match e {
            RenderError::Disabled => ApiError::RenderingDisabled,
            RenderError::Overloaded => ApiError::Overloaded {
                retry_after: RENDER_RETRY_AFTER,
            },
            RenderError::Design {
                design,
                source: DesignError::Rejected(message),
            } => ApiError::DesignRejected {
                design: design.clone(),
                message: message.clone(),
            },
            RenderError::Design { design, source } => ApiError::DesignFailed {
                design: design.clone(),
                detail: source.to_string(),
            },
            RenderError::Encode { format, detail } => ApiError::EncodeFailed {
                format,
                detail: detail.clone(),
            },
            RenderError::Browser(BrowserError::Deadline(_)) => ApiError::RenderTimeout {
                retry_after: RENDER_RETRY_AFTER,
            },
            RenderError::Browser(other) => ApiError::BrowserUnavailable {
                detail: other.to_string(),
            },
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Unavailable(detail) => ApiError::ControlPlaneUnavailable { detail },
            ControlError::Missing(key) => ApiError::ControlPlaneUnavailable {
                detail: format!("{key}: missing"),
            },
            ControlError::Conflict { attempts, revision } => {
                ApiError::ControlPlaneConflict { attempts, revision }
            }
            ControlError::Corrupt { key, message } => ApiError::ControlPlaneCorrupt {
                detail: format!("{key}: {message}"),
            },
            ControlError::Refused(refused) => {
                let message = refused.to_string();
                match refused {
                    Refused::NotLive(_) => ApiError::NotFound,
                    Refused::NoEarlierVersion(_) => ApiError::Conflict {
                        code: "no-earlier-version",
                        message,
                    },
                    Refused::InUse { .. } => ApiError::Conflict {
                        code: "template-in-use",
                        message,
                    },
                    Refused::Invalid(_) => ApiError::Invalid {
                        code: "control-change-invalid",
                        message,
                    },
                    Refused::NotInForce(_) => ApiError::Conflict {
                        code: "experiment-not-running",
                        message,
                    },
                    Refused::NoSuchVariant { .. } => ApiError::Invalid {
                        code: "unknown-variant",
                        message,
                    },
                    Refused::DesignGone { .. } => ApiError::Conflict {
                        code: "design-not-live",
                        message,
                    },
                }
            }
        }
    }
}

impl From<PickError> for ApiError {
    fn from(e: PickError) -> Self {
        match e {
            PickError::UnknownVariant { name, known } => ApiError::UnknownVariant(name, known),
            e @ PickError::NotLive { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<card_request::QueryError> for ApiError {
    fn from(e: card_request::QueryError) -> Self {
        use card_request::QueryError;
        match e {
            QueryError::TooLong => ApiError::QueryTooLong,
            QueryError::UnknownParameter(name) => ApiError::UnknownParameter(name),
            QueryError::DuplicateParameter(name) => ApiError::DuplicateParameter(name),
            QueryError::InvalidFormat => ApiError::InvalidFormat,
        }
    }
}

impl From<card_request::SignatureError> for ApiError {
    fn from(e: card_request::SignatureError) -> Self {
        match e {
            card_request::SignatureError::Required => ApiError::SignatureRequired,
            card_request::SignatureError::Invalid => ApiError::InvalidSignature,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Some(detail) = self.detail() {
            tracing::error!(
                code = self.code(),
                status = status.as_u16(),
                detail,
                "request failed"
            );
        } else if status.is_server_error() {
            tracing::warn!(
                code = self.code(),
                status = status.as_u16(),
                "request failed"
            );
        }
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
            checks: match &self {
                ApiError::DesignCheckFailed { checks, .. } => Some(checks),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(after) = self.retry_after() {
            let secs = after.as_secs().max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The largest plain-text error body rewritten as JSON; a larger one is cut to it.
const MAX_REJECTION_TEXT: usize = 1024;

/// Rewrites the plain-text error answers axum's extractors give (413 for a body over its limit,
/// 415, 400/422 for a body that does not parse) as the JSON `{code, message}` every other error
/// has, so a client never meets a second error format. Answers that are already JSON pass.
pub(crate) async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), MAX_REJECTION_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned()
    } else {
        text
    };
    ApiError::Rejected { status, message }.into_response()
}

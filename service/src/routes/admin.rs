//! `/admin/*`: operator endpoints behind `Authorization: Bearer $ADMIN__TOKEN`, or, for a
//! browser, the session cookie `GET /admin/login` sets (its form posts carry a CSRF token).
//!
//! Without a token configured the whole tree answers 404, as if it did not exist.
//! The token is compared in constant time. Each admin area adds its routes to [`router`].

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use card_request::{SESSION_COOKIE, Session, SessionError, SessionKey};

use crate::AppState;
use crate::error::ApiError;
use crate::routes::share::escape;

/// How long a browser session lasts.
const SESSION_TTL_SECS: u64 = 12 * 3600;
/// The largest form body read to find its CSRF token.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// The header a script may carry the CSRF token in instead of a form field.
const CSRF_HEADER: &str = "x-csrf-token";

/// The admin routes, wrapped in the bearer-or-session check.
pub(crate) fn router(state: AppState, routes: Router<AppState>) -> Router<AppState> {
    routes.layer(middleware::from_fn_with_state(state, require_admin))
}

/// `GET|POST /admin/login` and `POST /admin/logout`: outside the check, they are how a browser
/// gets past it.
pub(crate) fn login_router() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
}

/// How a request proved it may use the admin API; handlers rendering forms read the session
/// from the request's extensions to embed its CSRF token.
#[derive(Clone)]
pub(crate) enum Admin {
    Bearer,
    Browser { key: SessionKey, session: Session },
}

impl Admin {
    /// The CSRF token forms must carry (none for bearer clients, which need none).
    pub(crate) fn csrf(&self) -> Option<String> {
        match self {
            Admin::Bearer => None,
            Admin::Browser { key, session } => Some(key.csrf(session)),
        }
    }
}

async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(expected) = state.settings.admin.token.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let headers = request.headers();
    if let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::Unauthorized);
        }
        let mut request = request;
        request.extensions_mut().insert(Admin::Bearer);
        return Ok(next.run(request).await);
    }
    let Some(cookie) = session_cookie(headers) else {
        // A person opening an admin page in a browser is sent to sign in first.
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        if request.method() == Method::GET && wants_html {
            let path = request.uri().path();
            let next_url = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", path)
                .finish();
            return Ok(Redirect::to(&format!("/admin/login?{next_url}")).into_response());
        }
        return Err(ApiError::Unauthorized);
    };
    let key = SessionKey::derive(expected);
    let session = key
        .verify(&cookie, card_control::now())
        .map_err(ApiError::Session)?;
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let request = if safe {
        request
    } else {
        check_csrf(&key, &session, request).await?
    };
    let mut request = request;
    request
        .extensions_mut()
        .insert(Admin::Browser { key, session });
    Ok(next.run(request).await)
}

/// A state-changing request with a session must carry the session's CSRF token: in the
/// `X-CSRF-Token` header, or as the `csrf` field of a form body (read, then handed on intact).
async fn check_csrf(
    key: &SessionKey,
    session: &Session,
    request: Request,
) -> Result<Request, ApiError> {
    if let Some(token) = request.headers().get(CSRF_HEADER) {
        key.check_csrf(session, token.to_str().ok())
            .map_err(ApiError::Session)?;
        return Ok(request);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::Session(SessionError::Csrf));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| ApiError::Rejected {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("a form body is at most {MAX_FORM_BYTES} bytes"),
        })?;
    let token = form_field(&bytes, "csrf");
    key.check_csrf(session, token.as_deref())
        .map_err(ApiError::Session)?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// One field of a URL-encoded form body (the first, if repeated).
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Where a sign-in may send the browser: an admin page or the gallery of this service, never
/// another site (`//evil`, `https://…`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n.starts_with("/admin/") || n == "/preview" || n.starts_with("/preview?"))
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains("..")
                && n.len() <= 512 =>
        {
            n.to_owned()
        }
        _ => "/preview".to_owned(),
    }
}

async fn login_form(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if state.settings.admin.token.is_none() {
        return Err(ApiError::NotFound);
    }
    let next = raw
        .as_deref()
        .and_then(|q| form_field(q.as_bytes(), "next"));
    Ok(login_page(
        &safe_next(next.as_deref()),
        None,
        StatusCode::OK,
    ))
}

fn login_page(next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · card service</title>
<meta name="robots" content="noindex"><style>{STYLE}form{{display:grid;gap:12px;max-width:360px;margin:15vh auto;padding:24px;background:#111b2e;border-radius:12px}}</style></head>
<body><form method="post" action="/admin/login"><h1>Sign in</h1>{error}
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<input type="hidden" name="next" value="{next}"><button type="submit">Sign in</button>
<p class="meta">The token is ADMIN__TOKEN. The session lasts 12 hours.</p></form></body></html>"#,
        next = escape(next),
    );
    let mut response = (status, Html(html)).into_response();
    no_store(response.headers_mut());
    response
}

/// Checks the token; sets the session cookie and sends the browser on, or shows the form again.
async fn login(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let Some(expected) = state.settings.admin.token.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let next = safe_next(form_field(&body, "next").as_deref());
    let token = form_field(&body, "token").unwrap_or_default();
    if !constant_time_eq(token.as_bytes(), expected.as_bytes()) {
        tracing::warn!("admin sign-in refused: wrong token");
        return Ok(login_page(
            &next,
            Some("That is not the admin token."),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let expires = card_control::now() + SESSION_TTL_SECS;
    let (value, _) = SessionKey::derive(expected).issue(expires, nonce);
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/admin; Max-Age={SESSION_TTL_SECS}; HttpOnly; SameSite=Strict{secure}"
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    no_store(response.headers_mut());
    tracing::info!("admin signed in from a browser");
    Ok(response)
}

async fn logout() -> Response {
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict"
        ))
        .expect("a static cookie"),
    );
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The admin pages' shared look.
pub(crate) const STYLE: &str = "body{margin:0;font-family:system-ui,sans-serif;background:#0b1220;color:#dbe4f0}\
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}a{color:#8ab4f8}\
input,select,button{font:inherit;padding:6px 10px;border-radius:6px;border:1px solid #33415c;background:#0b1220;color:inherit}\
button{background:#1f6feb;border-color:#1f6feb;cursor:pointer}.meta{font-size:12px;color:#8fa3bf}\
.error{color:#ff7b72}";

/// Compares without an early exit, so response time does not reveal how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_strings() {
        assert!(constant_time_eq(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!constant_time_eq(b"0123456789abcdef", b"0123456789abcdeX"));
        assert!(!constant_time_eq(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}

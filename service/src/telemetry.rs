//! Logging with `tracing`: human-readable text, or JSON lines when `LOG__FORMAT=json`.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber; `RUST_LOG`, when set, overrides `LOG__LEVEL`. Safe to call twice (the second call is a no-op).
pub fn init(settings: &LogSettings, rust_log: Option<&str>) {
    let filter = EnvFilter::try_new(rust_log.unwrap_or(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

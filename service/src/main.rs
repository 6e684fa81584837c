//! The `card-service` binary: load settings, start logging, bind, warm up, serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use card_service::settings::Settings;
use card_service::{Server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    // playwright-rs otherwise answers Ctrl-C (SIGINT) with exit(130), skipping the graceful
    // shutdown below: in-flight requests, running jobs and their S3 leases, closing Chromium.
    // SAFETY: first thing in main: the runtime's threads are idle and nothing reads the environment yet.
    unsafe { std::env::set_var("PLAYWRIGHT_NO_SIGNAL_HANDLER", "1") };
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("card-service: invalid settings: {e}");
            return ExitCode::from(2);
        }
    };
    // The Playwright driver inherits the environment (playwright-rs has no other way in).
    let given = std::env::var("NODE_OPTIONS").ok();
    if let Some(options) = settings
        .playwright
        .driver_node_options_env(given.as_deref())
    {
        // SAFETY: as above: no thread has started work, and nothing reads the environment yet.
        unsafe { std::env::set_var("NODE_OPTIONS", options) };
    }
    telemetry::init(&settings.log, settings::rust_log().as_deref());
    let server = match Server::bind(settings).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("card-service: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = server.local_addr();
    server.state().warm_up().await;
    tracing::info!("listening on http://{addr}");
    match server.serve(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("card-service: {e}");
            ExitCode::FAILURE
        }
    }
}

use card_service::settings;

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

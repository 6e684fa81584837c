//! The `card-service` binary: settings → the driver's environment → runtime → bind, warm up,
//! serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use card_service::settings::{self, Settings};
use card_service::{Server, init_logging};

fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("card-service: invalid settings: {e}");
            return ExitCode::from(2);
        }
    };
    // The Playwright driver inherits the process environment (playwright-rs takes no other way
    // in), so these are set before the runtime starts any thread.
    for (name, value) in settings
        .playwright
        .driver_env(settings::node_options().as_deref())
    {
        // SAFETY: no other thread exists yet: the runtime is built below.
        unsafe { std::env::set_var(name, value) };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("card-service: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(settings))
}

async fn run(settings: Settings) -> ExitCode {
    init_logging(&settings.log, settings::rust_log().as_deref());
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

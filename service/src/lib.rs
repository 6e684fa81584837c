//! Deal Brain card service: renders 1200×630 Open Graph card images for listings.
//!
//! listing → WebAssembly design → HTML → Chromium (Playwright) → image → S3 → HTTP.
//! See ARCHITECTURE.md for the map; `main.rs` only loads settings and runs a [`Server`].

pub(crate) mod cache;
pub(crate) mod cards;
pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod error;
pub(crate) mod experiments;
pub(crate) mod fallback;
pub(crate) mod jobs;
pub(crate) mod listings;
pub(crate) mod render;
pub(crate) mod routes;
/// Public as a whole: the binary loads [`settings::Settings`], and xtask and the tests build and
/// change them section by section, field by field.
pub mod settings;
pub(crate) mod telemetry;

// The public surface: what the binary (`main.rs`), `xtask` and the end-to-end tests (`card-e2e`)
// use, besides `Server`, `AppState` and `StartupError` below. Everything else is `pub(crate)`.
// A type reached through a public field or method (`AppState::cards`, `AppState::jobs`) stays
// `pub` where it is defined and is usable outside without being named here.

// Logging (the binary, `xtask jobs`, the observability test).
pub use crate::telemetry::{
    LogFormat, LogSettings, init as init_logging, init_with_writer as init_logging_with_writer,
};

// Settings sections defined in their area's module (the types of `Settings` fields).
pub use crate::cache::S3Settings;
pub use crate::render::{DesignSettings, PlaywrightSettings};

// Rendering outside a server: `xtask test-playwright`, `xtask bench`, the browser tests.
pub use crate::render::browser::{BrowserError, BrowserPool};
pub use crate::render::checks::{CheckLevels, Report as CheckReport, run as check_design};
pub use crate::render::designs::{DesignRegistry, smoke_input};
pub use crate::render::images::ImageFetcher;
pub use crate::render::pipeline::card_input;
/// Chromium's processes in `/proc`: the bench and the chaos and soak tests measure and kill them.
pub use crate::render::procfs;
pub use crate::render::{ImageFormat, StageTimings};

// Listings (the bench's data, the tests' rankings, the Deal Brain API client's test).
pub use crate::listings::{ApiListings, Listing, ListingError, Metric, StaticListings};

// Jobs: runs started by `cargo xtask` and the tests, and the lease the tests contend for.
pub use crate::jobs::cleanup::CleanupOptions;
pub use crate::jobs::lease::{Acquired, Lease, LeaseStore};
pub use crate::jobs::warm_cache::WarmCacheOptions;
pub use crate::jobs::{
    Failure, ProgressSnapshot, RunRecord, RunReport, RunRequest, RunStatus, StartError, Trigger,
    Variants,
};

// S3: the client xtask builds from settings; the breaker state and errors the tests observe.
pub use crate::cache::StoreError;
pub use crate::cache::breaker::BreakerState;
pub use crate::cache::s3::client as s3_client;

// Experiments (the designers' test defines one).
pub use crate::experiments::{Experiment, Variant};

// The control plane as an instance follows it (the tests read its manifest and status).
pub use crate::control::{ControlPlane, ControlSettings};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::cache::{MemoryTier, S3Store};
use crate::cards::CardService;
use crate::error::ApiError;
use crate::experiments::Experiments;
use crate::listings::ListingSource;
use crate::render::CardRenderer;
use crate::render::designs::LoadError;
use crate::settings::Settings;
use card_control::ControlStore;

/// Why the service could not start; each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("LISTINGS__SOURCE: {0}")]
    Listings(#[from] ListingError),
    #[error("templates: {0}")]
    Designs(#[from] LoadError),
    #[error("TEMPLATES__EXPERIMENTS_FILE: {0}")]
    Experiments(String),
    #[error("SERVER__BIND {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Everything a request needs, shared by all handlers.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub(crate) settings: Settings,
    pub listings: ListingSource,
    pub cards: Arc<CardService>,
    pub(crate) experiments: Arc<Experiments>,
    /// The fleet's control plane (with S3 and `CONTROL__ENABLED`): designs, the experiment and
    /// invalidations shared through the bucket. `None`: one instance on its `TEMPLATES__DIR`.
    pub control: Option<Arc<ControlPlane>>,
    /// Background jobs: the scheduler, runs and their history, the S3 lease.
    pub jobs: jobs::Jobs,
    /// Absolute base URL of this instance (for share pages).
    pub(crate) public_url: String,
    /// Signs image URLs (share pages) and checks them (`/api/og-image/*`) when `SIGNING__KEYS` is set.
    pub(crate) signer: card_request::Signer,
    /// The card served on a render deadline when `RENDER__FALLBACK_ON_TIMEOUT=true`.
    pub(crate) fallback: Arc<fallback::FallbackCards>,
    /// Which share-link visits count as clicks (one per person per dedupe window).
    pub(crate) clicks: experiments::Clicks,
    /// The render-check runs of uploads, with their cards (`/preview/diff`): the bucket's last
    /// `CONTROL__CHECK_RUNS_KEPT` per design with the control plane, and this instance's own.
    pub(crate) check_runs: control::check_runs::CheckRuns,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Builds the state: listing source, designs (compiled off the async threads), browser pool, caches.
    /// The browser pool starts lazily; call [`AppState::warm_up`] to launch it before taking traffic.
    /// `local` is the address the server listens on (the instance id defaults to its port).
    pub async fn build(
        settings: Settings,
        public_url: String,
        local: SocketAddr,
    ) -> Result<Self, StartupError> {
        let listings = ListingSource::from_settings(&settings.listings)?;
        let registry = Arc::new(DesignRegistry::new(settings.templates.clone())?);
        let loader = registry.clone();
        let (loaded, failed) = tokio::task::spawn_blocking(move || loader.load_dir())
            .await
            .unwrap_or_else(|e| {
                (
                    Vec::new(),
                    vec![(Default::default(), LoadError::Compile(e.to_string()))],
                )
            });
        let fleet = settings.s3.enabled && settings.control.enabled;
        // With a fleet the bucket's manifest says which designs are live, not the directory.
        if settings.templates.watch_interval_ms > 0 && !fleet {
            render::designs::spawn_watcher(
                &registry,
                Duration::from_millis(settings.templates.watch_interval_ms),
            );
        }
        if loaded.is_empty() {
            tracing::error!(dir = %settings.templates.dir.display(), failures = failed.len(), "no design loaded; build them with `cargo xtask templates build`");
        }
        let browser = settings
            .playwright
            .enabled
            .then(|| Arc::new(BrowserPool::new(settings.playwright.clone())));
        let renderer = Arc::new(CardRenderer::new(
            registry,
            browser,
            ImageFetcher::new(settings.images.clone()),
            settings.render.clone(),
            Duration::from_millis(settings.playwright.browser_timeout_ms),
        ));
        let fallback = fallback::FallbackCards::new(
            settings.render.fallback_on_timeout,
            renderer.clone(),
            settings.templates.default.clone(),
        );
        let cache_control = image_cache_control(&settings);
        let s3 = if settings.s3.enabled {
            Some(S3Store::new(&settings.s3, cache_control).await)
        } else {
            None
        };
        let pages = settings.playwright.max_concurrent_browsers as usize
            * settings.playwright.pages_per_browser as usize;
        let cards = Arc::new(CardService {
            renderer,
            memory: MemoryTier::new(settings.cache.memory_max_bytes),
            s3,
        });
        let jobs = jobs::Jobs::new(
            settings.jobs.clone(),
            pages,
            jobs::Deps {
                cards: cards.clone(),
                listings: listings.clone(),
                default_design: settings.templates.default.clone(),
                counts_retention: (settings.s3.enabled && settings.control.enabled)
                    .then(|| Duration::from_secs(settings.control.counts_retention_days * 86_400)),
            },
            Arc::new(jobs::schedule::SystemClock),
        );
        let experiments = Experiments::load(
            settings.templates.experiments_file.clone(),
            &settings.templates.default,
        )
        .map_err(|e| StartupError::Experiments(e.to_string()))?;
        let experiments = Arc::new(experiments);
        let store = cards
            .s3
            .as_ref()
            .filter(|_| fleet)
            .map(|s3| ControlStore::new(s3.client().clone(), s3.bucket()));
        let check_runs = control::check_runs::CheckRuns::new(
            store
                .clone()
                .map(|store| (store, settings.control.check_runs_kept)),
        );
        let control = match store {
            Some(store) => Some(
                ControlPlane::start(
                    store,
                    settings.control.clone(),
                    local,
                    settings.templates.default.clone(),
                    cards.clone(),
                    experiments.clone(),
                )
                .await,
            ),
            None => None,
        };
        let clicks = experiments::Clicks::new(Duration::from_secs(
            settings.experiments.click_dedupe_seconds,
        ));
        let settings_signer = settings.signing.signer();
        Ok(Self(Arc::new(AppInner {
            settings,
            listings,
            cards,
            experiments,
            control,
            jobs,
            public_url,
            signer: settings_signer,
            fallback,
            clicks,
            check_runs,
        })))
    }

    /// Launches the browsers and their pages now, starts their health probe, and renders the
    /// fallback card when it is enabled. A failure is logged, not fatal: cached images still serve.
    pub async fn warm_up(&self) {
        if let Some(pool) = self.cards.browser() {
            if let Err(e) = pool.warm_up().await {
                tracing::error!(error = %e, "browser pool did not start; cache misses will fail until it does");
            }
            pool.start_health_probe();
        }
        self.fallback.prepare().await;
    }

    /// Stops the jobs (each after its current item), then closes Chromium and the driver.
    pub async fn shutdown(&self) {
        self.jobs
            .shutdown(config::ms(self.settings.server.shutdown_grace_ms))
            .await;
        if let Some(control) = &self.control {
            control.shutdown().await;
        }
        if let Some(pool) = self.cards.browser() {
            pool.shutdown().await;
        }
    }

    /// `Cache-Control` of image responses and stored objects.
    pub(crate) fn image_cache_control(&self) -> String {
        image_cache_control(&self.settings)
    }

    /// A listing by id: 404 `listing-not-found` when absent, 502 when the source fails.
    pub(crate) async fn listing(&self, id: &str) -> Result<Arc<listings::Listing>, ApiError> {
        self.listings
            .get(id)
            .await
            .map_err(|e| ApiError::ListingSourceUnavailable {
                detail: e.to_string(),
            })?
            .ok_or_else(|| ApiError::ListingNotFound(id.to_string()))
    }

    /// The live designs.
    pub fn designs(&self) -> &DesignRegistry {
        self.cards.designs()
    }

    /// The settings the instance runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The browser pool, unless rendering is disabled.
    pub fn browser(&self) -> Option<&Arc<BrowserPool>> {
        self.cards.browser()
    }

    /// Renders admitted and not finished yet.
    pub fn in_flight(&self) -> usize {
        self.cards.in_flight()
    }

    /// The brand name the cards show (`RENDER__BRAND`).
    pub(crate) fn brand(&self) -> &str {
        self.cards.brand()
    }
}

fn image_cache_control(settings: &Settings) -> String {
    format!(
        "public, max-age={}, stale-while-revalidate={}",
        settings.server.max_age_seconds, settings.server.stale_while_revalidate_seconds
    )
}

/// The whole HTTP surface.
pub(crate) fn app(state: AppState) -> Router {
    Router::new()
        .merge(routes::og_image::router())
        .merge(routes::health::router())
        .merge(routes::share::router())
        .merge(routes::preview::router())
        .merge(routes::preview_diff::router())
        .merge(routes::metrics::router())
        .merge(routes::admin::login_router())
        .merge(routes::admin::router(state.clone(), admin_routes()))
        // Inside routing: the matched route template and listing id for the request span and metrics.
        .route_layer(axum::middleware::from_fn(telemetry::mark_route))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // Extractors' plain-text refusals (413, 415, …) become JSON like every other error.
        .layer(axum::middleware::map_response(error::json_rejections))
        .with_state(state)
        // Outermost: one span per request, X-Request-Id, the request log line and counters.
        .layer(axum::middleware::from_fn(telemetry::observe))
}

/// `X-Card-Instance: {CONTROL__INSTANCE_ID}` on every response, so whoever is behind a load
/// balancer (an operator, the fleet test) can tell which instance answered.
fn with_instance_header(router: Router, instance: &str) -> Router {
    let Ok(value) = axum::http::HeaderValue::from_str(instance) else {
        return router;
    };
    router.layer(axum::middleware::map_response(
        move |mut response: axum::response::Response| {
            let value = value.clone();
            async move {
                response.headers_mut().insert("x-card-instance", value);
                response
            }
        },
    ))
}

/// Every `/admin/*` route; [`routes::admin::router`] puts them behind the bearer token.
fn admin_routes() -> Router<AppState> {
    Router::new()
        .merge(routes::templates::router())
        .merge(routes::experiments::router())
        .merge(routes::experiment_page::router())
        .merge(routes::jobs::router())
        .merge(routes::fleet::router())
}

/// A bound, not yet serving, instance: the listener is open so its address is known.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Binds `SERVER__BIND` (port 0 picks a free port) and builds the state.
    pub async fn bind(settings: Settings) -> Result<Self, StartupError> {
        let addr = settings.server.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?;
        let public_url = settings.public_url(local);
        let state = AppState::build(settings, public_url, local).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish (bounded by
    /// `SERVER__SHUTDOWN_GRACE_MS`) and closes the browsers.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = Duration::from_millis(self.state.settings.server.shutdown_grace_ms);
        self.state.jobs.start_scheduler();
        let state = self.state.clone();
        let instance = (self.state.settings.control).instance_id(self.local_addr().port());
        let router = with_instance_header(app(self.state), &instance);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // The peer address keys the share links' click dedupe (hashed, never stored).
        let serving = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(());
        });
        let result = tokio::select! {
            result = serving => result,
            _ = async { let _ = stop_rx.await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "in-flight requests did not finish within the grace period");
                Ok(())
            }
        };
        state.shutdown().await;
        result
    }
}

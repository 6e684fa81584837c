//! Card designs as WebAssembly components: the `bindgen!` of `wit/card.wit`, the `Engine`, and the registry of live designs.
//!
//! Architecture Invariant: this is the only module that knows about wasmtime. A design is
//! compiled once (cached as `.cwasm`, written then renamed), checked off the request path
//! (it must answer `describe` and render a sample card), and then swapped in atomically:
//! a render holds an `Arc<LoadedDesign>`, so it finishes on the version it started with.
//! Every render gets a fresh `Store` with an epoch deadline and a memory limit, because a
//! trapped store cannot be reused and a design must not be able to hang or exhaust the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::CARD_SIZE;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};

use crate::render::settings::DesignSettings;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "card",
        // Serialize: the card fingerprint hashes the whole input (`cards.rs`); Deserialize: its
        // test changes each field through the serialized form.
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
    });
}

pub use bindings::dealbrain::card::types::{
    CardInput, CardSize, Listing as CardListing, RenderError, TemplateInfo,
};
use bindings::{Card, CardPre};

/// How often the epoch ticks; render deadlines are rounded up to whole ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Why a design could not produce HTML.
#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    /// The design returned its typed error: the input is the problem (HTTP 422).
    #[error("{0}")]
    Rejected(String),
    /// The design trapped: it is broken (HTTP 500, logged with the design name).
    #[error("trapped: {0}")]
    Trapped(String),
    #[error("exceeded its {0:?} deadline")]
    Deadline(Duration),
    #[error("returned {size} bytes of HTML; the limit is {limit}")]
    OutputTooLarge { size: usize, limit: usize },
    #[error("returned a document that does not start with <!doctype html> or <html")]
    NotHtml,
    #[error("returned a <meta http-equiv> tag, which can navigate or reload the page")]
    Navigates,
    #[error("render task failed: {0}")]
    Host(String),
}

/// Why a component could not be loaded; the live version, if any, stays live.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("does not compile as a card component: {0}")]
    Compile(String),
    #[error("does not implement the dealbrain:card world: {0}")]
    MissingExport(String),
    #[error("describe failed: {0}")]
    Describe(String),
    #[error("describes itself as `{described}` but was loaded as `{expected}`")]
    NameMismatch { described: String, expected: String },
    #[error("invalid name `{0}`: expected [a-z0-9-]{{1,32}}")]
    InvalidName(String),
    #[error("invalid size {0}x{1}: expected {w}x{h}", w = CARD_SIZE.width, h = CARD_SIZE.height)]
    InvalidSize(u32, u32),
    #[error("smoke render failed: {0}")]
    SmokeRender(DesignError),
}

/// A compiled, checked design ready to render.
pub struct LoadedDesign {
    pub(crate) name: String,
    pub version: String,
    pub(crate) size: CardSize,
    /// Hex SHA-256 of the component bytes: part of every card fingerprint.
    pub(crate) digest: String,
    pub(crate) loaded_at: std::time::SystemTime,
    pub(crate) component_bytes: usize,
    /// The component as loaded, kept so a rollback can write it back to `TEMPLATES__DIR`.
    source: Arc<[u8]>,
    pre: CardPre<HostState>,
}

impl std::fmt::Debug for LoadedDesign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedDesign")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl LoadedDesign {
    /// `name@version`, as sent in `X-Card-Template`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The component's bytes, as loaded.
    pub fn source(&self) -> &[u8] {
        &self.source
    }
}

/// Per-render store data: the memory limiter (and a resource table the bindings may need).
struct HostState {
    limits: StoreLimits,
    _table: ResourceTable,
}

type FileStamp = (Option<std::time::SystemTime>, u64);

/// Earlier versions kept per design for rollback.
const HISTORY: usize = 5;

/// Why a registry operation other than loading failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    #[error("no design named `{0}` is live")]
    NotLive(String),
    #[error("design `{0}` has no earlier version to roll back to")]
    NoEarlierVersion(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The engine plus the live designs by name.
pub struct DesignRegistry {
    engine: Engine,
    linker: Linker<HostState>,
    settings: DesignSettings,
    live: RwLock<Arc<BTreeMap<String, Arc<LoadedDesign>>>>,
    /// (modification time, length) of each file at the last scan of `TEMPLATES__DIR`.
    seen: std::sync::Mutex<std::collections::HashMap<PathBuf, FileStamp>>,
    /// Replaced versions, oldest first, at most `HISTORY` per design.
    history: std::sync::Mutex<BTreeMap<String, Vec<Arc<LoadedDesign>>>>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for DesignRegistry {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl DesignRegistry {
    pub fn new(settings: DesignSettings) -> Result<Self, LoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Designs are small and short-lived; a modest stack is plenty and bounds recursion.
        config.max_wasm_stack(1 << 20);
        let engine = Engine::new(&config).map_err(|e| LoadError::Compile(e.to_string()))?;
        let linker = Linker::new(&engine);
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone());
        Ok(Self {
            engine,
            linker,
            settings,
            live: RwLock::new(Arc::new(BTreeMap::new())),
            history: Default::default(),
            seen: Default::default(),
            ticker_stop,
        })
    }

    /// Loads every `NAME.wasm` in `TEMPLATES__DIR`; a file that fails is logged and skipped.
    /// Returns the names loaded and the failures.
    pub(crate) fn load_dir(&self) -> (Vec<String>, Vec<(PathBuf, LoadError)>) {
        self.rescan()
    }

    /// Loads the `.wasm` files of `TEMPLATES__DIR` that are new or changed (size or modification
    /// time) since the last scan. A file whose bytes match the live version is skipped; one that
    /// fails validation leaves the live version in place. Blocking.
    pub(crate) fn rescan(&self) -> (Vec<String>, Vec<(PathBuf, LoadError)>) {
        let mut loaded = Vec::new();
        let mut failed = Vec::new();
        let entries = match std::fs::read_dir(&self.settings.dir) {
            Ok(entries) => entries,
            Err(e) => {
                failed.push((
                    self.settings.dir.clone(),
                    LoadError::Io {
                        path: self.settings.dir.clone(),
                        source: e,
                    },
                ));
                return (loaded, failed);
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        paths.sort();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for path in paths {
            let stamp = std::fs::metadata(&path)
                .ok()
                .map(|m| (m.modified().ok(), m.len()));
            if stamp.is_some() && seen.get(&path) == stamp.as_ref() {
                continue;
            }
            if let Some(stamp) = stamp {
                seen.insert(path.clone(), stamp);
            }
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let before = self.get(&name).map(|t| t.digest.clone());
            match self.load_file(&name, &path) {
                Ok(t) if before.as_deref() == Some(t.digest.as_str()) => {}
                Ok(t) => {
                    tracing::info!(template = %t.label(), digest = %&t.digest[..12], "design loaded");
                    loaded.push(name);
                }
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "design not loaded");
                    failed.push((path, e));
                }
            }
        }
        (loaded, failed)
    }

    /// Loads one component file as design `name` and makes it live.
    pub fn load_file(&self, name: &str, path: &Path) -> Result<Arc<LoadedDesign>, LoadError> {
        let bytes = std::fs::read(path).map_err(|e| LoadError::Io {
            path: path.into(),
            source: e,
        })?;
        self.load_bytes(name, &bytes)
    }

    /// Checks a design and swaps it in; the same bytes as the live version are a no-op.
    /// Blocking (compiles and smoke-renders): call off the async threads.
    pub(crate) fn load_bytes(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<Arc<LoadedDesign>, LoadError> {
        if let Some(live) = self.get(name)
            && live.digest == hex::encode(Sha256::digest(bytes))
        {
            return Ok(live);
        }
        let design = self.validate(name, bytes)?;
        self.swap_in(design.clone());
        Ok(design)
    }

    /// Compiles (or reuses the cached `.cwasm`) and checks a design without making it live:
    /// it must instantiate against the card world, answer `describe` with its name and 1200×630,
    /// and render every smoke input within the limits. Blocking.
    pub fn validate(&self, name: &str, bytes: &[u8]) -> Result<Arc<LoadedDesign>, LoadError> {
        if !card_request::is_design_name(name) {
            return Err(LoadError::InvalidName(name.into()));
        }
        let digest = hex::encode(Sha256::digest(bytes));
        let component = self.compile_cached(&digest, bytes)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::MissingExport(e.to_string()))?;
        let pre = CardPre::new(pre).map_err(|e| LoadError::MissingExport(e.to_string()))?;
        let mut design = LoadedDesign {
            name: name.into(),
            version: String::new(),
            size: CardSize {
                width: 0,
                height: 0,
            },
            digest,
            loaded_at: std::time::SystemTime::now(),
            component_bytes: bytes.len(),
            source: Arc::from(bytes),
            pre,
        };
        let info = self
            .describe(&design)
            .map_err(|e| LoadError::Describe(e.to_string()))?;
        if info.name != name {
            return Err(LoadError::NameMismatch {
                described: info.name,
                expected: name.into(),
            });
        }
        if info.size != CARD_SIZE {
            return Err(LoadError::InvalidSize(info.size.width, info.size.height));
        }
        design.version = info.version;
        design.size = info.size;
        let design = Arc::new(design);
        // A design that cannot render the reference cards must never replace a live one.
        for input in smoke_inputs() {
            self.render(&design, &input)
                .map_err(LoadError::SmokeRender)?;
        }
        Ok(design)
    }

    /// Makes a validated `design` the live version; the one it replaces goes to the history.
    pub(crate) fn swap_in(&self, design: Arc<LoadedDesign>) {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**live).clone();
        if let Some(previous) = next.insert(design.name.clone(), design) {
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            let versions = history.entry(previous.name.clone()).or_default();
            versions.push(previous);
            if versions.len() > HISTORY {
                versions.remove(0);
            }
        }
        *live = Arc::new(next);
    }

    /// Puts the previous version back and writes it to `TEMPLATES__DIR` so a restart keeps it.
    pub(crate) fn rollback(&self, name: &str) -> Result<Arc<LoadedDesign>, RegistryError> {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        if !live.contains_key(name) {
            return Err(RegistryError::NotLive(name.into()));
        }
        let previous = self
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(name)
            .and_then(Vec::pop)
            .ok_or_else(|| RegistryError::NoEarlierVersion(name.into()))?;
        self.persist(&previous)?;
        let mut next = (**live).clone();
        next.insert(name.to_string(), previous.clone());
        *live = Arc::new(next);
        Ok(previous)
    }

    /// Takes a design out of service and moves its file aside (`TEMPLATES__DIR/.retired/`).
    pub(crate) fn remove(&self, name: &str) -> Result<Arc<LoadedDesign>, RegistryError> {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**live).clone();
        let removed = next
            .remove(name)
            .ok_or_else(|| RegistryError::NotLive(name.into()))?;
        let file = self.settings.dir.join(format!("{name}.wasm"));
        if file.exists() {
            let retired = self.settings.dir.join(".retired");
            std::fs::create_dir_all(&retired)?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            std::fs::rename(&file, retired.join(format!("{name}-{stamp}.wasm")))?;
        }
        self.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        *live = Arc::new(next);
        Ok(removed)
    }

    /// Takes a design out of service here only (the control plane retired it fleet-wide);
    /// `TEMPLATES__DIR` is left as it is.
    pub fn unload(&self, name: &str) -> Option<Arc<LoadedDesign>> {
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**live).clone();
        let removed = next.remove(name)?;
        *live = Arc::new(next);
        Some(removed)
    }

    /// Writes a design's component to `TEMPLATES__DIR/NAME.wasm` (write, then rename).
    pub(crate) fn persist(&self, design: &LoadedDesign) -> std::io::Result<()> {
        let path = self.settings.dir.join(format!("{}.wasm", design.name));
        write_atomically(&self.settings.dir, &path, &design.source)
    }

    /// Earlier versions of a design, oldest first.
    pub(crate) fn history(&self, name: &str) -> Vec<Arc<LoadedDesign>> {
        self.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// The live version of a design.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedDesign>> {
        self.snapshot().get(name).cloned()
    }

    /// All live designs, consistent at one instant.
    pub fn snapshot(&self) -> Arc<BTreeMap<String, Arc<LoadedDesign>>> {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn compile_cached(&self, digest: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let dir = self.settings.cache_dir();
        let path = dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish()));
        if path.is_file() {
            // SAFETY: the file is named after the digest of the component and the engine's
            // compatibility hash, and only this function writes into the cache directory.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "stale .cwasm; recompiling")
                }
            }
        }
        let started = Instant::now();
        let compiled = self
            .engine
            .precompile_component(bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "component compiled"
        );
        if let Err(e) = write_atomically(&dir, &path, &compiled) {
            // The cache is an optimisation: a read-only directory costs a compile per start, nothing more.
            tracing::warn!(path = %path.display(), error = %e, "could not cache .cwasm");
            // SAFETY: `compiled` was produced by this engine a moment ago.
            return unsafe { Component::deserialize(&self.engine, &compiled) }
                .map_err(|e| LoadError::Compile(e.to_string()));
        }
        // SAFETY: as above; the file was written by this process from this engine's output.
        unsafe { Component::deserialize_file(&self.engine, &path) }
            .map_err(|e| LoadError::Compile(e.to_string()))
    }

    fn store(&self) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.settings.memory_limit_bytes)
            .instances(16)
            .tables(64)
            .memories(4)
            .build();
        let mut store = Store::new(
            &self.engine,
            HostState {
                limits,
                _table: ResourceTable::new(),
            },
        );
        store.limiter(|s| &mut s.limits);
        let ticks =
            (self.settings.render_timeout_ms as u128).div_ceil(EPOCH_TICK.as_millis()) as u64;
        store.set_epoch_deadline(ticks.max(1));
        store.epoch_deadline_trap();
        store
    }

    fn deadline(&self) -> Duration {
        Duration::from_millis(self.settings.render_timeout_ms)
    }

    fn describe(&self, design: &LoadedDesign) -> Result<TemplateInfo, DesignError> {
        let mut store = self.store();
        let card: Card = design
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(e))?;
        card.call_describe(&mut store).map_err(|e| self.classify(e))
    }

    /// Runs the design's `render`. Blocking (≈ tens of µs; bounded by the epoch deadline): call from `spawn_blocking`.
    pub fn render(&self, design: &LoadedDesign, input: &CardInput) -> Result<String, DesignError> {
        let mut store = self.store();
        let card: Card = design
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(e))?;
        let html = match card
            .call_render(&mut store, input)
            .map_err(|e| self.classify(e))?
        {
            Ok(html) => html,
            Err(RenderError::InvalidInput(message)) => {
                return Err(DesignError::Rejected(message));
            }
            Err(RenderError::UnsupportedSize(size)) => {
                return Err(DesignError::Rejected(format!(
                    "unsupported size {}x{}",
                    size.width, size.height
                )));
            }
        };
        if html.len() > self.settings.max_html_bytes {
            return Err(DesignError::OutputTooLarge {
                size: html.len(),
                limit: self.settings.max_html_bytes,
            });
        }
        let head = html
            .trim_start()
            .get(..15)
            .unwrap_or("")
            .to_ascii_lowercase();
        if !(head.starts_with("<!doctype html") || head.starts_with("<html")) {
            return Err(DesignError::NotHtml);
        }
        if has_meta_http_equiv(&html) {
            return Err(DesignError::Navigates);
        }
        Ok(html)
    }

    fn classify(&self, e: wasmtime::Error) -> DesignError {
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => DesignError::Deadline(self.deadline()),
            Some(trap) => DesignError::Trapped(trap.to_string()),
            None => DesignError::Trapped(format!("{e:#}")),
        }
    }
}

/// `true` when a `<meta …>` tag carries `http-equiv` (refresh navigates the page mid-capture even
/// with JavaScript off). Escaped listing text cannot contain `<meta`, so only the design's own markup matches.
fn has_meta_http_equiv(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find("<meta") {
        let tag = &rest[start..];
        let end = tag.find('>').unwrap_or(tag.len());
        if tag[..end].contains("http-equiv") {
            return true;
        }
        rest = &tag[end..];
    }
    false
}

/// The reference cards every design must render before it goes live: a typical listing and the
/// edge cases of the sample data (very long title, emoji, CJK, right-to-left, hostile markup, nothing
/// but a title). They all carry the id `smoke-test`.
pub(crate) fn smoke_inputs() -> Vec<CardInput> {
    let typical = smoke_input();
    let mut inputs = vec![typical.clone()];
    for title in [
        "Ultra Compact Gaming Mini PC ".repeat(40),
        "🔥🔥 DEAL 🔥🔥 Mini PC 💻✨ 16GB/512GB 🚀".to_string(),
        "ミニPC インテル N100 16GB DDR4 512GB NVMe SSD 小型 静音".to_string(),
        "מחשב מיני Beelink SER5 עם Ryzen 7 5800H و32GB RAM".to_string(),
        "<script>alert(1)</script></style>\"'&amp;{{x}}".to_string(),
    ] {
        let mut input = typical.clone();
        input.listing.title = title;
        inputs.push(input);
    }
    let mut bare = typical;
    let l = &mut bare.listing;
    (l.price_cents, l.cpu_name, l.cpu_mark, l.cpu_mark_per_dollar) = (None, None, None, None);
    (
        l.ram_gb,
        l.storage_gb,
        l.storage_type,
        l.condition,
        l.seller,
    ) = (None, None, None, None, None);
    inputs.push(bare);
    inputs
}

/// The typical reference card.
pub fn smoke_input() -> CardInput {
    CardInput {
        listing: CardListing {
            id: "smoke-test".into(),
            title: "Beelink SER5 Max Mini PC, Ryzen 7 5800H, 32GB DDR4, 500GB NVMe".into(),
            price_cents: Some(28_900),
            currency: "USD".into(),
            cpu_name: Some("AMD Ryzen 7 5800H".into()),
            cpu_mark: Some(21_130),
            cpu_mark_per_dollar: Some(73.1),
            ram_gb: Some(32),
            storage_gb: Some(500),
            storage_type: Some("NVMe SSD".into()),
            condition: Some("new".into()),
            seller: Some("Amazon".into()),
        },
        image_data_uri: None,
        brand: "Deal Brain".into(),
        size: CARD_SIZE,
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    // Never overwrite a file another process may have mapped: rename is atomic and leaves old mappings intact.
    std::fs::rename(&tmp, path)
}

/// Rescans `TEMPLATES__DIR` every `interval` on the blocking pool until the registry is dropped.
pub(crate) fn spawn_watcher(registry: &Arc<DesignRegistry>, interval: Duration) {
    let weak = Arc::downgrade(registry);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(registry) = weak.upgrade() else {
                break;
            };
            let _ = tokio::task::spawn_blocking(move || registry.rescan()).await;
        }
    });
}

fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the epoch ticker; design deadlines will not fire");
    }
}

#[cfg(test)]
mod tests {
    use super::has_meta_http_equiv;

    #[test]
    fn meta_http_equiv_is_found_in_any_spelling() {
        assert!(has_meta_http_equiv(
            r#"<!doctype html><META HTTP-EQUIV="refresh" content="0;url=x">"#
        ));
        assert!(has_meta_http_equiv(
            "<!doctype html><meta\ncontent=0 http-equiv=refresh>"
        ));
        assert!(!has_meta_http_equiv(
            r#"<!doctype html><meta charset="utf-8"><p>http-equiv in text</p>"#
        ));
        assert!(!has_meta_http_equiv(
            "<!doctype html><p>&lt;meta http-equiv=refresh&gt;</p>"
        ));
    }
}

//! A/B experiments: named variants, each a design with a weight, and sticky assignment by listing id.
//!
//! Assignment hashes `experiment name + listing id` (SHA-256), so it is deterministic, the same on
//! every instance and across restarts, and independent between experiments. Changing weights moves
//! only the listings whose bucket changes; images already cached stay valid because object keys
//! name the design, not the variant.

mod clicks;
mod settings;
pub(crate) mod stats;

pub(crate) use clicks::Clicks;
pub use settings::ExperimentSettings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use card_request::is_design_name;

use crate::render::designs::{DesignRegistry, LoadedDesign};

/// The outcome of variant selection for one request.
pub(crate) struct Pick {
    pub(crate) experiment: String,
    pub(crate) variant: String,
    pub(crate) design: Arc<LoadedDesign>,
}

/// Why no design could be picked for a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PickError {
    /// `?variant=` names neither a variant nor a live design.
    #[error("unknown variant `{name}`; live variants: {known}")]
    UnknownVariant { name: String, known: String },
    /// The experiment's variant serves a design that is not live (a server-side inconsistency).
    #[error("variant `{variant}` serves design `{design}`, which is not live")]
    NotLive { variant: String, design: String },
}

/// One variant: a name (in URLs and `X-Card-Variant`), the design it serves, its share of traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    pub design: String,
    pub weight: u32,
}

/// The experiment in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    pub variants: Vec<Variant>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ExperimentError {
    #[error("experiment name `{0}` must match [a-z0-9-]{{1,32}}")]
    Name(String),
    #[error("an experiment needs at least one variant")]
    NoVariants,
    #[error("variant name `{0}` must match [a-z0-9-]{{1,32}}")]
    VariantName(String),
    #[error("variant `{0}` appears twice")]
    DuplicateVariant(String),
    #[error("variant `{0}` has weight 0; remove it instead")]
    ZeroWeight(String),
    #[error("weights add up to more than 1,000,000")]
    WeightOverflow,
    #[error("variant `{variant}` names design `{design}`, which is not live")]
    UnknownDesign { variant: String, design: String },
    #[error("{0}")]
    Parse(String),
}

impl Experiment {
    /// Everything on one design: what runs when no experiment is configured.
    pub(crate) fn single(design: &str) -> Self {
        Self {
            name: "default".into(),
            variants: vec![Variant {
                name: design.into(),
                design: design.into(),
                weight: 1,
            }],
        }
    }

    /// Shape checks; `is_live` says whether a design name is loaded.
    pub(crate) fn validate(&self, is_live: impl Fn(&str) -> bool) -> Result<(), ExperimentError> {
        if !is_design_name(&self.name) {
            return Err(ExperimentError::Name(self.name.clone()));
        }
        if self.variants.is_empty() {
            return Err(ExperimentError::NoVariants);
        }
        let mut total: u64 = 0;
        for (i, v) in self.variants.iter().enumerate() {
            if !is_design_name(&v.name) {
                return Err(ExperimentError::VariantName(v.name.clone()));
            }
            if self.variants[..i].iter().any(|o| o.name == v.name) {
                return Err(ExperimentError::DuplicateVariant(v.name.clone()));
            }
            if v.weight == 0 {
                return Err(ExperimentError::ZeroWeight(v.name.clone()));
            }
            total += u64::from(v.weight);
            if !is_live(&v.design) {
                return Err(ExperimentError::UnknownDesign {
                    variant: v.name.clone(),
                    design: v.design.clone(),
                });
            }
        }
        if total > 1_000_000 {
            return Err(ExperimentError::WeightOverflow);
        }
        Ok(())
    }

    /// The variant for a listing: a stable hash of (experiment, listing) into the cumulative weights.
    pub fn assign(&self, listing_id: &str) -> &Variant {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        let digest = Sha256::new()
            .chain_update(self.name.as_bytes())
            .chain_update(b":")
            .chain_update(listing_id.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let mut point = u64::from_be_bytes(first) % total.max(1);
        for v in &self.variants {
            let w = u64::from(v.weight);
            if point < w {
                return v;
            }
            point -= w;
        }
        &self.variants[self.variants.len() - 1]
    }

    pub(crate) fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    pub(crate) fn serves(&self, design: &str) -> bool {
        self.variants.iter().any(|v| v.design == design)
    }

    /// Parses a definition: TOML when `toml` is set, else JSON.
    pub(crate) fn parse(text: &str, toml: bool) -> Result<Self, ExperimentError> {
        if toml {
            figment::Figment::from(
                <figment::providers::Toml as figment::providers::Format>::string(text),
            )
            .extract()
            .map_err(|e| ExperimentError::Parse(e.to_string()))
        } else {
            serde_json::from_str(text).map_err(|e| ExperimentError::Parse(e.to_string()))
        }
    }
}

/// Crawler families counted for impressions, from the `User-Agent`.
pub(crate) fn agent_family(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    const FAMILIES: &[(&str, &str)] = &[
        ("facebookexternalhit", "facebook"),
        ("facebookcatalog", "facebook"),
        ("twitterbot", "x"),
        ("linkedinbot", "linkedin"),
        ("slackbot", "slack"),
        ("slack-imgproxy", "slack"),
        ("discordbot", "discord"),
        ("whatsapp", "whatsapp"),
        ("telegrambot", "telegram"),
        ("googlebot", "google"),
        ("bingbot", "bing"),
    ];
    const GENERIC: &[&str] = &["bot", "crawler", "spider", "preview"];
    FAMILIES
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, family)| *family)
        .or_else(|| GENERIC.iter().any(|g| ua.contains(g)).then_some("bot"))
        .unwrap_or("other")
}

/// Who fetched a share link, from its `User-Agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visitor {
    /// A known crawler family (`facebook`, `x`, …, or `bot` for a generic bot/crawler/spider/preview agent).
    Crawler(&'static str),
    /// A browser (`Mozilla/…` and no bot marker): a person.
    Person,
    /// Neither (curl, an empty or unknown agent): served the tag page, counted nowhere.
    Unknown,
}

pub(crate) fn visitor(user_agent: &str) -> Visitor {
    match agent_family(user_agent) {
        "other" if user_agent.to_ascii_lowercase().contains("mozilla/") => Visitor::Person,
        "other" => Visitor::Unknown,
        family => Visitor::Crawler(family),
    }
}

/// (experiment, variant, kind, agent family), the key of a count.
type CountKey = (String, String, &'static str, String);

/// The kind of a count: a crawler fetched the image.
pub const IMPRESSIONS: &str = "impressions";
/// A crawler fetched the share page (a platform unfurled the link: the card was shown).
pub const UNFURLS: &str = "unfurls";
/// A person opened the share link (deduplicated, never a bot or a prefetch).
pub const CLICKS: &str = "clicks";
const KINDS: [&str; 3] = [IMPRESSIONS, UNFURLS, CLICKS];

/// Counts by experiment, variant, kind and agent family: this instance's running totals (with a
/// fleet, including what it had flushed before a restart).
#[derive(Default)]
pub(crate) struct Events {
    counts: Mutex<BTreeMap<CountKey, u64>>,
}

impl Events {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<CountKey, u64>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one image fetch.
    pub(crate) fn record(&self, experiment: &str, variant: &str, family: &str) {
        self.count(experiment, variant, IMPRESSIONS, family);
    }

    /// Counts one event of `kind` (one of [`IMPRESSIONS`], [`UNFURLS`], [`CLICKS`]).
    pub(crate) fn count(&self, experiment: &str, variant: &str, kind: &'static str, family: &str) {
        *self
            .lock()
            .entry((experiment.into(), variant.into(), kind, family.into()))
            .or_default() += 1;
    }

    /// variant → family → impressions for one experiment; `None` when it has none.
    pub(crate) fn for_experiment(
        &self,
        experiment: &str,
    ) -> Option<BTreeMap<String, BTreeMap<String, u64>>> {
        let out: BTreeMap<String, BTreeMap<String, u64>> = self
            .tally(experiment)
            .into_iter()
            .filter_map(|(variant, mut kinds)| Some((variant, kinds.remove(IMPRESSIONS)?)))
            .collect();
        (!out.is_empty()).then_some(out)
    }

    /// The experiments counted so far.
    pub(crate) fn experiments(&self) -> std::collections::BTreeSet<String> {
        self.lock().keys().map(|(e, ..)| e.clone()).collect()
    }

    /// One experiment's counts as the control plane keeps them (variant → kind → family).
    pub(crate) fn tally(&self, experiment: &str) -> card_control::Tally {
        let mut out = card_control::Tally::new();
        for ((e, v, k, f), c) in self.lock().iter() {
            if e == experiment {
                *out.entry(v.clone())
                    .or_default()
                    .entry((*k).into())
                    .or_default()
                    .entry(f.clone())
                    .or_default() += c;
            }
        }
        out
    }

    /// Adds stored counts (this instance's, from before a restart) into the running totals;
    /// kinds this version does not know are ignored.
    pub(crate) fn add(&self, experiment: &str, tally: &card_control::Tally) {
        let mut counts = self.lock();
        for (variant, kinds) in tally {
            for (kind, families) in kinds {
                let Some(kind) = KINDS.iter().find(|k| **k == kind.as_str()) else {
                    continue;
                };
                for (family, n) in families {
                    *counts
                        .entry((experiment.into(), variant.clone(), *kind, family.clone()))
                        .or_default() += n;
                }
            }
        }
    }

    /// (experiment, variant, family, count) rows of one kind, for `/metrics`.
    pub(crate) fn rows(&self, kind: &str) -> Vec<(String, String, String, u64)> {
        self.lock()
            .iter()
            .filter(|((_, _, k, _), _)| *k == kind)
            .map(|((e, v, _, f), c)| (e.clone(), v.clone(), f.clone(), *c))
            .collect()
    }
}

/// The experiment in force, replaceable at run time, optionally persisted to `TEMPLATES__EXPERIMENTS_FILE`.
pub(crate) struct Experiments {
    current: RwLock<Arc<Experiment>>,
    file: Option<PathBuf>,
    pub(crate) events: Events,
}

impl Experiments {
    /// The experiment, variant and design for a request: `?variant=NAME` when it names a variant of
    /// the experiment or a live design (designers previewing), else the sticky weighted assignment.
    pub(crate) fn pick(
        &self,
        designs: &DesignRegistry,
        listing_id: &str,
        variant: Option<&str>,
    ) -> Result<Pick, PickError> {
        let experiment = self.current();
        let (variant, design) = match variant {
            Some(name) => match experiment.variant(name) {
                Some(v) => (v.name.clone(), v.design.clone()),
                None if designs.get(name).is_some() => (name.to_string(), name.to_string()),
                None => {
                    let mut known: Vec<String> =
                        experiment.variants.iter().map(|v| v.name.clone()).collect();
                    for live in designs.snapshot().keys() {
                        if !known.contains(live) {
                            known.push(live.clone());
                        }
                    }
                    return Err(PickError::UnknownVariant {
                        name: name.chars().take(64).collect(),
                        known: known.join(", "),
                    });
                }
            },
            None => {
                let v = experiment.assign(listing_id);
                (v.name.clone(), v.design.clone())
            }
        };
        let loaded = designs.get(&design).ok_or_else(|| PickError::NotLive {
            variant: variant.clone(),
            design,
        })?;
        Ok(Pick {
            experiment: experiment.name.clone(),
            variant,
            design: loaded,
        })
    }

    /// Reads `file` if given and present, else runs everything on `default_design`.
    pub(crate) fn load(
        file: Option<PathBuf>,
        default_design: &str,
    ) -> Result<Self, ExperimentError> {
        let current = match &file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ExperimentError::Parse(format!("{}: {e}", path.display())))?;
                Experiment::parse(&text, is_toml(path))
                    .map_err(|e| ExperimentError::Parse(format!("{}: {e}", path.display())))?
            }
            _ => Experiment::single(default_design),
        };
        Ok(Self {
            current: RwLock::new(Arc::new(current)),
            file,
            events: Events::default(),
        })
    }

    pub(crate) fn current(&self) -> Arc<Experiment> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `true` while a real experiment runs (not the implicit single-design "default").
    pub(crate) fn is_running(&self) -> bool {
        let current = self.current();
        current.name != "default" || current.variants.len() > 1
    }

    /// `true` when the experiment in force came from `TEMPLATES__EXPERIMENTS_FILE`.
    pub(crate) fn is_from_file(&self) -> bool {
        self.file.as_ref().is_some_and(|f| f.exists())
    }

    /// Replaces the experiment in force here, without writing the file: the control plane's
    /// manifest is where a fleet keeps it.
    pub fn set(&self, experiment: Experiment) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(experiment);
    }

    /// Replaces the experiment (already validated) and writes the file when one is configured.
    pub(crate) fn replace(&self, experiment: Experiment) -> std::io::Result<()> {
        if let Some(path) = &self.file {
            let text = if is_toml(path) {
                toml_of(&experiment)
            } else {
                serde_json::to_string_pretty(&experiment).unwrap_or_default()
            };
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, path)?;
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(experiment);
        Ok(())
    }
}

fn is_toml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "toml")
}

fn toml_of(e: &Experiment) -> String {
    let mut out = format!("name = {:?}\n", e.name);
    for v in &e.variants {
        out.push_str(&format!(
            "\n[[variants]]\nname = {:?}\ndesign = {:?}\nweight = {}\n",
            v.name, v.design, v.weight
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ab(a: u32, b: u32) -> Experiment {
        Experiment {
            name: "redesign".into(),
            variants: vec![
                Variant {
                    name: "control".into(),
                    design: "classic".into(),
                    weight: a,
                },
                Variant {
                    name: "spotlight".into(),
                    design: "spotlight".into(),
                    weight: b,
                },
            ],
        }
    }

    #[test]
    fn assignment_is_sticky_and_matches_weights() {
        let e = ab(30, 70);
        let n = 10_000;
        let control = (0..n)
            .filter(|i| e.assign(&format!("dl-{i}")).name == "control")
            .count();
        // 3σ for a binomial(10000, 0.3) is ≈ 137.
        assert!(
            (2_860..=3_140).contains(&control),
            "control got {control} of {n}"
        );
        for i in 0..100 {
            let id = format!("dl-{i}");
            assert_eq!(e.assign(&id), e.assign(&id));
            // Stable across "restarts": a fresh value of the same experiment agrees.
            assert_eq!(e.assign(&id), ab(30, 70).assign(&id));
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let live = |d: &str| d == "classic" || d == "spotlight";
        assert_eq!(ab(1, 1).validate(live), Ok(()));
        assert_eq!(
            ab(0, 1).validate(live),
            Err(ExperimentError::ZeroWeight("control".into()))
        );
        let mut e = ab(1, 1);
        e.variants[1].design = "missing".into();
        assert!(matches!(
            e.validate(live),
            Err(ExperimentError::UnknownDesign { .. })
        ));
        e.variants[1] = e.variants[0].clone();
        assert!(matches!(
            e.validate(live),
            Err(ExperimentError::DuplicateVariant(_))
        ));
        e.variants.clear();
        assert_eq!(e.validate(live), Err(ExperimentError::NoVariants));
    }

    #[test]
    fn toml_and_json_definitions_round_trip() {
        let e = ab(50, 50);
        assert_eq!(Experiment::parse(&toml_of(&e), true).unwrap(), e);
        assert_eq!(
            Experiment::parse(&serde_json::to_string(&e).unwrap(), false).unwrap(),
            e
        );
        assert!(Experiment::parse("{\"name\": 1}", false).is_err());
    }

    #[test]
    fn crawler_families() {
        assert_eq!(
            agent_family(
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
            ),
            "facebook"
        );
        assert_eq!(agent_family("Twitterbot/1.0"), "x");
        assert_eq!(
            agent_family("LinkedInBot/1.0 (compatible; Mozilla/5.0)"),
            "linkedin"
        );
        assert_eq!(agent_family("Slackbot-LinkExpanding 1.0"), "slack");
        assert_eq!(
            agent_family("Mozilla/5.0 (compatible; Discordbot/2.0)"),
            "discord"
        );
        assert_eq!(agent_family("curl/8"), "other");
    }
}

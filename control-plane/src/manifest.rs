//! The manifest: the one shared object every instance follows, and the pure changes made to it.
//!
//! Each change is a function `&mut Manifest → Result<…, Refused>` that [`crate::ControlStore::change`]
//! applies to the latest manifest and writes back with `If-Match` on the ETag it read; a lost race
//! applies the same change again to the newer manifest, so concurrent changes all land.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Earlier live versions kept per design (for rollback and to see who changed what).
pub const HISTORY: usize = 20;
/// Invalidations kept: an instance more than this many behind drops its whole memory tier.
pub const INVALIDATIONS: usize = 256;
/// Ended experiments kept in the manifest (their counters stay in their own objects).
pub const ENDED: usize = 50;

/// What every instance serves: designs, the experiment in force, invalidations. Written only
/// through conditional writes; `revision` grows by one with each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    pub revision: u64,
    /// Who made the last change, and when (Unix seconds).
    pub updated_by: String,
    pub updated_at: u64,
    /// Overrides `TEMPLATES__DEFAULT` when set.
    pub default_design: Option<String>,
    pub designs: BTreeMap<String, DesignEntry>,
    pub retired: BTreeMap<String, Retired>,
    pub experiment: Option<ExperimentRecord>,
    /// Ended experiments, oldest first, at most [`ENDED`].
    pub ended: Vec<ExperimentRecord>,
    /// Recent invalidations, oldest first, at most [`INVALIDATIONS`]; `seq` grows by one.
    pub invalidations: Vec<Invalidation>,
}

/// One design: the version served, and the versions it replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignEntry {
    pub live: Version,
    /// Earlier live versions, oldest first, at most [`HISTORY`].
    #[serde(default)]
    pub history: Vec<Version>,
}

/// One published version of a design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// Hex SHA-256 of the component: its object is `control/designs/{name}/{digest}.wasm`.
    pub digest: String,
    /// The version the design describes itself with.
    pub version: String,
    pub bytes: u64,
    /// How it became live: `upload`, `seed` (from an instance's `TEMPLATES__DIR`), `push`
    /// (`cargo xtask designs push`) or `rollback`.
    pub action: String,
    pub by: String,
    pub at: u64,
}

/// A design taken out of service; its name is not seeded again from any `TEMPLATES__DIR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retired {
    pub last: Version,
    pub by: String,
    pub at: u64,
}

/// An experiment as the control plane keeps it: the spec is the service's experiment document
/// (name, variants and weights), opaque here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    pub name: String,
    pub spec: serde_json::Value,
    /// The manifest revision that started it: an instance compares it to know it changed.
    pub revision: u64,
    pub started_by: String,
    pub started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Set when an end was a promotion: the variant whose design became the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted: Option<String>,
    /// The design the promoted variant served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_design: Option<String>,
    /// The results as they stood when the experiment was promoted (the service's results
    /// document, opaque here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<serde_json::Value>,
}

/// Drop the memory-tier entries of a listing, fleet-wide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invalidation {
    pub seq: u64,
    pub listing_id: String,
    pub by: String,
    pub at: u64,
}

/// Who makes a change and when; stamped on what it touches.
#[derive(Debug, Clone)]
pub struct Actor {
    pub by: String,
    pub at: u64,
}

/// Why a change was refused by the manifest as it is (no write happens).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("no design named `{0}` is live")]
    NotLive(String),
    #[error("design `{0}` has no earlier version to roll back to")]
    NoEarlierVersion(String),
    #[error(
        "experiment `{experiment}` still serves design `{design}`; change the experiment first"
    )]
    InUse { design: String, experiment: String },
    #[error("{0}")]
    Invalid(String),
    #[error("experiment `{0}` is not the one in force")]
    NotInForce(String),
    #[error("experiment `{experiment}` has no variant `{variant}`")]
    NoSuchVariant { experiment: String, variant: String },
    #[error(
        "variant `{variant}` serves design `{design}`, which is no longer live: publish it again or promote another variant"
    )]
    DesignGone { variant: String, design: String },
}

impl Manifest {
    /// The live digest of each design.
    pub fn live(&self) -> BTreeMap<&str, &Version> {
        self.designs
            .iter()
            .map(|(name, entry)| (name.as_str(), &entry.live))
            .collect()
    }

    /// `true` when the manifest names `design`, live or retired: start-up seeding skips it.
    pub fn names(&self, design: &str) -> bool {
        self.designs.contains_key(design) || self.retired.contains_key(design)
    }

    /// Makes `version` the live version of `design`. Publishing the live digest again changes
    /// nothing (`Ok(false)`); a retired name comes back.
    pub fn publish(&mut self, design: &str, version: Version) -> Result<bool, Refused> {
        if let Some(entry) = self.designs.get_mut(design) {
            if entry.live.digest == version.digest {
                return Ok(false);
            }
            let previous = std::mem::replace(&mut entry.live, version);
            push_capped(&mut entry.history, previous, HISTORY);
        } else {
            self.retired.remove(design);
            self.designs.insert(
                design.to_owned(),
                DesignEntry {
                    live: version,
                    history: Vec::new(),
                },
            );
        }
        Ok(true)
    }

    /// Puts the previous version of `design` back; the version it replaces is dropped.
    pub fn rollback(&mut self, design: &str, actor: &Actor) -> Result<Version, Refused> {
        let entry = self
            .designs
            .get_mut(design)
            .ok_or_else(|| Refused::NotLive(design.into()))?;
        let mut previous = entry
            .history
            .pop()
            .ok_or_else(|| Refused::NoEarlierVersion(design.into()))?;
        previous.action = "rollback".into();
        previous.by.clone_from(&actor.by);
        previous.at = actor.at;
        entry.live = previous.clone();
        Ok(previous)
    }

    /// Takes `design` out of service. Refused while the experiment in force serves it.
    pub fn retire(&mut self, design: &str, actor: &Actor) -> Result<Version, Refused> {
        if let Some(experiment) = &self.experiment
            && experiment_serves(&experiment.spec, design)
        {
            return Err(Refused::InUse {
                design: design.into(),
                experiment: experiment.name.clone(),
            });
        }
        let entry = self
            .designs
            .remove(design)
            .ok_or_else(|| Refused::NotLive(design.into()))?;
        self.retired.insert(
            design.to_owned(),
            Retired {
                last: entry.live.clone(),
                by: actor.by.clone(),
                at: actor.at,
            },
        );
        if self.default_design.as_deref() == Some(design) {
            self.default_design = None;
        }
        Ok(entry.live)
    }

    /// Makes `design` the default (the card every listing gets without an experiment).
    pub fn set_default(&mut self, design: &str) -> Result<bool, Refused> {
        if !self.designs.contains_key(design) {
            return Err(Refused::NotLive(design.into()));
        }
        let changed = self.default_design.as_deref() != Some(design);
        self.default_design = Some(design.to_owned());
        Ok(changed)
    }

    /// Puts an experiment in force; the one it replaces is ended (kept in `ended`). The same
    /// spec again changes nothing. Every design the spec names must be live.
    pub fn set_experiment(
        &mut self,
        name: &str,
        spec: serde_json::Value,
        actor: &Actor,
    ) -> Result<bool, Refused> {
        for design in spec_designs(&spec) {
            if !self.designs.contains_key(&design) {
                return Err(Refused::NotLive(design));
            }
        }
        if let Some(current) = &self.experiment
            && current.name == name
            && current.spec == spec
        {
            return Ok(false);
        }
        self.end_experiment(actor, None);
        self.experiment = Some(ExperimentRecord {
            name: name.to_owned(),
            spec,
            revision: self.revision + 1,
            started_by: actor.by.clone(),
            started_at: actor.at,
            ended_at: None,
            ended_by: None,
            promoted: None,
            promoted_design: None,
            results: None,
        });
        Ok(true)
    }

    /// Ends the experiment in force (if any), recording `promoted` when the end is a promotion.
    pub fn end_experiment(&mut self, actor: &Actor, promoted: Option<String>) -> bool {
        let Some(mut ended) = self.experiment.take() else {
            return false;
        };
        ended.ended_at = Some(actor.at);
        ended.ended_by = Some(actor.by.clone());
        ended.promoted = promoted;
        push_capped(&mut self.ended, ended, ENDED);
        true
    }

    /// Promotes `variant` of the experiment in force (which must be `experiment`): its design
    /// becomes the default, the experiment ends with `results` kept in `ended`. Returns the design.
    pub fn promote(
        &mut self,
        experiment: &str,
        variant: &str,
        results: serde_json::Value,
        actor: &Actor,
    ) -> Result<String, Refused> {
        let Some(current) = self.experiment.as_ref().filter(|e| e.name == experiment) else {
            return Err(Refused::NotInForce(experiment.into()));
        };
        let design =
            spec_variant_design(&current.spec, variant).ok_or_else(|| Refused::NoSuchVariant {
                experiment: experiment.into(),
                variant: variant.into(),
            })?;
        if !self.designs.contains_key(&design) {
            return Err(Refused::DesignGone {
                variant: variant.into(),
                design,
            });
        }
        self.default_design = Some(design.clone());
        self.end_experiment(actor, Some(variant.into()));
        if let Some(ended) = self.ended.last_mut() {
            ended.promoted_design = Some(design.clone());
            ended.results = Some(results);
        }
        Ok(design)
    }

    /// Records an invalidation of `listing_id`.
    pub fn invalidate(&mut self, listing_id: &str, actor: &Actor) -> u64 {
        let seq = self.invalidations.last().map_or(1, |i| i.seq + 1);
        push_capped(
            &mut self.invalidations,
            Invalidation {
                seq,
                listing_id: listing_id.to_owned(),
                by: actor.by.clone(),
                at: actor.at,
            },
            INVALIDATIONS,
        );
        seq
    }

    /// The last invalidation's `seq` (0: none yet).
    pub fn last_invalidation(&self) -> u64 {
        self.invalidations.last().map_or(0, |i| i.seq)
    }

    /// Invalidations after `seq`, or `None` when some of them were dropped from the manifest
    /// already (the caller then drops everything it holds).
    pub fn invalidations_after(&self, seq: u64) -> Option<&[Invalidation]> {
        let first = self.invalidations.first().map_or(seq + 1, |i| i.seq);
        if first > seq + 1 {
            return None;
        }
        let start = self.invalidations.partition_point(|i| i.seq <= seq);
        Some(&self.invalidations[start..])
    }

    /// Checks what a parser cannot: names and digests that could leave their key, a default or
    /// an experiment naming a design that is not live.
    pub fn check(&self) -> Result<(), String> {
        for (name, entry) in &self.designs {
            if !is_object_name(name) {
                return Err(format!("design name `{name}` is not [a-z0-9-]{{1,32}}"));
            }
            for version in std::iter::once(&entry.live).chain(&entry.history) {
                if !is_digest(&version.digest) {
                    return Err(format!(
                        "design `{name}`: `{}` is not a SHA-256 digest",
                        version.digest
                    ));
                }
            }
        }
        if let Some(default) = &self.default_design
            && !self.designs.contains_key(default)
        {
            return Err(format!("the default design `{default}` is not live"));
        }
        if let Some(experiment) = &self.experiment {
            for design in spec_designs(&experiment.spec) {
                if !self.designs.contains_key(&design) {
                    return Err(format!(
                        "experiment `{}` serves `{design}`, which is not live",
                        experiment.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The designs an experiment spec names (`{"variants": [{"design": …}]}`).
fn spec_designs(spec: &serde_json::Value) -> Vec<String> {
    spec.get("variants")
        .and_then(|v| v.as_array())
        .map(|variants| {
            variants
                .iter()
                .filter_map(|v| v.get("design").and_then(|d| d.as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The design `variant` serves in an experiment spec.
fn spec_variant_design(spec: &serde_json::Value, variant: &str) -> Option<String> {
    spec.get("variants")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(|n| n.as_str()) == Some(variant))?
        .get("design")?
        .as_str()
        .map(str::to_owned)
}

fn experiment_serves(spec: &serde_json::Value, design: &str) -> bool {
    spec_designs(spec).iter().any(|d| d == design)
}

fn push_capped<T>(list: &mut Vec<T>, item: T, cap: usize) {
    list.push(item);
    if list.len() > cap {
        let excess = list.len() - cap;
        list.drain(..excess);
    }
}

/// `true` for a 64-character lowercase hex string.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_object_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            by: "test".into(),
            at: 1,
        }
    }

    fn version(n: u8) -> Version {
        Version {
            digest: format!("{n:064x}"),
            version: format!("1.0.{n}"),
            bytes: 10,
            action: "upload".into(),
            by: "test".into(),
            at: u64::from(n),
        }
    }

    #[test]
    fn publishing_keeps_every_earlier_version_in_the_history() {
        let mut m = Manifest::default();
        assert_eq!(m.publish("classic", version(1)), Ok(true));
        assert_eq!(m.publish("classic", version(2)), Ok(true));
        assert_eq!(m.publish("classic", version(3)), Ok(true));
        assert_eq!(m.publish("classic", version(3)), Ok(false));
        let entry = &m.designs["classic"];
        assert_eq!(entry.live, version(3));
        assert_eq!(entry.history, vec![version(1), version(2)]);
        assert_eq!(
            m.rollback("classic", &actor()).unwrap().digest,
            version(2).digest
        );
        assert_eq!(m.designs["classic"].history, vec![version(1)]);
        m.rollback("classic", &actor()).unwrap();
        assert_eq!(
            m.rollback("classic", &actor()),
            Err(Refused::NoEarlierVersion("classic".into()))
        );
    }

    #[test]
    fn history_is_capped() {
        let mut m = Manifest::default();
        for n in 0..(HISTORY as u8 + 5) {
            m.publish("classic", version(n)).unwrap();
        }
        assert_eq!(m.designs["classic"].history.len(), HISTORY);
        assert_eq!(m.designs["classic"].history[0], version(4));
    }

    #[test]
    fn a_design_an_experiment_serves_cannot_be_retired() {
        let mut m = Manifest::default();
        m.publish("classic", version(1)).unwrap();
        m.publish("ticket", version(2)).unwrap();
        let spec = serde_json::json!({"name": "t", "variants": [{"name": "a", "design": "ticket", "weight": 1}]});
        assert_eq!(m.set_experiment("t", spec.clone(), &actor()), Ok(true));
        assert_eq!(m.set_experiment("t", spec, &actor()), Ok(false));
        assert!(matches!(
            m.retire("ticket", &actor()),
            Err(Refused::InUse { .. })
        ));
        m.retire("classic", &actor()).unwrap();
        assert!(m.names("classic") && !m.designs.contains_key("classic"));
        // Publishing a retired name brings it back.
        m.publish("classic", version(3)).unwrap();
        assert!(!m.retired.contains_key("classic"));
    }

    #[test]
    fn an_experiment_must_name_live_designs_and_replacing_one_ends_it() {
        let mut m = Manifest::default();
        m.publish("classic", version(1)).unwrap();
        let bad = serde_json::json!({"variants": [{"design": "nope"}]});
        assert_eq!(
            m.set_experiment("x", bad, &actor()),
            Err(Refused::NotLive("nope".into()))
        );
        let one = serde_json::json!({"variants": [{"design": "classic"}]});
        m.set_experiment("one", one, &actor()).unwrap();
        let two = serde_json::json!({"variants": [{"design": "classic", "weight": 2}]});
        m.set_experiment("two", two, &actor()).unwrap();
        assert_eq!(m.ended.len(), 1);
        assert_eq!(m.ended[0].name, "one");
        assert_eq!(m.ended[0].ended_at, Some(1));
    }

    #[test]
    fn promoting_makes_the_variants_design_the_default_and_ends_the_experiment_with_its_results() {
        let mut m = Manifest::default();
        m.publish("classic", version(1)).unwrap();
        m.publish("ticket", version(2)).unwrap();
        let spec = serde_json::json!({"name": "t", "variants": [
            {"name": "control", "design": "classic", "weight": 1},
            {"name": "bold", "design": "ticket", "weight": 1}]});
        m.set_experiment("t", spec, &actor()).unwrap();
        assert_eq!(
            m.promote("other", "bold", serde_json::json!({}), &actor()),
            Err(Refused::NotInForce("other".into()))
        );
        assert_eq!(
            m.promote("t", "nope", serde_json::json!({}), &actor()),
            Err(Refused::NoSuchVariant {
                experiment: "t".into(),
                variant: "nope".into()
            })
        );
        // A manifest whose experiment names a design that is gone (written by hand or by an
        // older tool): refused with the reason, nothing changes.
        let mut gone = m.clone();
        gone.designs.remove("ticket");
        assert_eq!(
            gone.promote("t", "bold", serde_json::json!({}), &actor()),
            Err(Refused::DesignGone {
                variant: "bold".into(),
                design: "ticket".into()
            })
        );
        assert!(gone.experiment.is_some() && gone.default_design.is_none());

        let results = serde_json::json!({"verdict": {"code": "leads"}});
        assert_eq!(
            m.promote("t", "bold", results.clone(), &actor()),
            Ok("ticket".into())
        );
        assert_eq!(m.default_design.as_deref(), Some("ticket"));
        assert!(m.experiment.is_none());
        let ended = m.ended.last().unwrap();
        assert_eq!(ended.promoted.as_deref(), Some("bold"));
        assert_eq!(ended.promoted_design.as_deref(), Some("ticket"));
        assert_eq!(ended.results.as_ref(), Some(&results));
        assert_eq!(
            m.promote("t", "bold", serde_json::json!({}), &actor()),
            Err(Refused::NotInForce("t".into()))
        );
    }

    #[test]
    fn invalidations_after_a_seq_or_none_when_some_were_dropped() {
        let mut m = Manifest::default();
        assert_eq!(m.invalidations_after(0).map(<[_]>::len), Some(0));
        for n in 0..(INVALIDATIONS + 10) {
            m.invalidate(&format!("dl-{n}"), &actor());
        }
        let last = m.last_invalidation();
        assert_eq!(last, (INVALIDATIONS + 10) as u64);
        assert_eq!(m.invalidations_after(last).map(<[_]>::len), Some(0));
        assert_eq!(m.invalidations_after(last - 3).map(<[_]>::len), Some(3));
        assert!(
            m.invalidations_after(5).is_none(),
            "entries 6..=10 were dropped"
        );
    }

    #[test]
    fn check_refuses_keys_that_could_escape_and_dangling_names() {
        let mut m = Manifest::default();
        m.publish("classic", version(1)).unwrap();
        assert_eq!(m.check(), Ok(()));
        let mut bad = m.clone();
        bad.designs.get_mut("classic").unwrap().live.digest = "../../x".into();
        assert!(bad.check().is_err());
        let mut bad = m.clone();
        bad.default_design = Some("gone".into());
        assert!(bad.check().is_err());
        let mut bad = m;
        let entry = bad.designs["classic"].clone();
        bad.designs.insert("Bad/Name".into(), entry);
        assert!(bad.check().is_err());
    }
}

//! The objects each instance writes for itself: its counters and its heartbeat.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counts by variant, then by kind (`impressions`, `unfurls`, `clicks`), then by agent family.
pub type Tally = BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>;

/// One instance's counters of one experiment: `control/counts/{experiment}/{instance}.json`.
/// Only that instance writes it, each time with its running totals since the experiment began.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub experiment: String,
    pub instance: String,
    pub updated_at: u64,
    pub counts: Tally,
}

/// Adds `from` into `into`.
pub fn add(into: &mut Tally, from: &Tally) {
    for (variant, kinds) in from {
        let v = into.entry(variant.clone()).or_default();
        for (kind, families) in kinds {
            let k = v.entry(kind.clone()).or_default();
            for (family, n) in families {
                *k.entry(family.clone()).or_default() += n;
            }
        }
    }
}

/// An instance's heartbeat: `control/instances/{instance}.json`, rewritten every
/// `CONTROL__HEARTBEAT_INTERVAL_MS`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Heartbeat {
    pub instance: String,
    /// Where the instance listens (`SERVER__BIND`, as it resolved).
    pub address: String,
    /// The service's version (crate version).
    pub version: String,
    pub started_at: u64,
    /// When this heartbeat was written (Unix seconds).
    pub at: u64,
    /// When the instance last read the manifest successfully (a 200 or a 304).
    pub last_poll_at: u64,
    /// The manifest revision the instance serves.
    pub revision: u64,
    /// The digest of each design it serves.
    pub designs: BTreeMap<String, String>,
    /// The experiment it assigns by, and that experiment's revision.
    pub experiment: Option<String>,
    pub experiment_revision: u64,
    /// Why it does not serve what the manifest names (empty when in sync).
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_by_variant_kind_and_family() {
        let one: Tally = serde_json::from_str(
            r#"{"a": {"impressions": {"facebook": 2, "x": 1}}, "b": {"clicks": {"person": 1}}}"#,
        )
        .unwrap();
        let mut sum = Tally::new();
        add(&mut sum, &one);
        add(&mut sum, &one);
        assert_eq!(sum["a"]["impressions"]["facebook"], 4);
        assert_eq!(sum["a"]["impressions"]["x"], 2);
        assert_eq!(sum["b"]["clicks"]["person"], 2);
    }
}

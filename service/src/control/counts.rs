//! This instance's experiment counters in the bucket, and the fleet-wide sums.
//!
//! Each instance writes its running totals of an experiment to
//! `control/counts/{experiment}/{instance}.json` every `CONTROL__FLUSH_INTERVAL_MS` and at
//! graceful shutdown; nothing else writes that object, so a plain PUT is safe. A restarted
//! instance first adds its object back into its counters (its "base"), and never writes an
//! experiment's object before that base is loaded, so a restart loses at most one interval.
//! The sums are every other instance's object plus this instance's counters.

use std::collections::BTreeSet;
use std::sync::Mutex;

use card_control::{ControlError, Counts, Tally, keys};

use super::ControlPlane;

/// The experiments whose base (this instance's object as it was at start) is loaded.
#[derive(Default)]
pub(super) struct Counters {
    based: Mutex<BTreeSet<String>>,
}

impl Counters {
    fn is_based(&self, experiment: &str) -> bool {
        self.based
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(experiment)
    }

    fn mark_based(&self, experiment: &str) -> bool {
        self.based
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(experiment.to_owned())
    }
}

impl ControlPlane {
    /// Adds this instance's stored counters of `experiment` back into its counters, once.
    async fn load_base(&self, experiment: &str) -> Result<(), ControlError> {
        if self.counts.is_based(experiment) {
            return Ok(());
        }
        let stored: Option<Counts> = self
            .store
            .get_record(&keys::counts(experiment, &self.id))
            .await?;
        if self.counts.mark_based(experiment)
            && let Some(stored) = stored
        {
            self.experiments.events.add(experiment, &stored.counts);
        }
        Ok(())
    }

    /// Writes this instance's totals of every experiment it counted.
    pub async fn flush(&self) -> Result<(), ControlError> {
        let mut experiments = self.experiments.events.experiments();
        experiments.insert(self.experiments.current().name.clone());
        for experiment in experiments {
            self.load_base(&experiment).await?;
            let counts = self.experiments.events.tally(&experiment);
            if counts.is_empty() {
                continue;
            }
            let record = Counts {
                experiment: experiment.clone(),
                instance: self.id.clone(),
                updated_at: card_control::now(),
                counts,
            };
            self.store
                .put_record(&keys::counts(&experiment, &self.id), &record)
                .await?;
        }
        Ok(())
    }

    /// The fleet's counts of `experiment`: every other instance's object plus this instance's
    /// counters (its own object too while its base is not loaded). `None` when nobody counted.
    pub async fn counts(&self, experiment: &str) -> Result<Option<Tally>, ControlError> {
        let based = self.counts.is_based(experiment);
        let own = keys::counts(experiment, &self.id);
        let mut sum = self.experiments.events.tally(experiment);
        let mut any = !sum.is_empty();
        for (key, record) in self
            .store
            .records::<Counts>(&keys::counts_prefix(experiment))
            .await?
        {
            if key == own && based {
                continue;
            }
            any = true;
            card_control::add(&mut sum, &record.counts);
        }
        Ok(any.then_some(sum))
    }
}

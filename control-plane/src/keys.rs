//! Every object key under `control/`, built in one place.
//!
//! | key                                          | written by                       | how            |
//! |----------------------------------------------|----------------------------------|----------------|
//! | `control/manifest.json`                      | any instance, xtask              | `If-Match` / `If-None-Match: *` |
//! | `control/designs/{name}/{sha256}.wasm`       | the uploader, once               | `If-None-Match: *` (immutable) |
//! | `control/counts/{experiment}/{instance}.json`| that instance only               | plain PUT      |
//! | `control/instances/{instance}.json`          | that instance only (heartbeat)   | plain PUT      |
//! | `control/checks/{design}/{run}/…`            | the instance that ran the checks | plain PUT (run ids are unique) |

use card_bucket::layout::CONTROL;

/// The manifest: live designs, history, retired, default design, experiment, invalidations.
pub fn manifest() -> String {
    format!("{CONTROL}manifest.json")
}

/// A design component, named by the SHA-256 of its bytes (immutable).
pub fn component(design: &str, digest: &str) -> String {
    format!("{CONTROL}designs/{design}/{digest}.wasm")
}

/// Where every instance's counters of one experiment live.
pub fn counts_prefix(experiment: &str) -> String {
    format!("{CONTROL}counts/{experiment}/")
}

/// One instance's counters of one experiment.
pub fn counts(experiment: &str, instance: &str) -> String {
    format!("{}{instance}.json", counts_prefix(experiment))
}

/// Every experiment's counters.
pub fn all_counts_prefix() -> String {
    format!("{CONTROL}counts/")
}

/// Where the heartbeats live.
pub fn instances_prefix() -> String {
    format!("{CONTROL}instances/")
}

/// One instance's heartbeat.
pub fn instance(instance: &str) -> String {
    format!("{}{instance}.json", instances_prefix())
}

/// Where the render-check runs of a design's uploads live, one folder per run.
pub fn checks_prefix(design: &str) -> String {
    format!("{CONTROL}checks/{design}/")
}

/// One file of one check run: `run.json` (written last), `{listing}/after.png`,
/// `{listing}/before.png`.
pub fn check_file(design: &str, run: &str, file: &str) -> String {
    format!("{}{run}/{file}", checks_prefix(design))
}

//! The fleet's control plane, kept in the bucket's private `control/` prefix.
//!
//! Instances behind a load balancer are interchangeable because everything they must agree on
//! lives here: the live version of each design (components stored once, named by their SHA-256),
//! the experiment in force and the ended ones, recent invalidations, and each instance's counters
//! and heartbeat. The shared part is one object, the [`Manifest`]; every change to it is a
//! conditional write on its ETag (`If-Match`, or `If-None-Match: *` to create it), retried against
//! the newer manifest when it loses a race, so concurrent changes all land and none is lost.
//! Instances follow it with a conditional GET (`If-None-Match`) per poll interval, which costs a
//! 304 when nothing changed. The per-instance objects are written only by their instance.
//!
//! Used by the service (serving, admin writes, polling) and by `cargo xtask designs`. No
//! dependency on the service. Arrows point down: `store` → `manifest`, `records`, `keys`.

pub mod keys;
mod manifest;
mod records;
mod store;

pub use manifest::{
    Actor, DesignEntry, ENDED, ExperimentRecord, HISTORY, INVALIDATIONS, Invalidation, Manifest,
    Refused, Retired, Version, is_digest,
};
pub use records::{Counts, Heartbeat, Tally, add};
pub use store::{ATTEMPTS, Changed, ControlError, ControlStore, Read, digest};

/// Seconds since the Unix epoch, the control plane's timestamps.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

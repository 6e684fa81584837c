//! The fleet's control plane: what every instance must agree on (live designs, the experiment,
//! invalidations, counters, heartbeats) kept in the bucket's private `control/` prefix.

mod settings;

pub use settings::ControlSettings;

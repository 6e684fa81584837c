//! Harness for the end-to-end tests: a real S3 server, the service started in-process, a fleet of
//! service processes behind HAProxy, free ports, bounded waits and a listener that must stay
//! unreached.

pub mod build;
pub mod fleet;
pub mod listener;
pub mod s3;
pub mod service;
pub mod wait;

pub use fleet::{Fleet, FleetOptions, FleetS3};
pub use listener::CountingListener;
pub use s3::{Backend, DedicatedS3, S3Server, free_port, list_keys, tools_dir};

/// The `classic` design's brand column colour, `BRAND_BAR_COLOR` (`#FF6A13`) in
/// `card-templates/classic`: the left 16 px of every classic card, full height.
pub const CLASSIC_BRAND_BAR: [u8; 3] = [0xFF, 0x6A, 0x13];

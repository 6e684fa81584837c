//! HTTP routes, one module per resource, each with its own `router()`.

pub mod admin;
pub mod delivery;
pub mod experiments;
pub mod fleet;
pub mod health;
pub mod jobs;
pub mod metrics;
pub mod og_image;
pub mod preview;
pub mod share;
pub mod templates;

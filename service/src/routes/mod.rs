//! HTTP routes, one module per resource, each with its own `router()`.

pub(crate) mod admin;
pub(crate) mod delivery;
pub(crate) mod experiment_page;
pub(crate) mod experiments;
pub(crate) mod fleet;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod metrics;
pub(crate) mod og_image;
pub(crate) mod preview;
pub(crate) mod preview_diff;
pub(crate) mod share;
pub(crate) mod templates;

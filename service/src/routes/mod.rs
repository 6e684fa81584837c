//! HTTP routes, one module per resource, each with its own `router()`.

pub mod admin;
pub mod health;
pub mod og_image;

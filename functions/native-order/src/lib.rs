//! The storefront's HTTP API (ARCHITECTURE §3), as an axum `Router` that the Lambda and the local
//! stack both run. Paths and the `{code, message, data}` envelope follow the seed tutorial's
//! controllers, so its front end works unchanged; fields are only ever added.

pub mod envelope;
pub mod handlers;
pub mod metrics;
pub mod qr;
pub mod state;
pub mod view;

pub use state::{Deps, router};

//! The merchant's admin API (issue 13, "Entry points"), as an axum `Router` that the Lambda (on its
//! own HTTP API with IAM authorization) and the local stack (behind a bearer token) both run:
//! refunds, an order with its payment records and refunds, the operator listings, and the product
//! catalog. Answers use
//! the storefront's `{code, message, data}` envelope. Every route needs a [`Principal`], which the
//! host puts on the request once it has authenticated the caller; without one the answer is 401.

pub mod catalog;
pub mod envelope;
pub mod handlers;
pub mod principal;
pub mod state;
pub mod view;

pub use principal::Principal;
pub use state::{AdminStore, Deps, router};

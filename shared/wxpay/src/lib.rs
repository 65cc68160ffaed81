//! WeChat Pay APIv3 for Native (QR-code) payments.
//!
//! This crate speaks the protocol only and knows nothing of orders, AWS or HTTP servers.
pub mod clock;
pub mod models;

pub use clock::{Clock, FixedClock, SystemClock};

//! The merchant's order domain (ARCHITECTURE §1, §4): orders and their state machine, the product
//! catalog, small storage ports with a DynamoDB adapter and an embedded (redb) adapter, a WeChat Pay
//! port, and the services every function calls: place an order, settle a transaction, cancel, sweep.
//!
//! This crate knows nothing of Lambda or HTTP; it reads no environment variables.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod ports;
pub mod services;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{LatePaymentPolicy, NotifyUrl, OrdersConfig};

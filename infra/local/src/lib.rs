//! The local stack: one process serving the storefront, the very same routers the two HTTP Lambdas
//! run, the sweep on a timer, the WeChat Pay simulator (unless real merchant variables are
//! set), and an embedded order store (or DynamoDB with `ORDERS_TABLE`).

pub mod admin;
pub mod catalog;
pub mod merchant;
pub mod stack;

pub use stack::{Stack, StackConfig, StackError};

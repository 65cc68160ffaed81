//! Store adapters: DynamoDB for AWS, redb for local runs. Both implement every port of
//! [`crate::ports::store`] with the same semantics, checked by one conformance suite.

pub mod dynamo;
pub mod embedded;
pub mod keys;
mod read_stats;
pub mod wxpay;

pub use dynamo::DynamoOrderStore;
pub use embedded::EmbeddedOrderStore;
pub use read_stats::ReadStats;

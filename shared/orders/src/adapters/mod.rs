//! Adapters of the ports: the WeChat Pay client ([`wxpay`](mod@self::wxpay)), and the stores,
//! each behind its cargo feature: DynamoDB for AWS (`dynamo`), redb for local runs (`embedded`).
//! Both stores implement every port of [`crate::ports::store`] with the same semantics, checked by
//! one conformance suite.

#[cfg(feature = "dynamo")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(any(feature = "dynamo", feature = "embedded"))]
pub mod keys;
#[cfg(any(feature = "dynamo", feature = "embedded"))]
mod read_stats;
pub mod wxpay;

#[cfg(feature = "dynamo")]
pub use dynamo::DynamoOrderStore;
#[cfg(feature = "embedded")]
pub use embedded::EmbeddedOrderStore;
#[cfg(all(feature = "read-stats", any(feature = "dynamo", feature = "embedded")))]
pub use read_stats::ReadStats;

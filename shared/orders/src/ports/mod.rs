//! Ports: what the services need from storage and from WeChat Pay, one small trait per capability.

pub mod gateway;
pub mod page;
pub mod refund;
pub mod store;

pub use gateway::{GatewayError, PaymentGateway, RefundGateway};
pub use page::{Cursor, Page, PageRequest};
pub use refund::{
    AskOutcome, OpenRefundLister, RefundReader, RefundRecorder, RefundRequester, RejectOutcome,
    ReportOutcome,
};
pub use store::*;

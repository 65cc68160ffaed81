//! The order domain: orders and their states, products, payment records, refunds, order numbers,
//! buyers and the time formats used in storage and towards WeChat Pay.

pub mod buyer;
pub mod order;
pub mod order_no;
pub mod payment;
pub mod product;
pub mod refund;
pub mod status;
pub mod timefmt;
pub mod transition;

pub use buyer::{BuyerHash, InvalidBuyer};
pub use order::Order;
pub use order_no::{InvalidOrderNo, OrderNo, OrderNoError, OrderNoGenerator};
pub use payment::PaymentRecord;
pub use product::{InvalidProduct, Product};
pub use refund::{Refund, RefundNo, RefundOrigin, RefundState};
pub use status::OrderStatus;
pub use transition::{CloseReason, CloseRequest, PrepayAnswer, PrepayClaim, Settlement};

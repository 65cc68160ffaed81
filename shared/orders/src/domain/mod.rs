//! The order domain: orders and their states, products, payment records, refunds, order numbers,
//! buyers and the precision of their times.

pub mod buyer;
pub mod listing;
pub mod order;
pub mod order_no;
pub mod payment;
pub mod precision;
pub mod product;
pub mod refund;
pub mod status;
pub mod transition;

pub use buyer::{BuyerHash, InvalidBuyer};
pub use listing::OrderListing;
pub use order::Order;
pub use order_no::{InvalidOrderNo, OrderNo, OrderNoError, OrderNoGenerator};
pub use payment::PaymentRecord;
pub use precision::truncate_to_millis;
pub use product::{InvalidProduct, Product, ProductInput};
pub use refund::{Refund, RefundNo, RefundOrigin, RefundState};
pub use status::OrderStatus;
pub use transition::{CloseReason, CloseRequest, PrepayAnswer, PrepayClaim, Settlement};

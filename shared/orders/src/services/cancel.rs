//! Cancelling an order at the shopper's request: closed at WeChat Pay and confirmed by a query,
//! then `CANCELLED`; if WeChat Pay says it is paid, settled instead.

use wxpay::Clock;

use super::close::{CloseError, Confirmed, close_confirmed};
use super::settle::SettleStore;
use crate::OrdersConfig;
use crate::domain::{BuyerHash, CloseReason, Order, OrderNo, OrderStatus};
use crate::ports::{GatewayError, OrderCloser, PaymentGateway, StoreError};

/// What cancelling did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelResult {
    /// Closed at WeChat Pay and now `CANCELLED`.
    Cancelled(Order),
    /// It was already `CANCELLED`.
    AlreadyCancelled(Order),
    /// It turned out to be paid: settled (or already settled), not cancelled [API: 409].
    Paid(Order),
}

/// Why an order was not cancelled. Suggested HTTP mapping in brackets.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No such order, or not this buyer's (indistinguishable on purpose) [404].
    #[error("order not found")]
    NotFound,
    /// The order is in a state that cannot be cancelled (`CLOSED`, refunds, …) [409].
    #[error("order is {}", .0.order_status)]
    NotCancellable(Box<Order>),
    /// WeChat Pay timed out; nothing changed here [504].
    #[error("WeChat Pay timed out")]
    GatewayTimeout,
    /// WeChat Pay failed, or did not confirm the close; nothing changed here [502].
    #[error(transparent)]
    Close(CloseError),
    /// The store failed [500].
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CloseError> for CancelError {
    fn from(err: CloseError) -> Self {
        match err {
            CloseError::Gateway(GatewayError::Timeout) => Self::GatewayTimeout,
            CloseError::Store(err) => Self::Store(err),
            other => Self::Close(other),
        }
    }
}

/// Cancels `order_no` for `buyer`, who must be the buyer who placed it. Closes the order at WeChat
/// Pay, confirms by a query, and only then moves it `NOTPAY → CANCELLED` with a conditional write
/// ([`close_confirmed`]). If WeChat Pay says it is paid, it is settled through the same checks as a
/// notification and [`CancelResult::Paid`] is returned.
pub async fn cancel_order<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    order_no: &OrderNo,
    buyer: &BuyerHash,
) -> Result<CancelResult, CancelError>
where
    S: SettleStore + OrderCloser,
    G: PaymentGateway,
    C: Clock,
{
    let order = store
        .get_order(order_no)
        .await?
        .ok_or(CancelError::NotFound)?;
    if !order.belongs_to(buyer) {
        return Err(CancelError::NotFound);
    }
    match order.order_status {
        OrderStatus::Notpay => {}
        OrderStatus::Cancelled => return Ok(CancelResult::AlreadyCancelled(order)),
        OrderStatus::Success => return Ok(CancelResult::Paid(order)),
        _ => return Err(CancelError::NotCancellable(Box::new(order))),
    }
    let confirmed = close_confirmed(
        store,
        gateway,
        clock,
        config,
        &order,
        CloseReason::CancelledByBuyer,
    )
    .await?;
    match confirmed {
        Confirmed::Closed { order, .. } => {
            tracing::info!(out_trade_no = %order_no, "order cancelled");
            Ok(CancelResult::Cancelled(order))
        }
        Confirmed::Paid(settled) => Ok(CancelResult::Paid(settled.order().clone())),
        Confirmed::NotPending(order) => match order.order_status {
            OrderStatus::Cancelled => Ok(CancelResult::AlreadyCancelled(order)),
            OrderStatus::Success => Ok(CancelResult::Paid(order)),
            _ => Err(CancelError::NotCancellable(Box::new(order))),
        },
    }
}

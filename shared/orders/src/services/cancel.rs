//! Cancelling an order at the shopper's request: close at WeChat Pay first, then `CANCELLED`; if
//! WeChat Pay says it is paid, settle it instead.

use wxpay::Clock;
use wxpay::models::TradeState;

use super::settle::{SettleError, settle_queried_transaction};
use crate::OrdersConfig;
use crate::domain::{BuyerHash, Order, OrderNo, OrderStatus};
use crate::ports::{
    CloseOutcome, CloseReason, GatewayError, OrderCloser, OrderReader, OrderSettler,
    PaymentGateway, StoreError,
};

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
    /// WeChat Pay timed out; nothing changed [504].
    #[error("WeChat Pay timed out")]
    GatewayTimeout,
    /// WeChat Pay failed; nothing changed [502].
    #[error("WeChat Pay failed: {0}")]
    Gateway(GatewayError),
    /// It was paid, but settling failed (alert for mismatches) [502 or 500].
    #[error(transparent)]
    Settle(#[from] SettleError),
    /// The store failed [500].
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn gateway_error(err: GatewayError) -> CancelError {
    match err {
        GatewayError::Timeout => CancelError::GatewayTimeout,
        other => CancelError::Gateway(other),
    }
}

/// Cancels `order_no` for `buyer`, who must be the buyer who placed it. Closes the order at WeChat
/// Pay first (an order WeChat Pay never saw, or already closed there, counts as closed), then moves
/// it `NOTPAY → CANCELLED` with a conditional write. If WeChat Pay answers that the order is paid,
/// it is queried and settled through the same checks as a notification, and [`CancelResult::Paid`]
/// is returned.
pub async fn cancel_order<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    order_no: &OrderNo,
    buyer: &BuyerHash,
) -> Result<CancelResult, CancelError>
where
    S: OrderReader + OrderSettler + OrderCloser,
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
    match gateway.close_order(order_no.as_str()).await {
        Ok(()) | Err(GatewayError::OrderNotFound | GatewayError::OrderClosed) => {}
        Err(GatewayError::OrderPaid) => {
            return settle_paid(store, gateway, clock, config, order_no).await;
        }
        Err(err) => return Err(gateway_error(err)),
    }
    match store
        .close_order(order_no, CloseReason::CancelledByBuyer, super::now(clock))
        .await?
    {
        CloseOutcome::Closed(order) => {
            tracing::info!(out_trade_no = %order_no, "order cancelled");
            Ok(CancelResult::Cancelled(order))
        }
        CloseOutcome::AlreadyClosed(order) => Ok(CancelResult::AlreadyCancelled(order)),
        CloseOutcome::NotPending(order) if order.order_status == OrderStatus::Success => {
            Ok(CancelResult::Paid(order))
        }
        CloseOutcome::NotPending(order) => Err(CancelError::NotCancellable(Box::new(order))),
        CloseOutcome::NotFound => Err(CancelError::NotFound),
    }
}

async fn settle_paid<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    order_no: &OrderNo,
) -> Result<CancelResult, CancelError>
where
    S: OrderReader + OrderSettler,
    G: PaymentGateway,
    C: Clock,
{
    let transaction = gateway
        .query_order(order_no.as_str())
        .await
        .map_err(gateway_error)?
        .ok_or(CancelError::Gateway(GatewayError::OrderNotFound))?;
    if transaction.trade_state != TradeState::Success {
        return Err(CancelError::Gateway(GatewayError::InvalidResponse(
            format!(
                "close said paid, query says {}",
                transaction.trade_state.as_str()
            ),
        )));
    }
    let settled = settle_queried_transaction(store, clock, config, order_no, &transaction).await?;
    Ok(CancelResult::Paid(settled.order().clone()))
}

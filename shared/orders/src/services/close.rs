//! Closing an order the one safe way, for the sweep (expired) and for cancel: ask WeChat Pay to
//! close it, then query it, and close it here only if WeChat Pay confirms it can no longer be paid.
//!
//! A close answer proves nothing by itself: WeChat Pay's answer for a paid order is unconfirmed
//! (`ORDERPAID` or a 204), and it reportedly answers 204 even for an `out_trade_no` it does not
//! know. So whatever the close answers, the query decides:
//! - `SUCCESS` → settled through the checked path (the shopper paid);
//! - `CLOSED`, or `NOTPAY` past `time_expire` (with the clock-skew allowance) → closed here;
//! - unknown (`ORDER_NOT_EXIST`) → closed here only when no prepay can still land (none in
//!   flight, and the local write is conditional on no new prepay having been claimed), and never
//!   for an order that holds a `code_url` (WeChat Pay issued it, so it must know the order);
//! - anything else → left pending for a later sweep.

use wxpay::Clock;
use wxpay::models::TradeState;

use super::settle::{SettleError, SettleResult, SettleStore, settle_queried_transaction};
use crate::OrdersConfig;
use crate::domain::{CloseReason, CloseRequest, Order};
use crate::ports::{CloseOutcome, GatewayError, OrderCloser, PaymentGateway, StoreError};

/// What a confirmed close ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Closed here now (or found already closed the same way).
    Closed {
        /// The order as stored.
        order: Order,
        /// WeChat Pay did not know the order: its prepay never landed.
        never_prepaid: bool,
    },
    /// WeChat Pay says it is paid: settled (or found settled).
    Paid(SettleResult),
    /// Changed meanwhile here (paid by a notification, closed the other way): nothing written.
    NotPending(Order),
}

/// Why an order was not closed. Nothing was written; a later attempt can finish the job.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// WeChat Pay failed or did not answer.
    #[error("WeChat Pay failed: {0}")]
    Gateway(GatewayError),
    /// WeChat Pay does not confirm that the order can no longer be paid.
    #[error("not confirmed closed at WeChat Pay: {0}")]
    StillPayable(String),
    /// WeChat Pay does not know an order it issued a `code_url` for: an alert.
    #[error("WeChat Pay does not know order {0}, which has a code_url")]
    UnknownWithCodeUrl(String),
    /// WeChat Pay shows a state a pending order should never be in (`REVOKED`, `PAYERROR`, …): an
    /// alert.
    #[error("WeChat Pay shows trade_state {0} for a pending order")]
    UnexpectedState(String),
    /// It was paid, but the transaction could not be settled (see [`SettleError`]).
    #[error(transparent)]
    Settle(#[from] SettleError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Closes `order` at WeChat Pay, then confirms by a query and acts on what the query says (see
/// the module documentation). `order` is the order as read before: its `prepayStartedAt` guards
/// the local write.
pub async fn close_confirmed<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    order: &Order,
    reason: CloseReason,
) -> Result<Confirmed, CloseError>
where
    S: SettleStore + OrderCloser,
    G: PaymentGateway,
    C: Clock,
{
    let number = order.order_no.as_str();
    match gateway.close_order(number).await {
        Ok(())
        | Err(
            GatewayError::OrderPaid
            | GatewayError::OrderClosed
            | GatewayError::OrderNotFound
            | GatewayError::Rejected { .. },
        ) => {}
        Err(err) => return Err(CloseError::Gateway(err)),
    }
    let now = super::now(clock);
    let transaction = gateway
        .query_order(number)
        .await
        .map_err(CloseError::Gateway)?;
    let never_prepaid = transaction.is_none();
    match transaction {
        Some(tx) if tx.trade_state.is_paid() => {
            let settled =
                settle_queried_transaction(store, clock, config, &order.order_no, &tx).await?;
            return Ok(Confirmed::Paid(settled));
        }
        Some(tx) if tx.trade_state == TradeState::Closed => {}
        Some(tx) if tx.trade_state == TradeState::Notpay && order.is_unpayable_at(now) => {}
        Some(tx)
            if !matches!(
                tx.trade_state,
                TradeState::Notpay | TradeState::Userpaying | TradeState::Accept
            ) =>
        {
            return Err(CloseError::UnexpectedState(
                tx.trade_state.as_str().to_owned(),
            ));
        }
        Some(tx) => {
            return Err(CloseError::StillPayable(format!(
                "trade_state {}",
                tx.trade_state.as_str()
            )));
        }
        None if order.code_url.is_some() => {
            return Err(CloseError::UnknownWithCodeUrl(number.to_owned()));
        }
        None if order.prepay_in_flight_at(now) => {
            return Err(CloseError::StillPayable("a prepay may still land".into()));
        }
        None => {}
    }
    let request = CloseRequest {
        reason,
        prepay_seen: order.prepay_started_at,
        at: now,
    };
    match store.close_order(&order.order_no, &request).await? {
        CloseOutcome::Closed(order) | CloseOutcome::AlreadyClosed(order) => Ok(Confirmed::Closed {
            order,
            never_prepaid,
        }),
        CloseOutcome::NotPending(order) => Ok(Confirmed::NotPending(order)),
        CloseOutcome::PrepayMoved(_) => Err(CloseError::StillPayable(
            "a prepay was claimed meanwhile".into(),
        )),
        CloseOutcome::NotFound => Err(CloseError::Store(StoreError::OrderNotFound)),
    }
}

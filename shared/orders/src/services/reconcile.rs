//! The sweep: orders still `NOTPAY` after `RECONCILE_AFTER_SECS` are queried at WeChat Pay; paid
//! ones are settled, expired ones closed.

use futures::StreamExt;
use time::OffsetDateTime;
use wxpay::Clock;
use wxpay::models::TradeState;

use super::settle::{SettleError, SettleResult, settle_queried_transaction};
use crate::OrdersConfig;
use crate::domain::Order;
use crate::ports::{
    CloseOutcome, CloseReason, GatewayError, OrderCloser, OrderReader, OrderSettler, PageRequest,
    PaymentGateway, PendingOrderLister, StoreError,
};

/// Orders read from the pending index per page.
pub const PAGE_SIZE: u32 = 100;

/// Counts per outcome of one sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Pending orders the sweep started work on.
    pub examined: u64,
    /// Paid at WeChat Pay and settled now.
    pub settled: u64,
    /// Paid, and already settled (e.g. by the notification meanwhile).
    pub already_settled: u64,
    /// Past their TTL, closed at WeChat Pay (or found closed there), now `CLOSED`.
    pub closed: u64,
    /// Past their TTL and unknown at WeChat Pay (the prepay never landed), now `CLOSED`.
    pub closed_never_prepaid: u64,
    /// Not paid and not yet expired (or changed by someone else meanwhile): left as is.
    pub still_pending: u64,
    /// A WeChat Pay or store error: left for the next run.
    pub failed: u64,
    /// A paid transaction that does not match, or pays a closed order or pays twice: logged as
    /// an error, left as is.
    pub alerts: u64,
    /// The deadline came before every pending order was looked at.
    pub deadline_reached: bool,
}

enum Outcome {
    Settled,
    AlreadySettled,
    Closed,
    ClosedNeverPrepaid,
    StillPending,
    Failed,
    Alert,
    NotStarted,
}

impl ReconcileReport {
    fn count(&mut self, outcome: Outcome) {
        if !matches!(outcome, Outcome::NotStarted) {
            self.examined += 1;
        }
        match outcome {
            Outcome::Settled => self.settled += 1,
            Outcome::AlreadySettled => self.already_settled += 1,
            Outcome::Closed => self.closed += 1,
            Outcome::ClosedNeverPrepaid => self.closed_never_prepaid += 1,
            Outcome::StillPending => self.still_pending += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Alert => self.alerts += 1,
            Outcome::NotStarted => self.deadline_reached = true,
        }
    }
}

struct Sweep<'a, S, G, C> {
    store: &'a S,
    gateway: &'a G,
    clock: &'a C,
    config: &'a OrdersConfig,
    deadline: OffsetDateTime,
}

/// Reconciles the orders still `NOTPAY` that were created more than `reconcile_after_secs` ago,
/// with at most `reconcile_concurrency` WeChat Pay queries in flight:
/// - `SUCCESS` → settled through the notification's path and checks;
/// - not paid and past its TTL → closed at WeChat Pay, then `CLOSED` (if the close says paid, settled);
/// - closed at WeChat Pay → `CLOSED`;
/// - unknown at WeChat Pay and past its TTL (the prepay never landed) → `CLOSED`;
/// - errors leave the order for the next run.
///
/// No new order is started at or after `deadline` (orders in flight finish). Reads only the pending
/// index. Fails only if listing fails before any work is done; later listing errors end the sweep
/// with what was counted.
pub async fn reconcile_pending<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    deadline: OffsetDateTime,
) -> Result<ReconcileReport, StoreError>
where
    S: PendingOrderLister + OrderReader + OrderSettler + OrderCloser,
    G: PaymentGateway,
    C: Clock,
{
    let sweep = Sweep {
        store,
        gateway,
        clock,
        config,
        deadline,
    };
    let cutoff = clock.now() - config.reconcile_after();
    let concurrency = config.reconcile_concurrency.max(1);
    let mut report = ReconcileReport::default();
    let mut page = PageRequest::first(PAGE_SIZE);
    let mut first_page = true;
    loop {
        if clock.now() >= deadline {
            report.deadline_reached = true;
            break;
        }
        let listed = match store.list_pending_orders(cutoff, &page).await {
            Ok(listed) => listed,
            Err(err) if first_page => return Err(err),
            Err(err) => {
                tracing::error!(error = %err, "listing pending orders failed mid-sweep");
                break;
            }
        };
        first_page = false;
        let outcomes: Vec<Outcome> = futures::stream::iter(listed.items)
            .map(|order| sweep.reconcile_one(order))
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for outcome in outcomes {
            report.count(outcome);
        }
        match listed.next {
            Some(cursor) if !report.deadline_reached => {
                page = PageRequest::after(PAGE_SIZE, cursor)
            }
            _ => break,
        }
    }
    tracing::info!(?report, "reconcile sweep done");
    Ok(report)
}

impl<S, G, C> Sweep<'_, S, G, C>
where
    S: OrderReader + OrderSettler + OrderCloser,
    G: PaymentGateway,
    C: Clock,
{
    async fn reconcile_one(&self, order: Order) -> Outcome {
        if self.clock.now() >= self.deadline {
            return Outcome::NotStarted;
        }
        let number = order.order_no.as_str();
        match self.gateway.query_order(number).await {
            Err(err) => {
                tracing::warn!(out_trade_no = number, error = %err, "query failed");
                Outcome::Failed
            }
            Ok(None) if order.is_expired_at(self.clock.now()) => {
                match self.close_locally(&order).await {
                    Outcome::Closed => Outcome::ClosedNeverPrepaid,
                    other => other,
                }
            }
            Ok(None) => Outcome::StillPending,
            Ok(Some(tx)) => match tx.trade_state {
                TradeState::Success => self.settle(&order, &tx).await,
                TradeState::Closed => self.close_locally(&order).await,
                TradeState::Notpay | TradeState::Userpaying | TradeState::Accept
                    if order.is_expired_at(self.clock.now()) =>
                {
                    self.close_everywhere(&order).await
                }
                TradeState::Notpay | TradeState::Userpaying | TradeState::Accept => {
                    Outcome::StillPending
                }
                other => {
                    tracing::error!(
                        out_trade_no = number,
                        trade_state = other.as_str(),
                        "unexpected trade state for a pending order"
                    );
                    Outcome::Alert
                }
            },
        }
    }

    async fn settle(&self, order: &Order, tx: &wxpay::models::Transaction) -> Outcome {
        match settle_queried_transaction(self.store, self.clock, self.config, &order.order_no, tx)
            .await
        {
            Ok(SettleResult::Settled(_)) => Outcome::Settled,
            Ok(SettleResult::AlreadySettled(_)) => Outcome::AlreadySettled,
            Err(SettleError::Store(err)) => {
                tracing::warn!(out_trade_no = %order.order_no, error = %err, "settle failed");
                Outcome::Failed
            }
            Err(err) => {
                tracing::error!(out_trade_no = %order.order_no, error = %err, "paid transaction not settled");
                Outcome::Alert
            }
        }
    }

    async fn close_everywhere(&self, order: &Order) -> Outcome {
        match self.gateway.close_order(order.order_no.as_str()).await {
            Ok(()) | Err(GatewayError::OrderClosed) => self.close_locally(order).await,
            Err(GatewayError::OrderNotFound) => match self.close_locally(order).await {
                Outcome::Closed => Outcome::ClosedNeverPrepaid,
                other => other,
            },
            Err(GatewayError::OrderPaid) => {
                match self.gateway.query_order(order.order_no.as_str()).await {
                    Ok(Some(tx)) if tx.trade_state == TradeState::Success => {
                        self.settle(order, &tx).await
                    }
                    Ok(_) => Outcome::Failed,
                    Err(err) => {
                        tracing::warn!(out_trade_no = %order.order_no, error = %err, "query after ORDERPAID failed");
                        Outcome::Failed
                    }
                }
            }
            Err(err) => {
                tracing::warn!(out_trade_no = %order.order_no, error = %err, "close failed");
                Outcome::Failed
            }
        }
    }

    async fn close_locally(&self, order: &Order) -> Outcome {
        let at = super::now(self.clock);
        match self
            .store
            .close_order(&order.order_no, CloseReason::Expired, at)
            .await
        {
            Ok(CloseOutcome::Closed(_) | CloseOutcome::AlreadyClosed(_)) => Outcome::Closed,
            Ok(CloseOutcome::NotPending(_) | CloseOutcome::NotFound) => Outcome::StillPending,
            Err(err) => {
                tracing::warn!(out_trade_no = %order.order_no, error = %err, "close failed");
                Outcome::Failed
            }
        }
    }
}

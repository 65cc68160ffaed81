//! The sweep: orders still `NOTPAY` after `RECONCILE_AFTER_SECS` are queried at WeChat Pay; paid
//! ones are settled, expired ones closed the confirmed way ([`close_confirmed`]).
//!
//! Fairness under a backlog: the sweep first lists every due pending order (the sparse index, all
//! shards), then serves them oldest first among those with the fewest failed sweeps, so that
//! orders that keep failing or alerting sink behind the rest instead of being re-queried ahead of
//! everything. It backs off when WeChat Pay throttles (429 / `FREQUENCY_LIMITED`), and stops
//! starting work early enough for the slowest order in flight to end before the deadline.

use std::sync::Mutex;

use futures::StreamExt;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use wxpay::Clock;
use wxpay::models::TradeState;

use super::close::{CloseError, Confirmed, close_confirmed};
use super::settle::{SettleError, SettleResult, settle_queried_transaction};
use crate::OrdersConfig;
use crate::domain::{CloseReason, Order};
use crate::ports::{GatewayError, PageRequest, PaymentGateway, StoreError, SweepStore};

/// Orders read from the pending index per page.
pub const PAGE_SIZE: u32 = 100;
/// Most pending orders one sweep lists (and so may serve); the rest wait for the next run.
pub const MAX_LISTED: usize = 20_000;
/// Time a store write may take, retries included, in the worst case the sweep plans for.
pub const STORE_ALLOWANCE: Duration = Duration::seconds(2);
/// First pause after WeChat Pay throttles the sweep; doubled on each throttle in a row.
pub const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);
/// Longest pause after a throttle.
pub const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(8);
/// Throttles in a row after which the run stops starting work.
pub const MAX_THROTTLES_IN_A_ROW: u32 = 6;

/// Counts per outcome of one sweep; logged as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Due pending orders listed.
    pub listed: u64,
    /// Pending orders the sweep started work on.
    pub examined: u64,
    /// Paid at WeChat Pay and settled now.
    pub settled: u64,
    /// Paid, and already settled (e.g. by the notification meanwhile).
    pub already_settled: u64,
    /// Paid at WeChat Pay after being closed here: settled with `paidAfterClose` (an alert).
    pub paid_after_close: u64,
    /// Confirmed closed at WeChat Pay (or unpayable there), now `CLOSED`.
    pub closed: u64,
    /// Unknown at WeChat Pay with no prepay left to land, now `CLOSED`.
    pub closed_never_prepaid: u64,
    /// Not paid and not yet expired, or not confirmed closed yet: left as is.
    pub still_pending: u64,
    /// A WeChat Pay or store error: left for the next run.
    pub failed: u64,
    /// Throttled by WeChat Pay: left for the next run, and the sweep backed off.
    pub throttled: u64,
    /// A paid transaction that does not match, or WeChat Pay not knowing an order it issued a
    /// link for: logged as an error, left as is.
    pub alerts: u64,
    /// Still `NOTPAY` after the sweep although past `expiresAt` + `RECONCILE_AFTER_SECS`, examined
    /// or not: what the stale-pending alarm watches.
    pub stale_pending: u64,
    /// Age in seconds of the oldest order listed that is still `NOTPAY` after the sweep (0 when
    /// none is): how far behind the sweep is.
    pub oldest_pending_secs: u64,
    /// The deadline (or throttling) stopped the sweep before every listed order was served.
    pub deadline_reached: bool,
}

/// What became of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Settled,
    AlreadySettled,
    PaidAfterClose,
    Closed,
    ClosedNeverPrepaid,
    StillPending,
    Failed,
    Throttled,
    Alert,
    NotStarted,
}

impl Outcome {
    /// Whether the order is no longer pending afterwards.
    fn resolved(self) -> bool {
        matches!(
            self,
            Self::Settled
                | Self::AlreadySettled
                | Self::PaidAfterClose
                | Self::Closed
                | Self::ClosedNeverPrepaid
        )
    }
}

impl SweepReport {
    fn count(&mut self, outcome: Outcome) {
        if !matches!(outcome, Outcome::NotStarted) {
            self.examined += 1;
        }
        match outcome {
            Outcome::Settled => self.settled += 1,
            Outcome::AlreadySettled => self.already_settled += 1,
            Outcome::PaidAfterClose => self.paid_after_close += 1,
            Outcome::Closed => self.closed += 1,
            Outcome::ClosedNeverPrepaid => self.closed_never_prepaid += 1,
            Outcome::StillPending => self.still_pending += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Alert => self.alerts += 1,
            Outcome::NotStarted => self.deadline_reached = true,
        }
    }
}

/// Pauses new work after WeChat Pay throttles, doubling the pause while throttles follow in a row.
#[derive(Debug, Default)]
struct Backoff {
    state: Mutex<BackoffState>,
}

#[derive(Debug, Default)]
struct BackoffState {
    in_a_row: u32,
    until: Option<tokio::time::Instant>,
}

impl Backoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, BackoffState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits out a pause in force; false when the run should stop starting work.
    async fn ready(&self) -> bool {
        let until = {
            let state = self.lock();
            if state.in_a_row >= MAX_THROTTLES_IN_A_ROW {
                return false;
            }
            state.until
        };
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
        true
    }

    fn record(&self, outcome: Outcome) {
        let mut state = self.lock();
        if outcome == Outcome::Throttled {
            state.in_a_row += 1;
            let factor = 1u32 << state.in_a_row.saturating_sub(1).min(8);
            let pause = FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF);
            state.until = Some(tokio::time::Instant::now() + pause);
        } else if outcome != Outcome::NotStarted {
            state.in_a_row = 0;
        }
    }
}

struct Sweep<'a, S, G, C> {
    store: &'a S,
    gateway: &'a G,
    clock: &'a C,
    config: &'a OrdersConfig,
    /// No order is started at or after this.
    last_start: OffsetDateTime,
    backoff: Backoff,
}

/// The longest one order can take: query, close and query at the client timeout, plus the store.
pub fn slowest_order(config: &OrdersConfig) -> Duration {
    Duration::milliseconds(3 * i64::from(config.wxpay_timeout_ms)) + STORE_ALLOWANCE
}

/// Sweeps the orders still `NOTPAY` that were created more than `sweep_after_secs` ago,
/// with at most `sweep_concurrency` orders in flight:
/// - not expired: queried; `SUCCESS` → settled through the notification's path and checks;
/// - expired: closed the confirmed way ([`close_confirmed`]): closed at WeChat Pay, queried, and
///   settled, closed here, or left pending according to the query.
///
/// Work ends by `deadline`: no order starts later than `deadline` − [`slowest_order`]. Failed and
/// alerting orders get `sweepFailures` counted, which moves them behind the others next time.
/// Reads only the pending index. Fails only if listing fails before any work is done.
pub async fn sweep_pending<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    deadline: OffsetDateTime,
) -> Result<SweepReport, StoreError>
where
    S: SweepStore,
    G: PaymentGateway,
    C: Clock,
{
    let sweep = Sweep {
        store,
        gateway,
        clock,
        config,
        last_start: deadline - slowest_order(config),
        backoff: Backoff::default(),
    };
    let now = clock.now();
    let mut report = SweepReport::default();
    let mut due = sweep.list_due(now - config.sweep_after()).await?;
    report.listed = due.len() as u64;
    due.sort_by(|a, b| {
        (a.sweep_failures, a.created_at, a.order_no.as_str()).cmp(&(
            b.sweep_failures,
            b.created_at,
            b.order_no.as_str(),
        ))
    });
    let stale_before = now - config.sweep_after();
    let outcomes: Vec<(bool, OffsetDateTime, Outcome)> = futures::stream::iter(due)
        .map(|order| async {
            let stale = order.expires_at < stale_before;
            let created_at = order.created_at;
            (stale, created_at, sweep.sweep_one(order).await)
        })
        .buffer_unordered(config.sweep_concurrency.max(1))
        .collect()
        .await;
    for (stale, created_at, outcome) in outcomes {
        if !outcome.resolved() {
            if stale {
                report.stale_pending += 1;
            }
            let age = u64::try_from((now - created_at).whole_seconds()).unwrap_or(0);
            report.oldest_pending_secs = report.oldest_pending_secs.max(age);
        }
        report.count(outcome);
    }
    Ok(report)
}

impl<S, G, C> Sweep<'_, S, G, C>
where
    S: SweepStore,
    G: PaymentGateway,
    C: Clock,
{
    /// Every pending order created before `cutoff`, up to [`MAX_LISTED`]. Listing errors after the
    /// first page end the listing with what was read.
    async fn list_due(&self, cutoff: OffsetDateTime) -> Result<Vec<Order>, StoreError> {
        let mut due = Vec::new();
        let mut page = PageRequest::first(PAGE_SIZE);
        loop {
            let listed = match self.store.list_pending_orders(cutoff, &page).await {
                Ok(listed) => listed,
                Err(err) if due.is_empty() => return Err(err),
                Err(err) => {
                    tracing::error!(error = %err, "listing pending orders failed mid-sweep");
                    return Ok(due);
                }
            };
            due.extend(listed.items);
            match listed.next {
                Some(cursor) if due.len() < MAX_LISTED && self.clock.now() < self.last_start => {
                    page = PageRequest::after(PAGE_SIZE, cursor);
                }
                _ => return Ok(due),
            }
        }
    }

    async fn sweep_one(&self, order: Order) -> Outcome {
        // Checked again after a back-off pause, which may have run past the last start.
        if self.clock.now() >= self.last_start
            || !self.backoff.ready().await
            || self.clock.now() >= self.last_start
        {
            return Outcome::NotStarted;
        }
        let outcome = if order.is_expired_at(self.clock.now()) {
            self.close(&order).await
        } else {
            self.query(&order).await
        };
        self.backoff.record(outcome);
        if matches!(outcome, Outcome::Failed | Outcome::Alert)
            && let Err(err) = self.store.record_sweep_failure(&order.order_no).await
        {
            tracing::warn!(out_trade_no = %order.order_no, error = %err, "sweep failure not counted");
        }
        outcome
    }

    async fn query(&self, order: &Order) -> Outcome {
        let number = order.order_no.as_str();
        match self.gateway.query_order(number).await {
            Err(err) => gateway_failure(number, &err),
            Ok(Some(tx)) if tx.trade_state.is_paid() => {
                let settled = settle_queried_transaction(
                    self.store,
                    self.clock,
                    self.config,
                    &order.order_no,
                    &tx,
                )
                .await;
                settled_outcome(number, settled)
            }
            Ok(Some(tx))
                if !matches!(
                    tx.trade_state,
                    TradeState::Notpay
                        | TradeState::Userpaying
                        | TradeState::Accept
                        | TradeState::Closed
                ) =>
            {
                tracing::error!(
                    alert = "sweep_alert",
                    out_trade_no = number,
                    trade_state = tx.trade_state.as_str(),
                    "unexpected trade state for a pending order"
                );
                Outcome::Alert
            }
            Ok(_) => Outcome::StillPending,
        }
    }

    async fn close(&self, order: &Order) -> Outcome {
        let number = order.order_no.as_str();
        let confirmed = close_confirmed(
            self.store,
            self.gateway,
            self.clock,
            self.config,
            order,
            CloseReason::Expired,
        )
        .await;
        match confirmed {
            Ok(Confirmed::Closed {
                never_prepaid: true,
                ..
            }) => Outcome::ClosedNeverPrepaid,
            Ok(Confirmed::Closed { .. }) => Outcome::Closed,
            Ok(Confirmed::Paid(settled)) => settled_outcome(number, Ok(settled)),
            Ok(Confirmed::NotPending(_)) => Outcome::StillPending,
            Err(CloseError::Gateway(err)) => gateway_failure(number, &err),
            Err(CloseError::StillPayable(why)) => {
                tracing::info!(
                    out_trade_no = number,
                    why,
                    "expired order not confirmed closed"
                );
                Outcome::StillPending
            }
            Err(CloseError::Settle(err)) => settled_outcome(number, Err(err)),
            Err(err @ (CloseError::UnknownWithCodeUrl(_) | CloseError::UnexpectedState(_))) => {
                tracing::error!(alert = "sweep_alert", out_trade_no = number, error = %err, "order left pending");
                Outcome::Alert
            }
            Err(CloseError::Store(err)) => {
                tracing::warn!(out_trade_no = number, error = %err, "close failed");
                Outcome::Failed
            }
        }
    }
}

fn gateway_failure(number: &str, err: &GatewayError) -> Outcome {
    tracing::warn!(out_trade_no = number, error = %err, "WeChat Pay call failed");
    match err {
        GatewayError::Throttled(_) => Outcome::Throttled,
        _ => Outcome::Failed,
    }
}

fn settled_outcome(number: &str, settled: Result<SettleResult, SettleError>) -> Outcome {
    match settled {
        Ok(SettleResult::Settled(_)) => Outcome::Settled,
        Ok(SettleResult::SettledAfterClose(_)) => Outcome::PaidAfterClose,
        Ok(SettleResult::AlreadySettled(_)) => Outcome::AlreadySettled,
        Ok(SettleResult::DoublePayment(_)) => Outcome::Alert,
        Err(SettleError::Store(err)) => {
            tracing::warn!(out_trade_no = number, error = %err, "settle failed");
            Outcome::Failed
        }
        Err(err) => {
            tracing::error!(alert = "sweep_alert", out_trade_no = number, error = %err, "paid transaction not settled");
            Outcome::Alert
        }
    }
}

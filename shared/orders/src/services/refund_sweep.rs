//! The refund sweep: refunds still open `RECONCILE_AFTER_SECS` after they were asked for are
//! followed up at WeChat Pay, so that a lost answer or a lost refund notification is recovered:
//! - `SUBMITTING` (WeChat Pay never answered): sent again under the same number, which refunds
//!   once whatever happened to the first request;
//! - `PROCESSING`: queried, and the final state applied.
//!
//! It reads only the sparse index of open refunds, and stops starting work in time for the
//! slowest refund in flight to end before the deadline.

use crate::metrics::Attention;
use futures::StreamExt;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use wxpay::Clock;

use super::refund::{RefundError, RefundResult, record_answer, submit};
use super::sweep::STORE_ALLOWANCE;
use crate::domain::{Refund, RefundState};
use crate::ports::{
    GatewayError, OpenRefundLister, OrderReader, PageRequest, RefundGateway, RefundReader,
    RefundRecorder, RefundRequester, StoreError,
};
use crate::{NotifyUrl, OrdersConfig};

/// Open refunds read per page.
const PAGE_SIZE: u32 = 100;
/// Most open refunds one run lists; the rest wait for the next run.
pub const MAX_LISTED: usize = 5_000;

/// Counts per outcome of one refund sweep; logged as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundSweepReport {
    /// Due open refunds listed.
    pub listed: u64,
    /// Ended (`SUCCESS`, `CLOSED`, `ABNORMAL` or `REJECTED`) by this run.
    pub finished: u64,
    /// Accepted by WeChat Pay now (`SUBMITTING → PROCESSING`), or still processing there.
    pub processing: u64,
    /// Still without an answer from WeChat Pay: left `SUBMITTING` for the next run.
    pub unanswered: u64,
    /// A WeChat Pay or store error: left for the next run.
    pub failed: u64,
    /// WeChat Pay holds no refund we saw it accept: an alert, left as is.
    pub alerts: u64,
    /// The deadline stopped the run before every listed refund was served.
    pub deadline_reached: bool,
}

/// What became of one refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Finished,
    Processing,
    Unanswered,
    Failed,
    Alert,
    NotStarted,
}

/// Everything the refund sweep uses.
pub trait RefundSweepStore:
    OpenRefundLister + OrderReader + RefundRequester + RefundReader + RefundRecorder
{
}

impl<T> RefundSweepStore for T where
    T: OpenRefundLister + OrderReader + RefundRequester + RefundReader + RefundRecorder
{
}

/// The longest one refund can take: a send and a confirming query at the client timeout, plus the
/// store.
pub fn slowest_refund(config: &OrdersConfig) -> Duration {
    Duration::milliseconds(2 * i64::from(config.wxpay_timeout_ms)) + STORE_ALLOWANCE
}

/// Follows up the refunds still open `sweep_after_secs` after they were asked for, with at most
/// `sweep_concurrency` in flight, starting none after `deadline` − [`slowest_refund`]. Fails only
/// if listing fails before any work is done.
pub async fn sweep_refunds<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    notify_url: &NotifyUrl,
    deadline: OffsetDateTime,
) -> Result<RefundSweepReport, StoreError>
where
    S: RefundSweepStore,
    G: RefundGateway,
    C: Clock,
{
    let last_start = deadline - slowest_refund(config);
    let due = list_due(store, clock.now() - config.sweep_after(), clock, last_start).await?;
    let mut report = RefundSweepReport {
        listed: due.len() as u64,
        ..RefundSweepReport::default()
    };
    let outcomes: Vec<Outcome> = futures::stream::iter(due)
        .map(|refund| async move {
            if clock.now() >= last_start {
                return Outcome::NotStarted;
            }
            follow_up(store, gateway, clock, notify_url, refund).await
        })
        .buffer_unordered(config.sweep_concurrency.max(1))
        .collect()
        .await;
    for outcome in outcomes {
        match outcome {
            Outcome::Finished => report.finished += 1,
            Outcome::Processing => report.processing += 1,
            Outcome::Unanswered => report.unanswered += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Alert => report.alerts += 1,
            Outcome::NotStarted => report.deadline_reached = true,
        }
    }
    Ok(report)
}

async fn list_due<S: OpenRefundLister, C: Clock>(
    store: &S,
    cutoff: OffsetDateTime,
    clock: &C,
    last_start: OffsetDateTime,
) -> Result<Vec<Refund>, StoreError> {
    let mut due = Vec::new();
    let mut page = PageRequest::first(PAGE_SIZE);
    loop {
        let listed = match store.list_open_refunds(cutoff, &page).await {
            Ok(listed) => listed,
            Err(err) if due.is_empty() => return Err(err),
            Err(err) => {
                tracing::error!(error = %err, "listing open refunds failed mid-sweep");
                return Ok(due);
            }
        };
        due.extend(listed.items);
        match listed.next {
            Some(cursor) if due.len() < MAX_LISTED && clock.now() < last_start => {
                page = PageRequest::after(PAGE_SIZE, cursor);
            }
            _ => return Ok(due),
        }
    }
}

async fn follow_up<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    notify_url: &NotifyUrl,
    refund: Refund,
) -> Outcome
where
    S: RefundSweepStore,
    G: RefundGateway,
    C: Clock,
{
    let order_no = refund.order_no.clone();
    let number = refund.out_refund_no.clone();
    let result = match refund.state {
        RefundState::Submitting => {
            let order = match store.get_order(&order_no).await {
                Ok(Some(order)) => order,
                Ok(None) => return Outcome::Alert,
                Err(err) => {
                    tracing::warn!(out_trade_no = %order_no, error = %err, "refund sweep: order not read");
                    return Outcome::Failed;
                }
            };
            submit(store, gateway, clock, notify_url, &order, refund).await
        }
        RefundState::Processing => match gateway.query_refund(number.as_str()).await {
            Ok(Some(answer)) => record_answer(store, clock, &order_no, &number, &answer).await,
            Ok(None) => {
                Attention::RefundMissing.raise();
                tracing::error!(
                    alert = Attention::RefundMissing.as_str(),
                    out_trade_no = %order_no,
                    out_refund_no = %number,
                    "WeChat Pay holds no refund it accepted; left PROCESSING"
                );
                return Outcome::Alert;
            }
            Err(err) => return gateway_failure(&number, &err),
        },
        // Listed before it ended: nothing to do.
        _ => return Outcome::Finished,
    };
    match result {
        Ok(RefundResult { refund, .. }) => match refund.state {
            RefundState::Submitting => Outcome::Unanswered,
            RefundState::Processing => Outcome::Processing,
            _ => Outcome::Finished,
        },
        Err(RefundError::Rejected { .. }) => Outcome::Finished,
        Err(err) => {
            tracing::warn!(out_trade_no = %order_no, out_refund_no = %number, error = %err, "refund sweep failed");
            Outcome::Failed
        }
    }
}

fn gateway_failure(number: &crate::domain::RefundNo, err: &GatewayError) -> Outcome {
    tracing::warn!(out_refund_no = %number, error = %err, "refund query failed");
    Outcome::Failed
}

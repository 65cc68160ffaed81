//! One sweep and its summary.

use orders::OrdersConfig;
use orders::ports::{
    EvidenceRecorder, OrderCloser, OrderReader, OrderSettler, PaymentGateway, PendingOrderLister,
    StoreError, SweepFailureRecorder,
};
use orders::services::{ReconcileReport, reconcile_pending};
use serde::Serialize;
use time::OffsetDateTime;
use wxpay::Clock;

/// What a sweep needs; built once per cold start.
pub struct SweepDeps<S, G, C> {
    /// The order store.
    pub store: S,
    /// WeChat Pay.
    pub gateway: G,
    /// Time.
    pub clock: C,
    /// Merchant settings and flow timing.
    pub config: OrdersConfig,
}

/// The counts of one sweep, as logged and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepSummary {
    /// Pending orders looked at.
    pub examined: u64,
    /// Settled now.
    pub settled: u64,
    /// Found already settled.
    pub already_settled: u64,
    /// Paid at WeChat Pay after being closed here (an alert).
    pub paid_after_close: u64,
    /// Closed (expired).
    pub closed: u64,
    /// Closed, never known to WeChat Pay.
    pub closed_never_prepaid: u64,
    /// Left pending (not paid, not expired).
    pub still_pending: u64,
    /// Left for the next run after an error.
    pub failed: u64,
    /// Left for the next run after WeChat Pay throttled the sweep.
    pub throttled: u64,
    /// Paid transactions that do not match, or pay a closed or paid order.
    pub alerts: u64,
    /// Orders still `NOTPAY` past `expiresAt` + `RECONCILE_AFTER_SECS`, examined or not: what the
    /// stale-pending alarm watches.
    pub stale_pending: u64,
    /// The deadline stopped the sweep before every pending order was looked at.
    pub deadline_reached: bool,
}

impl From<ReconcileReport> for SweepSummary {
    fn from(report: ReconcileReport) -> Self {
        Self {
            examined: report.examined,
            settled: report.settled,
            already_settled: report.already_settled,
            paid_after_close: report.paid_after_close,
            closed: report.closed,
            closed_never_prepaid: report.closed_never_prepaid,
            still_pending: report.still_pending,
            failed: report.failed,
            throttled: report.throttled,
            alerts: report.alerts,
            stale_pending: report.stale_pending,
            deadline_reached: report.deadline_reached,
        }
    }
}

/// Runs one sweep that starts no new work at or after `deadline`, and logs its counts (the
/// `stale_pending` field feeds the template's alarm).
pub async fn run_sweep<S, G, C>(
    deps: &SweepDeps<S, G, C>,
    deadline: OffsetDateTime,
) -> Result<SweepSummary, StoreError>
where
    S: PendingOrderLister
        + OrderReader
        + OrderSettler
        + OrderCloser
        + EvidenceRecorder
        + SweepFailureRecorder,
    G: PaymentGateway,
    C: Clock,
{
    let report = reconcile_pending(
        &deps.store,
        &deps.gateway,
        &deps.clock,
        &deps.config,
        deadline,
    )
    .await?;
    let summary = SweepSummary::from(report);
    tracing::info!(
        examined = summary.examined,
        settled = summary.settled,
        already_settled = summary.already_settled,
        paid_after_close = summary.paid_after_close,
        closed = summary.closed,
        closed_never_prepaid = summary.closed_never_prepaid,
        still_pending = summary.still_pending,
        failed = summary.failed,
        throttled = summary.throttled,
        alerts = summary.alerts,
        stale_pending = summary.stale_pending,
        deadline_reached = summary.deadline_reached,
        "sweep finished"
    );
    Ok(summary)
}

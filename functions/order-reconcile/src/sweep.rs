//! One sweep run (open refunds, then pending orders), its log line, and how a failed invocation is
//! reported.

use lambda_runtime::Diagnostic;
use orders::ports::{PaymentGateway, RefundGateway, StoreError, SweepStore};
use orders::services::refund_sweep::RefundSweepStore;
use orders::services::{RefundSweepReport, SweepReport, sweep_pending, sweep_refunds};
use orders::{NotifyUrl, OrdersConfig};
use serde::Serialize;
use time::OffsetDateTime;
use wxpay::Clock;

use crate::trigger::TriggerError;

/// What a sweep needs; built once per cold start.
pub struct Deps<S, G, C> {
    /// The order store.
    pub store: S,
    /// WeChat Pay.
    pub gateway: G,
    /// Time.
    pub clock: C,
    /// Merchant settings and flow timing.
    pub config: OrdersConfig,
    /// Where WeChat Pay posts refund notifications (sent again with refunds it never answered).
    pub notify_url: NotifyUrl,
}

/// What one run did: the refunds followed up, and the pending orders swept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepRun {
    /// The refund sweep.
    pub refunds: RefundSweepReport,
    /// The pending-order sweep.
    pub orders: SweepReport,
}

/// Share of the run's time the refund sweep may take before the pending orders' turn (refunds are
/// few, and a backlog of pending orders must not starve them, nor they it).
const REFUND_SHARE: i32 = 3;

/// Runs one sweep that starts no new work at or after `deadline`: first the open refunds (within
/// a third of the time), then the pending orders. Logs the run once (the whole run as JSON,
/// `report`, with `stale_pending` as a top-level field for Logs Insights) and emits its metrics
/// ([`crate::metrics::emit`]).
pub async fn run_sweep<S, G, C>(
    deps: &Deps<S, G, C>,
    deadline: OffsetDateTime,
) -> Result<SweepRun, StoreError>
where
    S: SweepStore + RefundSweepStore,
    G: PaymentGateway + RefundGateway,
    C: Clock,
{
    let now = deps.clock.now();
    let refunds_until = now + (deadline - now) / REFUND_SHARE;
    let refunds = sweep_refunds(
        &deps.store,
        &deps.gateway,
        &deps.clock,
        &deps.config,
        &deps.notify_url,
        refunds_until,
    )
    .await?;
    let orders = sweep_pending(
        &deps.store,
        &deps.gateway,
        &deps.clock,
        &deps.config,
        deadline,
    )
    .await?;
    let run = SweepRun { refunds, orders };
    tracing::info!(
        stale_pending = run.orders.stale_pending,
        report = %serde_json::to_value(&run).unwrap_or_default(),
        "sweep finished"
    );
    crate::metrics::emit(&run);
    Ok(run)
}

/// A failed invocation, reported to Lambda as a [`Diagnostic`] whose `errorType` names the
/// failure (what the `Errors` metric and the invocation's error response carry).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The event is not a trigger this function accepts (`errorType` `UnrecognisedTrigger`).
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    /// The sweep could not list the open refunds or the pending orders (`errorType`
    /// `SweepFailed`); the next run retries.
    #[error("sweep failed: {0}")]
    Sweep(#[from] StoreError),
}

impl SweepError {
    /// The `errorType` reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Trigger(_) => "UnrecognisedTrigger",
            Self::Sweep(_) => "SweepFailed",
        }
    }
}

impl From<SweepError> for Diagnostic {
    fn from(error: SweepError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

//! One sweep, its log line, and how a failed invocation is reported.

use lambda_runtime::Diagnostic;
use orders::OrdersConfig;
use orders::ports::{PaymentGateway, StoreError, SweepStore};
use orders::services::{SweepReport, sweep_pending};
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
}

/// Runs one sweep that starts no new work at or after `deadline`, and logs its report once: the
/// whole report as JSON (`report`), and `stale_pending` as a top-level integer field, which the
/// template's stale-pending metric filter reads (`$.fields.stale_pending`).
pub async fn run_sweep<S, G, C>(
    deps: &Deps<S, G, C>,
    deadline: OffsetDateTime,
) -> Result<SweepReport, StoreError>
where
    S: SweepStore,
    G: PaymentGateway,
    C: Clock,
{
    let report = sweep_pending(
        &deps.store,
        &deps.gateway,
        &deps.clock,
        &deps.config,
        deadline,
    )
    .await?;
    tracing::info!(
        stale_pending = report.stale_pending,
        report = %serde_json::to_value(&report).unwrap_or_default(),
        "sweep finished"
    );
    Ok(report)
}

/// A failed invocation, reported to Lambda as a [`Diagnostic`] whose `errorType` names the
/// failure (what the `Errors` metric and the invocation's error response carry).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The event is not a trigger this function accepts (`errorType` `UnrecognisedTrigger`).
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    /// The sweep could not list or work the pending orders (`errorType` `SweepFailed`); the next
    /// run retries.
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

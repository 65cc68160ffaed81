//! Refund notifications (`REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`), verified and
//! decrypted by the caller: checked against the merchant, then applied to the refund once. A
//! refund we never asked for (made in the merchant platform) is recorded as `EXTERNAL`; one that
//! names no order of ours is kept as [`Evidence`].

use crate::metrics::Attention;
use wxpay::Clock;
use wxpay::refund::RefundResource;

use super::now;
use super::refund::{RefundResult, apply_report, notification_report};
use crate::OrdersConfig;
use crate::domain::{OrderNo, RefundNo};
use crate::ports::{Evidence, EvidenceRecorder, OrderReader, RefundRecorder, Reported, StoreError};

/// Why a refund notification changed nothing. All but `Store` are alerts, with the resource kept
/// as [`Evidence`].
#[derive(Debug, thiserror::Error)]
pub enum RefundNotificationError {
    /// It is for another merchant.
    #[error("mchid {0} is not ours")]
    Mchid(String),
    /// Its `out_trade_no` or `out_refund_no` cannot be ours.
    #[error("malformed number: {0}")]
    Number(String),
    /// Its `refund_status` is not one this service knows.
    #[error("unknown refund_status {0}")]
    Status(String),
    /// No stored order has its `out_trade_no`.
    #[error("unknown order {0}")]
    UnknownOrder(String),
    /// The store failed; WeChat Pay retries.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a verified refund notification; see the module documentation.
pub async fn apply_refund_notification<S, C>(
    store: &S,
    clock: &C,
    config: &OrdersConfig,
    resource: &RefundResource,
) -> Result<RefundResult, RefundNotificationError>
where
    S: OrderReader + RefundRecorder + EvidenceRecorder,
    C: Clock,
{
    let result = check_and_apply(store, clock, config, resource).await;
    if let Err(err) = &result
        && !matches!(err, RefundNotificationError::Store(_))
    {
        let evidence = Evidence {
            out_trade_no: resource.out_trade_no.clone(),
            transaction_id: resource.transaction_id.clone(),
            reason: format!("refund {}: {err}", resource.out_refund_no),
            received_at: now(clock),
            reported: Reported::Refund(resource.clone()),
        };
        Attention::RefundRefused.raise();
        tracing::error!(
            alert = Attention::RefundRefused.as_str(),
            out_trade_no = %resource.out_trade_no,
            out_refund_no = %resource.out_refund_no,
            reason = %evidence.reason,
            "genuine refund notification refused; evidence kept"
        );
        store.record_evidence(&evidence).await?;
    }
    result
}

async fn check_and_apply<S, C>(
    store: &S,
    clock: &C,
    config: &OrdersConfig,
    resource: &RefundResource,
) -> Result<RefundResult, RefundNotificationError>
where
    S: OrderReader + RefundRecorder,
    C: Clock,
{
    if resource.mchid != config.mchid {
        return Err(RefundNotificationError::Mchid(resource.mchid.clone()));
    }
    let order_no = OrderNo::parse(&resource.out_trade_no)
        .map_err(|_| RefundNotificationError::Number(resource.out_trade_no.clone()))?;
    let number = RefundNo::parse(&resource.out_refund_no)
        .map_err(|_| RefundNotificationError::Number(resource.out_refund_no.clone()))?;
    let report = notification_report(resource, now(clock)).ok_or_else(|| {
        RefundNotificationError::Status(resource.refund_status.as_str().to_owned())
    })?;
    apply_report(store, &order_no, &number, &report)
        .await?
        .ok_or_else(|| RefundNotificationError::UnknownOrder(resource.out_trade_no.clone()))
}

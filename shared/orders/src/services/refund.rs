//! Refunds: reserved against the order's totals first (so concurrent requests cannot over-refund),
//! then sent to WeChat Pay under our number, which is reused on every retry so that a refund
//! happens once. WeChat Pay is the source of truth: a refund it refused is released only once a
//! query confirms it holds none by that number; an answer that never came leaves the refund
//! `SUBMITTING` for the sweep to send again.

use crate::metrics::{Attention, refund_recorded};
use time::OffsetDateTime;
use wxpay::Clock;
use wxpay::refund::{Refund as WxRefund, RefundRequest, RefundResource};

use super::now;
use crate::NotifyUrl;
use crate::domain::refund::{RefundAsk, RefundRefusal, RefundReport};
use crate::domain::{Order, OrderNo, Refund, RefundNo, RefundOrigin, RefundState};
use crate::ports::{
    AskOutcome, GatewayError, OrderReader, RefundGateway, RefundReader, RefundRecorder,
    RefundRequester, RejectOutcome, ReportOutcome, StoreError,
};

/// A refund to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundCommand {
    /// Fen to refund.
    pub amount: i64,
    /// Shown to the payer (at most 80 characters).
    pub reason: Option<String>,
    /// Who asks.
    pub origin: RefundOrigin,
    /// The principal, when known.
    pub requested_by: Option<String>,
    /// The `Idempotency-Key`: the same key on the same order gives the same refund.
    pub idempotency_key: Option<String>,
}

/// Why no refund was made. Suggested HTTP mapping in brackets.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    /// No such order [404].
    #[error("order not found")]
    OrderNotFound,
    /// The rules refuse it (unpaid, more than is left, too many, too old) [409].
    #[error(transparent)]
    Refused(RefundRefusal),
    /// The reason is longer than WeChat Pay shows (80 characters) or holds emoji [400].
    #[error("the reason must be at most 80 characters, without emoji")]
    InvalidReason,
    /// The idempotency key was used on this order for a different refund [409].
    #[error(
        "this Idempotency-Key was used for a refund of {amount} fen with another reason or amount"
    )]
    KeyReused {
        /// The amount of the refund the key made.
        amount: i64,
    },
    /// WeChat Pay refused the refund and confirmed it holds none: its amount is free again [409].
    #[error("WeChat Pay refused the refund ({code}): {message}")]
    Rejected {
        /// WeChat Pay's error code.
        code: String,
        /// WeChat Pay's message.
        message: String,
    },
    /// The store failed [500].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The refund as it stands after asking, and whether WeChat Pay has accepted it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    /// The refund.
    pub refund: Refund,
    /// The order with its totals.
    pub order: Order,
}

/// Asks for a refund of `order_no`: reserves it, then sends it. A repeat with the same
/// idempotency key returns the same refund (sending it again if WeChat Pay has not answered yet).
pub async fn request_refund<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    notify_url: &NotifyUrl,
    order_no: &OrderNo,
    command: &RefundCommand,
) -> Result<RefundResult, RefundError>
where
    S: OrderReader + RefundRequester + RefundReader + RefundRecorder,
    G: RefundGateway,
    C: Clock,
{
    if let Some(reason) = &command.reason
        && wxpay::validate::refund_reason(reason).is_err()
    {
        return Err(RefundError::InvalidReason);
    }
    let ask = RefundAsk {
        amount: command.amount,
        reason: command.reason.clone(),
        origin: command.origin,
        requested_by: command.requested_by.clone(),
        idempotency_key: command.idempotency_key.clone(),
        at: now(clock),
    };
    let (order, refund) = match store.ask_refund(order_no, &ask).await? {
        AskOutcome::Reserved { order, refund } => {
            refund_recorded(refund.state);
            (order, refund)
        }
        AskOutcome::Existing(refund) => {
            if refund.amount != command.amount || refund.reason != command.reason {
                return Err(RefundError::KeyReused {
                    amount: refund.amount,
                });
            }
            let order = store
                .get_order(order_no)
                .await?
                .ok_or(RefundError::OrderNotFound)?;
            if refund.state != RefundState::Submitting {
                return Ok(RefundResult { refund, order });
            }
            (order, refund)
        }
        AskOutcome::Refused { why, .. } => return Err(RefundError::Refused(why)),
        AskOutcome::NotFound => return Err(RefundError::OrderNotFound),
    };
    submit(store, gateway, clock, notify_url, &order, refund).await
}

/// Sends a `SUBMITTING` refund to WeChat Pay (again, under the same number) and records the
/// answer. A definite refusal is confirmed by a query before the refund is released; no answer
/// leaves it `SUBMITTING`.
pub async fn submit<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    notify_url: &NotifyUrl,
    order: &Order,
    refund: Refund,
) -> Result<RefundResult, RefundError>
where
    S: OrderReader + RefundRequester + RefundReader + RefundRecorder,
    G: RefundGateway,
    C: Clock,
{
    let request = wechat_request(order, &refund, notify_url);
    let number = refund.out_refund_no.clone();
    let answer = match gateway.refund(&request).await {
        Ok(answer) => answer,
        Err(GatewayError::Rejected {
            status,
            code,
            message,
        }) if status < 500 && status != 429 => {
            return confirm_refusal(store, gateway, clock, order, refund, code, message).await;
        }
        Err(err) => {
            tracing::warn!(
                out_trade_no = %order.order_no,
                out_refund_no = %number,
                error = %err,
                "refund not confirmed by WeChat Pay; left SUBMITTING for the sweep to send again"
            );
            return Ok(RefundResult {
                refund,
                order: order.clone(),
            });
        }
    };
    record_answer(store, clock, &order.order_no, &number, &answer).await
}

/// WeChat Pay refused: release the refund only if a query confirms there is none by that number.
async fn confirm_refusal<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    order: &Order,
    refund: Refund,
    code: String,
    message: String,
) -> Result<RefundResult, RefundError>
where
    S: OrderReader + RefundRequester + RefundReader + RefundRecorder,
    G: RefundGateway,
    C: Clock,
{
    let number = refund.out_refund_no.clone();
    match gateway.query_refund(number.as_str()).await {
        Ok(None) => {
            let failure = format!("{code}: {message}");
            match store
                .reject_refund(&order.order_no, &number, &failure, now(clock))
                .await?
            {
                RejectOutcome::Rejected { .. } => {
                    refund_recorded(RefundState::Rejected);
                    Err(RefundError::Rejected { code, message })
                }
                // Changed meanwhile (a notification or the sweep got there): show it as it is.
                RejectOutcome::NotSubmitting(held) => Ok(RefundResult {
                    order: current(store, &order.order_no).await?,
                    refund: held,
                }),
                RejectOutcome::NotFound => Err(RefundError::OrderNotFound),
            }
        }
        Ok(Some(answer)) => record_answer(store, clock, &order.order_no, &number, &answer).await,
        Err(err) => {
            tracing::warn!(
                out_trade_no = %order.order_no,
                out_refund_no = %number,
                code,
                error = %err,
                "refund refused but not confirmed by a query; left SUBMITTING for the sweep"
            );
            Ok(RefundResult {
                refund,
                order: order.clone(),
            })
        }
    }
}

/// Records what WeChat Pay answered (or reported) for our refund `number`.
pub async fn record_answer<S, C>(
    store: &S,
    clock: &C,
    order_no: &OrderNo,
    number: &RefundNo,
    answer: &WxRefund,
) -> Result<RefundResult, RefundError>
where
    S: OrderReader + RefundReader + RefundRecorder,
    C: Clock,
{
    let Some(report) = answer_report(answer, now(clock)) else {
        Attention::RefundUnknownStatus.raise();
        tracing::error!(
            alert = Attention::RefundUnknownStatus.as_str(),
            out_trade_no = %order_no,
            out_refund_no = %number,
            status = answer.status.as_str(),
            "WeChat Pay answered a refund status this service does not know"
        );
        let order = current(store, order_no).await?;
        let refund = store
            .get_refund(order_no, number)
            .await?
            .ok_or(RefundError::OrderNotFound)?;
        return Ok(RefundResult { refund, order });
    };
    apply_report(store, order_no, number, &report)
        .await?
        .ok_or(RefundError::OrderNotFound)
}

/// Applies a report to the store and says how the refund stands; `None` if the order is unknown.
pub async fn apply_report<S>(
    store: &S,
    order_no: &OrderNo,
    number: &RefundNo,
    report: &RefundReport,
) -> Result<Option<RefundResult>, StoreError>
where
    S: OrderReader + RefundRecorder,
{
    let held = |refund| async move {
        let order = store.get_order(order_no).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("order {order_no} vanished under refund {number}"))
        })?;
        Ok::<_, StoreError>(Some(RefundResult { refund, order }))
    };
    match store.apply_refund_report(order_no, number, report).await? {
        ReportOutcome::Applied {
            order,
            refund,
            before,
        } => {
            if before == RefundState::Rejected {
                Attention::RefundReportedAfterRejection.raise();
                tracing::error!(
                    alert = Attention::RefundReportedAfterRejection.as_str(),
                    out_trade_no = %order_no,
                    out_refund_no = %number,
                    state = refund.state.as_str(),
                    "WeChat Pay reports a refund we released as refused; it counts again"
                );
            }
            refund_recorded(refund.state);
            alert_if_abnormal(&refund);
            Ok(Some(RefundResult { refund, order }))
        }
        ReportOutcome::RecordedExternal { order, refund } => {
            refund_recorded(refund.state);
            Attention::ExternalRefund.raise();
            tracing::error!(
                alert = Attention::ExternalRefund.as_str(),
                out_trade_no = %order_no,
                out_refund_no = %number,
                amount = refund.amount,
                "WeChat Pay reported a refund we never asked for; recorded as EXTERNAL"
            );
            Ok(Some(RefundResult { refund, order }))
        }
        ReportOutcome::Unchanged(refund) => held(refund).await,
        ReportOutcome::Conflict(refund) => {
            Attention::RefundConflict.raise();
            tracing::error!(
                alert = Attention::RefundConflict.as_str(),
                out_trade_no = %order_no,
                out_refund_no = %number,
                held = refund.state.as_str(),
                reported = report.state.as_str(),
                "WeChat Pay reported a refund differently from what we hold; nothing changed"
            );
            held(refund).await
        }
        ReportOutcome::OrderNotFound => Ok(None),
    }
}

/// What a create or query answer reports, at `at`; `None` for a status this service does not know.
pub fn answer_report(answer: &WxRefund, at: OffsetDateTime) -> Option<RefundReport> {
    Some(RefundReport {
        state: RefundState::from_wechat(&answer.status)?,
        amount: answer.amount.refund,
        refund_id: answer.refund_id.clone(),
        success_time: parse_time(answer.success_time.as_deref()),
        user_received_account: answer.user_received_account.clone(),
        at,
    })
}

/// What a refund notification reports, at `at`; `None` for a status this service does not know.
pub fn notification_report(resource: &RefundResource, at: OffsetDateTime) -> Option<RefundReport> {
    Some(RefundReport {
        state: RefundState::from_wechat(&resource.refund_status)?,
        amount: resource.amount.refund,
        refund_id: resource.refund_id.clone(),
        success_time: parse_time(resource.success_time.as_deref()),
        user_received_account: resource.user_received_account.clone(),
        at,
    })
}

/// A `success_time` that does not parse is dropped: it never stops a refund being recorded.
fn parse_time(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|text| wxpay::time::parse(text).ok())
}

fn alert_if_abnormal(refund: &Refund) {
    if refund.state == RefundState::Abnormal {
        Attention::RefundAbnormal.raise();
        tracing::error!(
            alert = Attention::RefundAbnormal.as_str(),
            out_trade_no = %refund.order_no,
            out_refund_no = %refund.out_refund_no,
            amount = refund.amount,
            "refund could not reach the payer; handle it in the merchant platform"
        );
    }
}

/// The WeChat Pay request for our `refund` of `order`.
fn wechat_request(order: &Order, refund: &Refund, notify_url: &NotifyUrl) -> RefundRequest {
    let mut request = match &order.transaction_id {
        Some(transaction_id) => RefundRequest::of_transaction(
            transaction_id.clone(),
            refund.out_refund_no.as_str(),
            refund.amount,
            order.total_fee,
        ),
        None => {
            let mut request = RefundRequest::of_transaction(
                String::new(),
                refund.out_refund_no.as_str(),
                refund.amount,
                order.total_fee,
            );
            request.transaction_id = None;
            request.out_trade_no = Some(order.order_no.to_string());
            request
        }
    }
    .with_notify_url(notify_url.as_str());
    if let Some(reason) = &refund.reason {
        request = request.with_reason(reason.clone());
    }
    request
}

async fn current<S: OrderReader>(store: &S, order_no: &OrderNo) -> Result<Order, RefundError> {
    store
        .get_order(order_no)
        .await?
        .ok_or(RefundError::OrderNotFound)
}

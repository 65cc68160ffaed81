//! Settling a transaction: one path for the notification, the sweep and cancel.

use crate::metrics::{Attention, refund_recorded};
use wxpay::Clock;
use wxpay::models::Transaction;

use crate::OrdersConfig;
use crate::config::{LATE_PAYMENT_REFUND_REASON, LatePaymentPolicy};
use crate::domain::refund::RefundAsk;
use crate::domain::truncate_to_millis;
use crate::domain::{Order, OrderNo, PaymentRecord, RefundOrigin};
use crate::ports::{
    AskOutcome, Evidence, EvidenceRecorder, OrderReader, OrderSettler, RefundRequester, Reported,
    SettleOutcome, Settlement, StoreError,
};

/// Everything a settle uses: reads, the settle itself, evidence of refused transactions, and the
/// automatic refund of late payments.
pub trait SettleStore: OrderReader + OrderSettler + EvidenceRecorder + RefundRequester {}

impl<T> SettleStore for T where T: OrderReader + OrderSettler + EvidenceRecorder + RefundRequester {}

/// A transaction that does not match the stored order or the merchant. Nothing is settled; log it
/// as an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// `mchid` is not ours.
    #[error("mchid {got} is not ours")]
    Mchid {
        /// What the transaction says.
        got: String,
    },
    /// `appid` is not ours.
    #[error("appid {got} is not ours")]
    Appid {
        /// What the transaction says.
        got: String,
    },
    /// `out_trade_no` is not the order it was fetched for.
    #[error("out_trade_no {got} is not {expected}")]
    OutTradeNo {
        /// The order we asked about.
        expected: String,
        /// What the transaction says.
        got: String,
    },
    /// `amount.total` differs from the order's `totalFee`.
    #[error("amount {got:?} differs from the order's {expected} fen")]
    Amount {
        /// The order's total in fen.
        expected: i64,
        /// The transaction's `amount.total`.
        got: Option<i64>,
    },
    /// `amount.currency` is not `CNY`.
    #[error("currency {got} is not CNY")]
    Currency {
        /// What the transaction says.
        got: String,
    },
    /// A paid transaction without `transaction_id`.
    #[error("paid transaction without transaction_id")]
    MissingTransactionId,
}

/// What settling did. In every case the payment is recorded durably; answer WeChat Pay 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleResult {
    /// The order turned `SUCCESS` now (with its payment record).
    Settled(Order),
    /// The order had been closed or cancelled here, yet WeChat Pay took the payment: it turned
    /// `SUCCESS` with `paidAfterClose` now (with its payment record). An alert: refund or deliver.
    SettledAfterClose(Order),
    /// The order was already settled by this same transaction (duplicate notification): nothing written.
    AlreadySettled(Order),
    /// The order was already settled by another transaction: this payment's record was kept, the
    /// order left as is. An alert: a double payment to refund.
    DoublePayment(Order),
}

impl SettleResult {
    /// The order as stored.
    pub fn order(&self) -> &Order {
        match self {
            Self::Settled(order)
            | Self::SettledAfterClose(order)
            | Self::AlreadySettled(order)
            | Self::DoublePayment(order) => order,
        }
    }
}

/// Why a transaction settled nothing. `Mismatch` and `UnknownOrder` are alerts, with the
/// transaction kept as [`Evidence`].
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The transaction does not match (see [`Mismatch`]).
    #[error("transaction mismatch: {0}")]
    Mismatch(#[from] Mismatch),
    /// No stored order has this `out_trade_no`.
    #[error("unknown order {0}")]
    UnknownOrder(String),
    /// `trade_state` is neither `SUCCESS` nor `REFUND` (paid, then refunded).
    #[error("trade_state {0} is not a paid state")]
    NotPaid(String),
    /// The store failed; retry (WeChat Pay will, for a notification).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Settles the order named by a verified, decrypted transaction (a `TRANSACTION.SUCCESS`
/// notification): checks `mchid`, `appid`, `trade_state`, `amount.total` (and currency) against the
/// configuration and the stored order, then records the payment with the order's new state in one
/// conditional write, whatever state the order is in (see [`SettleResult`]). A transaction that
/// fails the checks settles nothing and is kept as [`Evidence`].
pub async fn settle_transaction<S, C>(
    store: &S,
    clock: &C,
    config: &OrdersConfig,
    transaction: &Transaction,
) -> Result<SettleResult, SettleError>
where
    S: SettleStore,
    C: Clock,
{
    settle_checked(store, clock, config, None, transaction).await
}

/// As [`settle_transaction`], for a transaction fetched for `expected` (sweep, cancel): its
/// `out_trade_no` must name that order.
pub async fn settle_queried_transaction<S, C>(
    store: &S,
    clock: &C,
    config: &OrdersConfig,
    expected: &OrderNo,
    transaction: &Transaction,
) -> Result<SettleResult, SettleError>
where
    S: SettleStore,
    C: Clock,
{
    settle_checked(store, clock, config, Some(expected), transaction).await
}

async fn settle_checked<S, C>(
    store: &S,
    clock: &C,
    config: &OrdersConfig,
    expected: Option<&OrderNo>,
    tx: &Transaction,
) -> Result<SettleResult, SettleError>
where
    S: SettleStore,
    C: Clock,
{
    let result = check_and_settle(store, clock, config, expected, tx).await;
    if let Err(err @ (SettleError::Mismatch(_) | SettleError::UnknownOrder(_))) = &result {
        let evidence = Evidence {
            out_trade_no: tx.out_trade_no.clone(),
            transaction_id: tx.transaction_id.clone().unwrap_or_default(),
            reason: err.to_string(),
            received_at: super::now(clock),
            reported: Reported::Transaction(tx.clone()),
        };
        Attention::TransactionRefused.raise();
        tracing::error!(
            alert = Attention::TransactionRefused.as_str(),
            out_trade_no = %tx.out_trade_no,
            transaction_id = %evidence.transaction_id,
            reason = %evidence.reason,
            "genuine transaction refused; evidence kept"
        );
        store.record_evidence(&evidence).await?;
    }
    result
}

async fn check_and_settle<S, C>(
    store: &S,
    clock: &C,
    config: &OrdersConfig,
    expected: Option<&OrderNo>,
    tx: &Transaction,
) -> Result<SettleResult, SettleError>
where
    S: SettleStore,
    C: Clock,
{
    if tx.mchid != config.mchid {
        return Err(Mismatch::Mchid {
            got: tx.mchid.clone(),
        }
        .into());
    }
    if tx.appid != config.appid {
        return Err(Mismatch::Appid {
            got: tx.appid.clone(),
        }
        .into());
    }
    if let Some(expected) = expected
        && expected.as_str() != tx.out_trade_no
    {
        return Err(Mismatch::OutTradeNo {
            expected: expected.to_string(),
            got: tx.out_trade_no.clone(),
        }
        .into());
    }
    if !tx.trade_state.is_paid() {
        return Err(SettleError::NotPaid(tx.trade_state.as_str().to_owned()));
    }
    let transaction_id = tx
        .transaction_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or(Mismatch::MissingTransactionId)?;
    let order_no = OrderNo::parse(&tx.out_trade_no)
        .map_err(|_| SettleError::UnknownOrder(tx.out_trade_no.clone()))?;
    let order = store
        .get_order(&order_no)
        .await?
        .ok_or_else(|| SettleError::UnknownOrder(tx.out_trade_no.clone()))?;
    let amount = tx.amount.as_ref();
    let total = amount.and_then(|a| a.total);
    if total != Some(order.total_fee) {
        return Err(Mismatch::Amount {
            expected: order.total_fee,
            got: total,
        }
        .into());
    }
    if let Some(currency) = amount.and_then(|a| a.currency.as_deref())
        && currency != "CNY"
    {
        return Err(Mismatch::Currency {
            got: currency.to_owned(),
        }
        .into());
    }
    let now = super::now(clock);
    if let Some(raw) = tx.unparsed_success_time() {
        tracing::warn!(out_trade_no = %order_no, success_time = %raw, "unparsable success_time");
    }
    let success_time = tx
        .success_time
        .map(|at| truncate_to_millis(at.to_offset(time::UtcOffset::UTC)));
    let settlement = Settlement {
        record: PaymentRecord {
            order_no: order_no.clone(),
            transaction_id,
            received_at: now,
            transaction: tx.clone(),
        },
        success_time,
        payer_openid: tx.payer.as_ref().and_then(|p| p.openid.clone()),
        settled_at: now,
    };
    let result = match store.settle_order(&order_no, &settlement).await? {
        SettleOutcome::Settled(order) => {
            tracing::info!(out_trade_no = %order_no, "order settled");
            Ok(SettleResult::Settled(order))
        }
        SettleOutcome::SettledAfterClose(order) => {
            Attention::PaidAfterClose.raise();
            tracing::error!(alert = Attention::PaidAfterClose.as_str(), out_trade_no = %order_no, "paid at WeChat Pay after it was closed here; settled with paidAfterClose");
            Ok(SettleResult::SettledAfterClose(order))
        }
        SettleOutcome::AlreadySettled(order) => Ok(SettleResult::AlreadySettled(order)),
        SettleOutcome::DoublePayment(order) => {
            Attention::DoublePayment.raise();
            tracing::error!(alert = Attention::DoublePayment.as_str(), out_trade_no = %order_no, "paid twice with different transactions; second payment recorded");
            Ok(SettleResult::DoublePayment(order))
        }
        SettleOutcome::NotFound => Err(SettleError::UnknownOrder(order_no.to_string())),
    }?;
    if config.late_payment_policy == LatePaymentPolicy::Refund {
        refund_late_payment(store, clock, &result, &settlement.record.transaction_id).await?;
    }
    Ok(result)
}

/// Under [`LatePaymentPolicy::Refund`], reserves the full refund of a payment taken after the order
/// was closed; the refund sweep sends it. Keyed by the transaction, so a redelivered notification
/// or a later sweep reserves it once; a store failure fails the settle, so WeChat Pay's retry (or
/// the next sweep) reserves it.
async fn refund_late_payment<S, C>(
    store: &S,
    clock: &C,
    result: &SettleResult,
    transaction_id: &str,
) -> Result<(), SettleError>
where
    S: SettleStore,
    C: Clock,
{
    let order = match result {
        SettleResult::SettledAfterClose(order) | SettleResult::AlreadySettled(order)
            if order.paid_after_close =>
        {
            order
        }
        _ => return Ok(()),
    };
    if order.refundable_fee() == 0 {
        return Ok(());
    }
    let ask = RefundAsk {
        amount: order.refundable_fee(),
        reason: Some(LATE_PAYMENT_REFUND_REASON.to_owned()),
        origin: RefundOrigin::LatePayment,
        requested_by: None,
        idempotency_key: Some(format!("late-payment-{transaction_id}")),
        at: super::now(clock),
    };
    match store.ask_refund(&order.order_no, &ask).await? {
        AskOutcome::Reserved { refund, .. } => {
            refund_recorded(refund.state);
            tracing::warn!(
                out_trade_no = %order.order_no,
                out_refund_no = %refund.out_refund_no,
                amount = refund.amount,
                "late payment: full refund reserved (LATE_PAYMENT_POLICY=refund)"
            );
        }
        AskOutcome::Existing(_) | AskOutcome::NotFound => {}
        AskOutcome::Refused { why, .. } => {
            Attention::LatePaymentRefundRefused.raise();
            tracing::error!(
                alert = Attention::LatePaymentRefundRefused.as_str(),
                out_trade_no = %order.order_no,
                reason = %why,
                "late payment not refunded automatically; refund it by hand"
            );
        }
    }
    Ok(())
}

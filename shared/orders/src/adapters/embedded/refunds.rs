//! Refunds in the embedded store: each change reads the order and the refund, asks
//! [`domain::refund`](crate::domain::refund), and writes both in the same (serialized) transaction.

use redb::{ReadableTable, WriteTransaction};
use time::OffsetDateTime;

use super::index::TimeIndex;
use super::tables::{OPEN_REFUNDS, REFUND_KEYS, REFUNDS};
use super::{EmbeddedOrderStore, decode, encode, put_order, read_order, unavailable};
use crate::adapters::keys::{open_refund_sk, refund_key, split_open_refund};
use crate::domain::refund::{self, AskDecision, RefundAsk, RefundReport, ReportDecision};
use crate::domain::{Order, OrderNo, Refund, RefundNo};
use crate::ports::{
    AskOutcome, OpenRefundLister, Page, PageRequest, RefundReader, RefundRecorder, RefundRequester,
    RejectOutcome, ReportOutcome, StoreError,
};

/// The refund in a write transaction.
fn read_refund(
    txn: &WriteTransaction,
    order_no: &OrderNo,
    out_refund_no: &RefundNo,
) -> Result<Option<Refund>, StoreError> {
    let table = txn.open_table(REFUNDS).map_err(unavailable)?;
    let value = table
        .get(refund_key(order_no, out_refund_no).as_str())
        .map_err(unavailable)?;
    value.map(|guard| decode(guard.value())).transpose()
}

/// Writes the order and the refund, keeping the index of open refunds in step.
fn put_both(
    txn: &WriteTransaction,
    old_order: &Order,
    order: &Order,
    old_refund: Option<&Refund>,
    refund: &Refund,
) -> Result<(), StoreError> {
    put_order(txn, Some(old_order), order)?;
    let mut refunds = txn.open_table(REFUNDS).map_err(unavailable)?;
    let mut open = txn.open_table(OPEN_REFUNDS).map_err(unavailable)?;
    let key = refund_key(&refund.order_no, &refund.out_refund_no);
    if let Some(old) = old_refund {
        open.remove(open_refund_sk(old)?.as_str())
            .map_err(unavailable)?;
    }
    refunds
        .insert(key.as_str(), encode(refund)?.as_slice())
        .map_err(unavailable)?;
    if refund.state.is_open() {
        open.insert(open_refund_sk(refund)?.as_str(), key.as_str())
            .map_err(unavailable)?;
    }
    Ok(())
}

impl RefundRequester for EmbeddedOrderStore {
    async fn ask_refund(
        &self,
        order_no: &OrderNo,
        ask: &RefundAsk,
    ) -> Result<AskOutcome, StoreError> {
        let order_no = order_no.clone();
        let ask = ask.clone();
        self.write(move |txn| {
            let Some(order) = read_order(txn, &order_no)? else {
                return Ok(AskOutcome::NotFound);
            };
            let idempotency = ask
                .idempotency_key
                .as_deref()
                .map(|key| format!("{order_no}#{key}"));
            if let Some(key) = &idempotency {
                let keys = txn.open_table(REFUND_KEYS).map_err(unavailable)?;
                let existing = keys
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|guard| guard.value().to_owned());
                if let Some(number) = existing {
                    let number = RefundNo::parse(&number).map_err(|_| {
                        StoreError::Corrupt(format!("idempotency key names refund {number}"))
                    })?;
                    return match read_refund(txn, &order_no, &number)? {
                        Some(found) => Ok(AskOutcome::Existing(found)),
                        None => Err(StoreError::Corrupt(format!(
                            "idempotency key names missing refund {number}"
                        ))),
                    };
                }
            }
            match refund::ask(&order, &ask) {
                AskDecision::Refused(why) => Ok(AskOutcome::Refused { order, why }),
                AskDecision::Reserve { order: new, refund } => {
                    if read_refund(txn, &order_no, &refund.out_refund_no)?.is_some() {
                        return Err(StoreError::Corrupt(format!(
                            "refund {} exists beyond refundCount",
                            refund.out_refund_no
                        )));
                    }
                    if let Some(key) = &idempotency {
                        let mut keys = txn.open_table(REFUND_KEYS).map_err(unavailable)?;
                        keys.insert(key.as_str(), refund.out_refund_no.as_str())
                            .map_err(unavailable)?;
                    }
                    put_both(txn, &order, &new, None, &refund)?;
                    Ok(AskOutcome::Reserved { order: new, refund })
                }
            }
        })
        .await
    }

    async fn reject_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        failure: &str,
        at: OffsetDateTime,
    ) -> Result<RejectOutcome, StoreError> {
        let order_no = order_no.clone();
        let out_refund_no = out_refund_no.clone();
        let failure = failure.to_owned();
        self.write(move |txn| {
            let (Some(order), Some(held)) = (
                read_order(txn, &order_no)?,
                read_refund(txn, &order_no, &out_refund_no)?,
            ) else {
                return Ok(RejectOutcome::NotFound);
            };
            match refund::reject(&order, &held, &failure, at) {
                Some((new_order, new_refund)) => {
                    put_both(txn, &order, &new_order, Some(&held), &new_refund)?;
                    Ok(RejectOutcome::Rejected {
                        order: new_order,
                        refund: new_refund,
                    })
                }
                None => Ok(RejectOutcome::NotSubmitting(held)),
            }
        })
        .await
    }
}

impl RefundRecorder for EmbeddedOrderStore {
    async fn apply_refund_report(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        report: &RefundReport,
    ) -> Result<ReportOutcome, StoreError> {
        let order_no = order_no.clone();
        let out_refund_no = out_refund_no.clone();
        let report = report.clone();
        self.write(move |txn| {
            let Some(order) = read_order(txn, &order_no)? else {
                return Ok(ReportOutcome::OrderNotFound);
            };
            let Some(held) = read_refund(txn, &order_no, &out_refund_no)? else {
                let (new_order, new_refund) =
                    refund::record_external(&order, out_refund_no, &report);
                put_both(txn, &order, &new_order, None, &new_refund)?;
                return Ok(ReportOutcome::RecordedExternal {
                    order: new_order,
                    refund: new_refund,
                });
            };
            match refund::report(&order, &held, &report) {
                ReportDecision::Apply {
                    order: new_order,
                    refund: new_refund,
                } => {
                    put_both(txn, &order, &new_order, Some(&held), &new_refund)?;
                    Ok(ReportOutcome::Applied {
                        order: new_order,
                        refund: new_refund,
                        before: held.state,
                    })
                }
                ReportDecision::Unchanged => Ok(ReportOutcome::Unchanged(held)),
                ReportDecision::Conflict => Ok(ReportOutcome::Conflict(held)),
            }
        })
        .await
    }
}

impl RefundReader for EmbeddedOrderStore {
    async fn get_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
    ) -> Result<Option<Refund>, StoreError> {
        let key = refund_key(order_no, out_refund_no);
        self.read(move |txn, reads| {
            let table = txn.open_table(REFUNDS).map_err(unavailable)?;
            let found = table.get(key.as_str()).map_err(unavailable)?;
            reads.add(1, 0.0);
            found.map(|guard| decode(guard.value())).transpose()
        })
        .await
    }

    async fn refunds_of(&self, order_no: &OrderNo) -> Result<Vec<Refund>, StoreError> {
        self.read_under(REFUNDS, order_no.to_string()).await
    }
}

impl OpenRefundLister for EmbeddedOrderStore {
    async fn list_open_refunds(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        self.list_time_index(&OPEN, created_before, page).await
    }
}

/// The `refunding` index: open refunds by creation time.
const OPEN: TimeIndex = TimeIndex {
    tag: "r",
    index: OPEN_REFUNDS,
    values: REFUNDS,
    check: |key| split_open_refund(key).map(|_| ()),
};

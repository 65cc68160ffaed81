//! Refunds in DynamoDB: `REFUND#{outRefundNo}` items under the order, `REFUNDKEY#{key}` items naming
//! the refund an idempotency key made, and the sparse `refunding` GSI of open refunds. Each change
//! reads the order and the refund, asks [`domain::refund`](crate::domain::refund), and writes both
//! in one `TransactWriteItems` conditioned on what was read (the order's status and refund totals,
//! the refund's state), retrying from a fresh read when another change got there first.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::item::{
    ORDER_STATUS, PK, REFUNDING_INDEX, REFUNDING_PK, REFUNDING_SK, SK, STATUS_PK, STATUS_SK,
    condition_on_totals, order_key, refund_from_item, refund_item, refund_totals, req_str,
};
use super::settle::{Transacted, failed, transact};
use super::sharded::ShardedIndex;
use super::{DynamoOrderStore, TRANSACTION_ATTEMPTS, back_off, invalid, s};
use crate::adapters::keys::{
    listing_keys, order_pk, refund_key_sk, refund_sk, refunding_pk, split_open_refund, time_key,
};
use crate::domain::refund::{self, AskDecision, RefundAsk, RefundReport, ReportDecision};
use crate::domain::{Order, OrderNo, Refund, RefundNo};
use crate::ports::{
    AskOutcome, OpenRefundLister, OrderReader, Page, PageRequest, RefundReader, RefundRecorder,
    RefundRequester, RejectOutcome, ReportOutcome, StoreError,
};

/// What one attempt decided to write.
enum Plan<T> {
    /// Write these items; on success the outcome is `T`.
    Write(Vec<TransactWriteItem>, T),
    /// Nothing to write: this is the outcome.
    Done(T),
}

impl DynamoOrderStore {
    /// The update of the order's status and refund totals from `old` to `new`, conditioned on
    /// `old`'s status and totals (a zero total may be absent).
    fn totals_update(&self, old: &Order, new: &Order) -> Result<Update, StoreError> {
        let mut sets = vec![
            "#status = :new_status".to_owned(),
            "updatedAt = :now".to_owned(),
        ];
        let mut update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(order_key(&old.order_no)))
            .expression_attribute_names("#status", ORDER_STATUS)
            .expression_attribute_values(":old_status", s(old.order_status.as_str()))
            .expression_attribute_values(":new_status", s(new.order_status.as_str()))
            .expression_attribute_values(":now", s(time_key(new.updated_at)?));
        for (i, (name, after)) in refund_totals(new).into_iter().enumerate() {
            let now = format!(":is{i}");
            sets.push(format!("{name} = {now}"));
            update = update.expression_attribute_values(now, AttributeValue::N(after.to_string()));
        }
        let expression = match listing_keys(new)? {
            Some((pk, sk)) => {
                sets.push(format!("{STATUS_PK} = :lpk, {STATUS_SK} = :lsk"));
                update = update
                    .expression_attribute_values(":lpk", s(pk))
                    .expression_attribute_values(":lsk", s(sk));
                format!("SET {}", sets.join(", "))
            }
            None => format!("SET {} REMOVE {STATUS_PK}, {STATUS_SK}", sets.join(", ")),
        };
        let (update, totals) = condition_on_totals(update, refund_totals(old));
        let mut conditions = vec!["#status = :old_status".to_owned()];
        conditions.extend(totals);
        update
            .condition_expression(conditions.join(" AND "))
            .update_expression(expression)
            .build()
            .map_err(invalid)
    }

    /// The put of `refund`: new (conditioned on its absence) or replacing `old` (conditioned on
    /// `old`'s state).
    fn refund_put(&self, old: Option<&Refund>, refund: &Refund) -> Result<Put, StoreError> {
        let put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(refund_item(refund)?));
        let put = match old {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(old) => put
                .condition_expression("refundState = :held")
                .expression_attribute_values(":held", s(old.state.as_str())),
        };
        put.build().map_err(invalid)
    }

    /// The order and the refund, replacing `old_order` and `old_refund`.
    fn both(
        &self,
        old_order: &Order,
        order: &Order,
        old_refund: Option<&Refund>,
        refund: &Refund,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(vec![
            TransactWriteItem::builder()
                .update(self.totals_update(old_order, order)?)
                .build(),
            TransactWriteItem::builder()
                .put(self.refund_put(old_refund, refund)?)
                .build(),
        ])
    }

    /// Runs `plan` from fresh reads until its write commits or it needs none.
    async fn refund_change<T, F, Fut>(&self, mut plan: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Plan<T>, StoreError>>,
    {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            match plan().await? {
                Plan::Done(outcome) => return Ok(outcome),
                Plan::Write(items, outcome) => match transact(self, items).await? {
                    Transacted::Committed => return Ok(outcome),
                    // Something changed since the read: read again and decide again.
                    Transacted::Cancelled(_) => {}
                },
            }
        }
        Err(StoreError::Contention)
    }

    /// The refund number an idempotency key named on this order, if any.
    async fn refund_named_by(
        &self,
        order_no: &OrderNo,
        key: &str,
    ) -> Result<Option<RefundNo>, StoreError> {
        let item = self
            .get_item(HashMap::from([
                (PK.to_owned(), s(order_pk(order_no))),
                (SK.to_owned(), s(refund_key_sk(key))),
            ]))
            .await?;
        item.map(|item| {
            let number = req_str(&item, "outRefundNo")?;
            RefundNo::parse(number)
                .map_err(|_| StoreError::Corrupt(format!("idempotency key names {number}")))
        })
        .transpose()
    }

    /// The refund the key named, which must exist.
    async fn existing_refund(
        &self,
        order_no: &OrderNo,
        number: &RefundNo,
    ) -> Result<AskOutcome, StoreError> {
        match self.get_refund(order_no, number).await? {
            Some(found) => Ok(AskOutcome::Existing(found)),
            None => Err(StoreError::Corrupt(format!(
                "idempotency key names missing refund {number}"
            ))),
        }
    }
}

impl RefundRequester for DynamoOrderStore {
    async fn ask_refund(
        &self,
        order_no: &OrderNo,
        ask: &RefundAsk,
    ) -> Result<AskOutcome, StoreError> {
        for attempt in 0..TRANSACTION_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            if let Some(key) = &ask.idempotency_key
                && let Some(number) = self.refund_named_by(order_no, key).await?
            {
                return self.existing_refund(order_no, &number).await;
            }
            let Some(order) = self.get_order(order_no).await? else {
                return Ok(AskOutcome::NotFound);
            };
            let (new, refund) = match refund::ask(&order, ask) {
                AskDecision::Refused(why) => return Ok(AskOutcome::Refused { order, why }),
                AskDecision::Reserve { order: new, refund } => (new, refund),
            };
            let mut items = self.both(&order, &new, None, &refund)?;
            if let Some(key) = &ask.idempotency_key {
                let key_put = Put::builder()
                    .table_name(self.table.as_ref())
                    .set_item(Some(HashMap::from([
                        (PK.to_owned(), s(order_pk(order_no))),
                        (SK.to_owned(), s(refund_key_sk(key))),
                        ("outRefundNo".to_owned(), s(refund.out_refund_no.as_str())),
                    ])))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(invalid)?;
                items.push(TransactWriteItem::builder().put(key_put).build());
            }
            match transact(self, items).await? {
                Transacted::Committed => {
                    return Ok(AskOutcome::Reserved { order: new, refund });
                }
                Transacted::Cancelled(reasons) => {
                    if ask.idempotency_key.is_some() && failed(&reasons, 2).is_some() {
                        // Another request with the same key won: the next round returns its refund.
                        continue;
                    }
                }
            }
        }
        Err(StoreError::Contention)
    }

    async fn reject_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        failure: &str,
        at: OffsetDateTime,
    ) -> Result<RejectOutcome, StoreError> {
        self.refund_change(|| async move {
            let (Some(order), Some(held)) = (
                self.get_order(order_no).await?,
                self.get_refund(order_no, out_refund_no).await?,
            ) else {
                return Ok(Plan::Done(RejectOutcome::NotFound));
            };
            Ok(match refund::reject(&order, &held, failure, at) {
                Some((new_order, new_refund)) => Plan::Write(
                    self.both(&order, &new_order, Some(&held), &new_refund)?,
                    RejectOutcome::Rejected {
                        order: new_order,
                        refund: new_refund,
                    },
                ),
                None => Plan::Done(RejectOutcome::NotSubmitting(held)),
            })
        })
        .await
    }
}

impl RefundRecorder for DynamoOrderStore {
    async fn apply_refund_report(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        report: &RefundReport,
    ) -> Result<ReportOutcome, StoreError> {
        self.refund_change(|| async move {
            let Some(order) = self.get_order(order_no).await? else {
                return Ok(Plan::Done(ReportOutcome::OrderNotFound));
            };
            let Some(held) = self.get_refund(order_no, out_refund_no).await? else {
                let (new_order, new_refund) =
                    refund::record_external(&order, out_refund_no.clone(), report);
                return Ok(Plan::Write(
                    self.both(&order, &new_order, None, &new_refund)?,
                    ReportOutcome::RecordedExternal {
                        order: new_order,
                        refund: new_refund,
                    },
                ));
            };
            Ok(match refund::report(&order, &held, report) {
                ReportDecision::Apply {
                    order: new_order,
                    refund: new_refund,
                } => Plan::Write(
                    self.both(&order, &new_order, Some(&held), &new_refund)?,
                    ReportOutcome::Applied {
                        order: new_order,
                        refund: new_refund,
                        before: held.state,
                    },
                ),
                ReportDecision::Unchanged => Plan::Done(ReportOutcome::Unchanged(held)),
                ReportDecision::Conflict => Plan::Done(ReportOutcome::Conflict(held)),
            })
        })
        .await
    }
}

impl RefundReader for DynamoOrderStore {
    async fn get_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
    ) -> Result<Option<Refund>, StoreError> {
        self.get_item(HashMap::from([
            (PK.to_owned(), s(order_pk(order_no))),
            (SK.to_owned(), s(refund_sk(out_refund_no))),
        ]))
        .await?
        .map(|item| refund_from_item(&item))
        .transpose()
    }

    async fn refunds_of(&self, order_no: &OrderNo) -> Result<Vec<Refund>, StoreError> {
        self.query_partition(order_pk(order_no), Some("REFUND#"))
            .await?
            .iter()
            .map(refund_from_item)
            .collect()
    }
}

/// The `refunding` index: open refunds by creation time, in as many shards as pending orders.
const REFUNDING: ShardedIndex = ShardedIndex {
    tag: "r",
    name: REFUNDING_INDEX,
    pk: REFUNDING_PK,
    sk: REFUNDING_SK,
    shard_pk: refunding_pk,
    base_key: |after| {
        let (_, order_no, out_refund_no) = split_open_refund(after)?;
        Ok((order_pk(&order_no), refund_sk(&out_refund_no)))
    },
};

impl OpenRefundLister for DynamoOrderStore {
    async fn list_open_refunds(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        self.list_sharded(
            &REFUNDING,
            time_key(created_before)?,
            page,
            refund_from_item,
        )
        .await
    }
}

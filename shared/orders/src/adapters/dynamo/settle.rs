//! Transactional writes: creating an order with its idempotency key, and settling.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use super::item::{
    IDEMPOTENCY_SK, Item, ORDER_STATUS, PAID_AFTER_CLOSE, PK, PREPAY_LEASE_UNTIL, SK, STATUS_PK,
    STATUS_SK, TTL, condition_on_totals, order_from_item, order_key, payment_item, refund_totals,
    refund_totals_none, req_i64, req_str,
};
use super::{DynamoOrderStore, TRANSACTION_ATTEMPTS, back_off, invalid, s, sdk_error};
use crate::adapters::keys::{idempotency_pk, listing_keys, time_key};
use crate::domain::transition::{self, SettleDecision};
use crate::domain::{Order, OrderNo, OrderStatus};
use crate::ports::{
    CreateOutcome, IdempotencyClaim, OrderCreator, OrderReader, OrderSettler, SettleOutcome,
    Settlement, StoreError,
};
use time::OffsetDateTime;

/// How a transaction ended.
pub(super) enum Transacted {
    /// Every write happened.
    Committed,
    /// A condition failed; nothing was written. One reason per item, in order.
    Cancelled(Vec<CancellationReason>),
}

const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Runs `TransactWriteItems`, retrying while it is cancelled by conflicts with other transactions.
pub(super) async fn transact(
    store: &DynamoOrderStore,
    items: Vec<TransactWriteItem>,
) -> Result<Transacted, StoreError> {
    for attempt in 0..TRANSACTION_ATTEMPTS {
        if attempt > 0 {
            back_off(attempt).await;
        }
        let result = store
            .client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Transacted::Committed),
            Err(SdkError::ServiceError(err)) => match err.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled.cancellation_reasons.unwrap_or_default();
                    let condition_failed =
                        reasons.iter().any(|r| r.code() == Some(CONDITION_FAILED));
                    if condition_failed {
                        return Ok(Transacted::Cancelled(reasons));
                    }
                    // TransactionConflict (or no reason given): another transaction touched an item.
                }
                TransactWriteItemsError::TransactionInProgressException(_) => {}
                other => return Err(StoreError::Unavailable(other.to_string())),
            },
            Err(err) => return Err(sdk_error(err)),
        }
    }
    Err(StoreError::Contention)
}

pub(super) fn failed(reasons: &[CancellationReason], index: usize) -> Option<&CancellationReason> {
    reasons
        .get(index)
        .filter(|reason| reason.code() == Some(CONDITION_FAILED))
}

impl OrderCreator for DynamoOrderStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome, StoreError> {
        let Some(claim) = idempotency else {
            self.put_new_order(order).await?;
            return Ok(CreateOutcome::Created(order.clone()));
        };
        let key_item: Item = HashMap::from([
            (PK.to_owned(), s(idempotency_pk(&claim.key))),
            (SK.to_owned(), s(IDEMPOTENCY_SK)),
            ("orderNo".to_owned(), s(order.order_no.as_str())),
            (
                TTL.to_owned(),
                AttributeValue::N(claim.expires_at.unix_timestamp().to_string()),
            ),
            ("expiresAt".to_owned(), s(time_key(claim.expires_at)?)),
        ]);
        let claim_put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(key_item))
            // DynamoDB deletes expired items lazily: an expired key counts as free.
            .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(order.created_at.unix_timestamp().to_string()),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(invalid)?;
        let items = vec![
            TransactWriteItem::builder().put(claim_put).build(),
            TransactWriteItem::builder()
                .put(self.order_put(order)?)
                .build(),
        ];
        let reasons = match transact(self, items).await? {
            Transacted::Committed => return Ok(CreateOutcome::Created(order.clone())),
            Transacted::Cancelled(reasons) => reasons,
        };
        if let Some(reason) = failed(&reasons, 0) {
            let existing_no = match reason.item() {
                Some(old) => req_str(old, "orderNo")?.to_owned(),
                None => {
                    let key = HashMap::from([
                        (PK.to_owned(), s(idempotency_pk(&claim.key))),
                        (SK.to_owned(), s(IDEMPOTENCY_SK)),
                    ]);
                    let old = self.get_item(key).await?.ok_or(StoreError::Contention)?;
                    req_str(&old, "orderNo")?.to_owned()
                }
            };
            let existing_no = OrderNo::parse(&existing_no)
                .map_err(|_| StoreError::Corrupt("idempotency orderNo".into()))?;
            return match self.get_order(&existing_no).await? {
                Some(existing) => Ok(CreateOutcome::Existing(existing)),
                None => Err(StoreError::Corrupt(format!(
                    "idempotency key names missing order {existing_no}"
                ))),
            };
        }
        if failed(&reasons, 1).is_some() {
            return Err(StoreError::DuplicateOrderNo);
        }
        Err(StoreError::Contention)
    }

    async fn claimed_order(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Order>, StoreError> {
        let item_key = HashMap::from([
            (PK.to_owned(), s(idempotency_pk(key))),
            (SK.to_owned(), s(IDEMPOTENCY_SK)),
        ]);
        let Some(claim) = self.get_item(item_key).await? else {
            return Ok(None);
        };
        let ttl = req_i64(&claim, TTL)?;
        // DynamoDB deletes expired items lazily: an expired key names nothing.
        if ttl <= now.unix_timestamp() {
            return Ok(None);
        }
        let order_no = OrderNo::parse(req_str(&claim, "orderNo")?)
            .map_err(|_| StoreError::Corrupt("idempotency orderNo".into()))?;
        self.get_order(&order_no).await
    }
}

/// Attempts of a settle whose order changed state between reading and writing.
const SETTLE_ATTEMPTS: u32 = 4;

impl DynamoOrderStore {
    /// `SET` the paid order's attributes, conditional on the order still being as `expected` says
    /// (its status and refund totals), or `NOTPAY` without refunds when nothing was read yet.
    /// The status written is the decision's: `SUCCESS`, or a refund state if WeChat Pay reported
    /// refunds before the payment was recorded.
    fn settle_update(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
        expected: Option<&Order>,
    ) -> Result<Update, StoreError> {
        let (from, target, totals, listing) = match expected {
            Some(current) => {
                let new = match transition::settle(current, settlement) {
                    SettleDecision::Settle(new) | SettleDecision::SettleAfterClose(new) => new,
                    SettleDecision::AlreadySettled | SettleDecision::DoublePayment => {
                        return Err(StoreError::Contention);
                    }
                };
                (
                    current.order_status,
                    new.order_status,
                    refund_totals(current),
                    listing_keys(&new)?,
                )
            }
            None => (
                OrderStatus::Notpay,
                OrderStatus::Success,
                refund_totals_none(),
                None,
            ),
        };
        let mut expression =
            String::from("SET #status = :success, transactionId = :tx, updatedAt = :now");
        let mut condition = String::from("#status = :from");
        let update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(order_key(order_no)))
            .expression_attribute_names("#status", ORDER_STATUS)
            .expression_attribute_values(":success", s(target.as_str()))
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":tx", s(&settlement.record.transaction_id))
            .expression_attribute_values(":now", s(time_key(settlement.settled_at)?))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let (mut update, totals) = condition_on_totals(update, totals);
        for total in totals {
            condition.push_str(&format!(" AND {total}"));
        }
        if let Some(at) = settlement.success_time {
            expression.push_str(", successTime = :paid");
            update = update.expression_attribute_values(":paid", s(time_key(at)?));
        }
        if let Some(openid) = &settlement.payer_openid {
            expression.push_str(", payerOpenid = :openid");
            update = update.expression_attribute_values(":openid", s(openid));
        }
        if !from.is_pending() {
            expression.push_str(&format!(", {PAID_AFTER_CLOSE} = :after"));
            update = update.expression_attribute_values(":after", AttributeValue::Bool(true));
        }
        let mut removed = format!("pendingPk, pendingSk, {PREPAY_LEASE_UNTIL}");
        match listing {
            Some((pk, sk)) => {
                expression.push_str(&format!(", {STATUS_PK} = :lpk, {STATUS_SK} = :lsk"));
                update = update
                    .expression_attribute_values(":lpk", s(pk))
                    .expression_attribute_values(":lsk", s(sk));
            }
            None => removed.push_str(&format!(", {STATUS_PK}, {STATUS_SK}")),
        }
        expression.push_str(&format!(" REMOVE {removed}"));
        update
            .condition_expression(condition)
            .update_expression(expression)
            .build()
            .map_err(invalid)
    }

    /// Writes the payment record alone, unless it exists.
    async fn keep_payment_record(&self, settlement: &Settlement) -> Result<(), StoreError> {
        self.put_if_absent(payment_item(&settlement.record)?)
            .await
            .map(|_| ())
    }
}

impl OrderSettler for DynamoOrderStore {
    /// Writes as if the order were `NOTPAY` (the common case: one transaction); when that is
    /// refused, decides from the order it returns and writes conditionally on that order's state.
    async fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<SettleOutcome, StoreError> {
        let mut expected: Option<Order> = None;
        for _ in 0..SETTLE_ATTEMPTS {
            let record = Put::builder()
                .table_name(self.table.as_ref())
                .set_item(Some(payment_item(&settlement.record)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(invalid)?;
            let items = vec![
                TransactWriteItem::builder()
                    .update(self.settle_update(order_no, settlement, expected.as_ref())?)
                    .build(),
                TransactWriteItem::builder().put(record).build(),
            ];
            let current = match transact(self, items).await? {
                Transacted::Committed => {
                    let order = self.get_order(order_no).await?.ok_or_else(|| {
                        StoreError::Corrupt(format!("settled order {order_no} vanished"))
                    })?;
                    let from_pending = expected
                        .as_ref()
                        .is_none_or(|order| order.order_status.is_pending());
                    return Ok(if from_pending {
                        SettleOutcome::Settled(order)
                    } else {
                        SettleOutcome::SettledAfterClose(order)
                    });
                }
                Transacted::Cancelled(reasons) => {
                    match failed(&reasons, 0).and_then(|r| r.item()) {
                        Some(old) => Some(order_from_item(old)?),
                        // No ALL_OLD returned, or only the payment record existed: read the order.
                        None => self.get_order(order_no).await?,
                    }
                }
            };
            let Some(current) = current else {
                return Ok(SettleOutcome::NotFound);
            };
            match transition::settle(&current, settlement) {
                SettleDecision::AlreadySettled => {
                    return Ok(SettleOutcome::AlreadySettled(current));
                }
                SettleDecision::DoublePayment => {
                    self.keep_payment_record(settlement).await?;
                    return Ok(SettleOutcome::DoublePayment(current));
                }
                SettleDecision::Settle(_) | SettleDecision::SettleAfterClose(_) => {
                    expected = Some(current);
                }
            }
        }
        Err(StoreError::Contention)
    }
}

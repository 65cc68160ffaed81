//! Transactional writes: creating an order with its idempotency key, and settling.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use super::item::{
    IDEMPOTENCY_SK, Item, ORDER_STATUS, PK, SK, TTL, order_from_item, order_key, payment_item,
    req_str,
};
use super::{DynamoOrderStore, TRANSACTION_ATTEMPTS, back_off, invalid, s, sdk_error};
use crate::domain::{Order, OrderNo, OrderStatus};
use crate::ports::{
    CreateOutcome, IdempotencyClaim, OrderCreator, OrderReader, OrderSettler, SettleOutcome,
    Settlement, StoreError,
};
use crate::store::keys::{idempotency_pk, time_key};

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

fn failed(reasons: &[CancellationReason], index: usize) -> Option<&CancellationReason> {
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
}

impl DynamoOrderStore {
    fn settle_update(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<Update, StoreError> {
        let mut expression =
            String::from("SET #status = :success, transactionId = :tx, updatedAt = :now");
        let mut update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(order_key(order_no)))
            .condition_expression("#status = :notpay")
            .expression_attribute_names("#status", ORDER_STATUS)
            .expression_attribute_values(":success", s(OrderStatus::Success.as_str()))
            .expression_attribute_values(":notpay", s(OrderStatus::Notpay.as_str()))
            .expression_attribute_values(":tx", s(&settlement.record.transaction_id))
            .expression_attribute_values(":now", s(time_key(settlement.settled_at)?))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(at) = settlement.success_time {
            expression.push_str(", successTime = :paid");
            update = update.expression_attribute_values(":paid", s(time_key(at)?));
        }
        if let Some(openid) = &settlement.payer_openid {
            expression.push_str(", payerOpenid = :openid");
            update = update.expression_attribute_values(":openid", s(openid));
        }
        expression.push_str(" REMOVE pendingPk, pendingSk");
        update
            .update_expression(expression)
            .build()
            .map_err(invalid)
    }
}

/// What a settle that wrote nothing means, given the order as it is.
fn classify(current: Option<Order>, transaction_id: &str) -> Result<SettleOutcome, StoreError> {
    Ok(match current {
        None => SettleOutcome::NotFound,
        Some(order) => match order.order_status {
            OrderStatus::Success if order.transaction_id.as_deref() == Some(transaction_id) => {
                SettleOutcome::AlreadySettled(order)
            }
            OrderStatus::Success => SettleOutcome::Conflict(order),
            // Only possible if it changed between the cancelled write and a fallback read.
            OrderStatus::Notpay => return Err(StoreError::Contention),
            _ => SettleOutcome::NotPending(order),
        },
    })
}

impl OrderSettler for DynamoOrderStore {
    async fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<SettleOutcome, StoreError> {
        let record = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(payment_item(&settlement.record)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(invalid)?;
        let items = vec![
            TransactWriteItem::builder()
                .update(self.settle_update(order_no, settlement)?)
                .build(),
            TransactWriteItem::builder().put(record).build(),
        ];
        let tx_id = settlement.record.transaction_id.as_str();
        match transact(self, items).await? {
            Transacted::Committed => match self.get_order(order_no).await? {
                Some(order) => Ok(SettleOutcome::Settled(order)),
                None => Err(StoreError::Corrupt(format!(
                    "settled order {order_no} vanished"
                ))),
            },
            Transacted::Cancelled(reasons) => {
                let current = match failed(&reasons, 0).and_then(|r| r.item()) {
                    Some(old) => Some(order_from_item(old)?),
                    // No ALL_OLD returned, or only the payment record existed: read the order.
                    None => self.get_order(order_no).await?,
                };
                classify(current, tx_id)
            }
        }
    }
}

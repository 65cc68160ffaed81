//! The DynamoDB store: the single table of ARCHITECTURE §4. State changes are conditional writes;
//! a settle is one `TransactWriteItems` (order update conditioned on `NOTPAY` + payment record put
//! conditioned on absence), and `ReturnValuesOnConditionCheckFailure = ALL_OLD` tells "already
//! settled by this transaction" from a conflict. Reads use Query and GetItem only, never Scan.

pub mod item;
mod limits;
mod listing;
mod query;
mod refunds;
mod settle;
mod sharded;
mod table;

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;

use crate::adapters::keys::{order_pk, time_key};
use crate::adapters::read_stats::ReadCounter;
#[cfg(feature = "read-stats")]
use crate::adapters::read_stats::ReadStats;
use crate::domain::transition::{self, AnswerDecision, ClaimDecision, CloseDecision};
use crate::domain::{Order, OrderNo, OrderStatus, PaymentRecord, Product};
use crate::ports::{
    AnswerOutcome, ClaimOutcome, CloseOutcome, CloseRequest, Evidence, EvidenceRecorder,
    OrderCloser, OrderReader, PaymentRecordReader, PrepayAnswer, PrepayClaim, PrepayRecorder,
    ProductReader, ProductWriter, StoreError, SweepFailureRecorder,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use item::{
    CATALOG_PK, EVIDENCE_PREFIX, Item, ORDER_STATUS, PK, PREPAY_LEASE_UNTIL, PREPAY_STARTED_AT,
    PRODUCT_IDS, PRODUCT_SK, SK, SWEEP_FAILURES, order_from_item, order_key, payment_from_item,
    product_from_item, product_item, product_key,
};
pub use table::create_table;

/// Attempts of a transaction cancelled by `TransactionConflict` before giving up with
/// [`StoreError::Contention`].
const TRANSACTION_ATTEMPTS: u32 = 8;

/// Orders, payment records, products and idempotency keys in one DynamoDB table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DynamoOrderStore {
    client: Client,
    table: Arc<str>,
    reads: Arc<ReadCounter>,
}

pub(crate) fn sdk_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(&err).to_string())
}

fn invalid(err: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(err.to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Waits a little longer after each conflicting attempt.
async fn back_off(attempt: u32) {
    let millis = 10u64 << attempt.min(6);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

impl DynamoOrderStore {
    /// A store on `table` (the `ORDERS_TABLE`), which must exist with the layout of [`create_table`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: Arc::from(table.into()),
            reads: Arc::new(ReadCounter::new()),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client (to seed data in benchmarks and tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Items read and capacity consumed since creation or the last [`Self::reset_read_stats`].
    #[cfg(feature = "read-stats")]
    pub fn read_stats(&self) -> ReadStats {
        self.reads.snapshot()
    }

    /// Zeroes the read counters.
    #[cfg(feature = "read-stats")]
    pub fn reset_read_stats(&self) {
        self.reads.reset();
    }

    /// What reads ask DynamoDB to report of the capacity they consume: the total when reads are
    /// counted, nothing otherwise.
    pub(crate) fn capacity_report() -> Option<ReturnConsumedCapacity> {
        cfg!(feature = "read-stats").then_some(ReturnConsumedCapacity::Total)
    }

    fn count_capacity(
        &self,
        items: u64,
        consumed: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>,
    ) {
        let units = consumed.and_then(|c| c.capacity_units()).unwrap_or(0.0);
        self.reads.add(items, units);
    }

    /// A strongly consistent GetItem.
    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table.as_ref())
            .set_key(Some(key))
            .consistent_read(true)
            .set_return_consumed_capacity(Self::capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.count_capacity(
            u64::from(output.item().is_some()),
            output.consumed_capacity(),
        );
        Ok(output.item)
    }

    fn order_put(&self, order: &Order) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(item::order_item(order)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(invalid)
    }
}

impl OrderReader for DynamoOrderStore {
    async fn get_order(&self, order_no: &OrderNo) -> Result<Option<Order>, StoreError> {
        self.get_item(order_key(order_no))
            .await?
            .map(|item| order_from_item(&item))
            .transpose()
    }
}

/// How a conditional update of an order ended.
enum Updated {
    /// Written; the order as it is now.
    Written(Order),
    /// The condition failed; the order as it was (`None` if there is none).
    Refused(Option<Order>),
}

impl DynamoOrderStore {
    /// An UpdateItem on the order item, with `#status` naming `orderStatus`.
    fn order_update(&self, order_no: &OrderNo) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(self.table.as_ref())
            .set_key(Some(order_key(order_no)))
            .expression_attribute_names("#status", ORDER_STATUS)
    }

    /// Sends a conditional update; on a failed condition returns the order as it was (from
    /// `ALL_OLD`, or read when a server omits it).
    async fn update_order(
        &self,
        order_no: &OrderNo,
        update: UpdateItemFluentBuilder,
    ) -> Result<Updated, StoreError> {
        let result = update
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let new = output
                    .attributes
                    .ok_or_else(|| StoreError::Corrupt("update returned no attributes".into()))?;
                Ok(Updated::Written(order_from_item(&new)?))
            }
            Err(SdkError::ServiceError(err)) => match err.into_err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => match failed.item {
                    Some(old) if !old.is_empty() => {
                        Ok(Updated::Refused(Some(order_from_item(&old)?)))
                    }
                    _ => Ok(Updated::Refused(self.get_order(order_no).await?)),
                },
                other => Err(StoreError::Unavailable(other.to_string())),
            },
            Err(err) => Err(sdk_error(err)),
        }
    }
}

impl PrepayRecorder for DynamoOrderStore {
    async fn claim_prepay(
        &self,
        order_no: &OrderNo,
        claim: &PrepayClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        if claim.at > claim.cutoff {
            return Ok(match self.get_order(order_no).await? {
                Some(order) if order.order_status.is_pending() => ClaimOutcome::WindowClosed(order),
                Some(order) => ClaimOutcome::NotPending(order),
                None => ClaimOutcome::NotFound,
            });
        }
        let update = self
            .order_update(order_no)
            .update_expression(format!(
                "SET {PREPAY_STARTED_AT} = :at, {PREPAY_LEASE_UNTIL} = :until"
            ))
            .condition_expression(format!(
                "#status = :notpay AND (attribute_not_exists({PREPAY_LEASE_UNTIL}) OR {PREPAY_LEASE_UNTIL} <= :at)"
            ))
            .expression_attribute_values(":notpay", s(OrderStatus::Notpay.as_str()))
            .expression_attribute_values(":at", s(time_key(claim.at)?))
            .expression_attribute_values(":until", s(time_key(claim.lease_until)?));
        Ok(match self.update_order(order_no, update).await? {
            Updated::Written(order) => ClaimOutcome::Claimed(order),
            Updated::Refused(None) => ClaimOutcome::NotFound,
            Updated::Refused(Some(old)) => match transition::claim_prepay(&old, claim) {
                ClaimDecision::Busy => ClaimOutcome::Busy(old),
                ClaimDecision::NotPending => ClaimOutcome::NotPending(old),
                ClaimDecision::WindowClosed => ClaimOutcome::WindowClosed(old),
                ClaimDecision::Claim(_) => return Err(StoreError::Contention),
            },
        })
    }

    async fn answer_prepay(
        &self,
        order_no: &OrderNo,
        answer: &PrepayAnswer,
    ) -> Result<AnswerOutcome, StoreError> {
        let mut update = self
            .order_update(order_no)
            .condition_expression(format!(
                "#status = :notpay AND {PREPAY_STARTED_AT} = :started"
            ))
            .expression_attribute_values(":notpay", s(OrderStatus::Notpay.as_str()))
            .expression_attribute_values(":started", s(time_key(answer.started_at)?));
        update = match &answer.code_url {
            Some(code_url) => update
                .update_expression(format!(
                    "SET codeUrl = :url, updatedAt = :now REMOVE {PREPAY_LEASE_UNTIL}"
                ))
                .expression_attribute_values(":url", s(code_url))
                .expression_attribute_values(":now", s(time_key(answer.at)?)),
            None => update.update_expression(format!("REMOVE {PREPAY_LEASE_UNTIL}")),
        };
        Ok(match self.update_order(order_no, update).await? {
            Updated::Written(order) => AnswerOutcome::Stored(order),
            Updated::Refused(None) => AnswerOutcome::NotFound,
            Updated::Refused(Some(old)) => match transition::answer_prepay(&old, answer) {
                AnswerDecision::NotPending => AnswerOutcome::NotPending(old),
                AnswerDecision::Superseded => AnswerOutcome::Superseded(old),
                AnswerDecision::Store(_) => return Err(StoreError::Contention),
            },
        })
    }
}

impl OrderCloser for DynamoOrderStore {
    async fn close_order(
        &self,
        order_no: &OrderNo,
        request: &CloseRequest,
    ) -> Result<CloseOutcome, StoreError> {
        let prepay_condition = match request.prepay_seen {
            Some(_) => format!("{PREPAY_STARTED_AT} = :seen"),
            None => format!("attribute_not_exists({PREPAY_STARTED_AT})"),
        };
        let mut update = self
            .order_update(order_no)
            .update_expression("SET #status = :to, updatedAt = :now REMOVE pendingPk, pendingSk")
            .condition_expression(format!("#status = :from AND {prepay_condition}"))
            .expression_attribute_values(":to", s(request.reason.target().as_str()))
            .expression_attribute_values(":from", s(OrderStatus::Notpay.as_str()))
            .expression_attribute_values(":now", s(time_key(request.at)?));
        if let Some(seen) = request.prepay_seen {
            update = update.expression_attribute_values(":seen", s(time_key(seen)?));
        }
        Ok(match self.update_order(order_no, update).await? {
            Updated::Written(order) => CloseOutcome::Closed(order),
            Updated::Refused(None) => CloseOutcome::NotFound,
            Updated::Refused(Some(old)) => match transition::close(&old, request) {
                CloseDecision::AlreadyClosed => CloseOutcome::AlreadyClosed(old),
                CloseDecision::NotPending => CloseOutcome::NotPending(old),
                CloseDecision::PrepayMoved => CloseOutcome::PrepayMoved(old),
                // Changed between the failed write and our read.
                CloseDecision::Close(_) => return Err(StoreError::Contention),
            },
        })
    }
}

impl SweepFailureRecorder for DynamoOrderStore {
    async fn record_sweep_failure(&self, order_no: &OrderNo) -> Result<(), StoreError> {
        let update = self
            .order_update(order_no)
            .update_expression(format!("ADD {SWEEP_FAILURES} :one"))
            .condition_expression("#status = :notpay")
            .expression_attribute_values(":notpay", s(OrderStatus::Notpay.as_str()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        // A refused condition means the order is no longer pending: nothing to count.
        self.update_order(order_no, update).await.map(|_| ())
    }
}

impl EvidenceRecorder for DynamoOrderStore {
    async fn record_evidence(&self, evidence: &Evidence) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item::evidence_item(evidence)?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn evidence_for(&self, out_trade_no: &str) -> Result<Vec<Evidence>, StoreError> {
        self.query_partition(format!("{EVIDENCE_PREFIX}{out_trade_no}"), None)
            .await?
            .iter()
            .map(item::evidence_from_item)
            .collect()
    }
}

impl PaymentRecordReader for DynamoOrderStore {
    async fn payment_records(&self, order_no: &OrderNo) -> Result<Vec<PaymentRecord>, StoreError> {
        self.query_partition(order_pk(order_no), Some("PAYMENT#"))
            .await?
            .iter()
            .map(payment_from_item)
            .collect()
    }
}

impl DynamoOrderStore {
    /// Reads the products named by the catalog item, a few GetItems at a time (the catalog is small;
    /// GetItem keeps the IAM grant to the item actions every function already has).
    async fn get_products(&self, ids: Vec<String>) -> Result<Vec<Product>, StoreError> {
        let found: Vec<Result<Option<Item>, StoreError>> = futures::stream::iter(ids)
            .map(|id| self.get_item(product_key(&id)))
            .buffered(8)
            .collect()
            .await;
        let mut products = Vec::with_capacity(found.len());
        for item in found {
            // An id without item was removed concurrently; skip it.
            if let Some(item) = item? {
                products.push(product_from_item(&item)?);
            }
        }
        products.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(products)
    }
}

impl ProductReader for DynamoOrderStore {
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        let catalog_key = HashMap::from([
            (PK.to_owned(), s(CATALOG_PK)),
            (SK.to_owned(), s(PRODUCT_SK)),
        ]);
        let Some(catalog) = self.get_item(catalog_key).await? else {
            return Ok(Vec::new());
        };
        let ids = match catalog.get(PRODUCT_IDS) {
            Some(AttributeValue::Ss(ids)) => ids.clone(),
            // Removing the last id removes the set itself (DynamoDB keeps no empty sets).
            None => return Ok(Vec::new()),
            Some(_) => {
                return Err(StoreError::Corrupt(
                    "catalog item without productIds".into(),
                ));
            }
        };
        self.get_products(ids).await
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        if !crate::domain::product::valid_product_id(id) {
            return Ok(None);
        }
        self.get_item(product_key(id))
            .await?
            .map(|item| product_from_item(&item))
            .transpose()
    }
}

impl ProductWriter for DynamoOrderStore {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        product.validate().map_err(invalid)?;
        let put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(product_item(product)))
            .build()
            .map_err(invalid)?;
        let index = Update::builder()
            .table_name(self.table.as_ref())
            .key(PK, s(CATALOG_PK))
            .key(SK, s(PRODUCT_SK))
            .update_expression("ADD productIds :id")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![product.id.clone()]))
            .build()
            .map_err(invalid)?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(index).build(),
        ];
        match settle::transact(self, items).await? {
            settle::Transacted::Committed => Ok(()),
            settle::Transacted::Cancelled(_) => Err(StoreError::Contention),
        }
    }

    async fn remove_product(&self, id: &str) -> Result<bool, StoreError> {
        if !crate::domain::product::valid_product_id(id) {
            return Ok(false);
        }
        let delete = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(product_key(id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(invalid)?;
        let index = Update::builder()
            .table_name(self.table.as_ref())
            .key(PK, s(CATALOG_PK))
            .key(SK, s(PRODUCT_SK))
            .update_expression("DELETE productIds :id")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![id.to_owned()]))
            .build()
            .map_err(invalid)?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(index).build(),
        ];
        match settle::transact(self, items).await? {
            settle::Transacted::Committed => Ok(true),
            // The product item was absent: nothing to remove.
            settle::Transacted::Cancelled(_) => Ok(false),
        }
    }
}

impl DynamoOrderStore {
    /// Writes an order without idempotency key: conditional on the number being unused.
    async fn put_new_order(&self, order: &Order) -> Result<(), StoreError> {
        if self.put_if_absent(item::order_item(order)?).await? {
            Ok(())
        } else {
            Err(StoreError::DuplicateOrderNo)
        }
    }

    /// Puts `item` unless an item with its key exists: whether it was written.
    async fn put_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(self.table.as_ref())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(err))
                if matches!(err.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(err) => Err(sdk_error(err)),
        }
    }
}

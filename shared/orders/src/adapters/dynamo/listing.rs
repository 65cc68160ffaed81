//! Paged Query listings over the `pending`, `byBuyer` and `byStatus` GSIs, with opaque cursors.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::item::{
    BUYER_HASH, BY_BUYER_INDEX, BY_STATUS_INDEX, CREATED_AT, Item, ORDER_SK, PENDING_INDEX,
    PENDING_PK, PENDING_SK, PK, SK, STATUS_PK, STATUS_SK, order_from_item, req_str,
};
use super::{DynamoOrderStore, s, sdk_error};
use crate::adapters::keys::{
    PENDING_SHARDS, listing_pk, order_pk, pending_pk, split_time_order, time_key,
};
use crate::domain::{BuyerHash, Order, OrderListing};
use crate::ports::{
    BuyerOrderLister, Cursor, ListedOrderLister, Page, PageRequest, PendingOrderLister, StoreError,
};

/// Position in the pending listing: a shard, and the last `pendingSk` read in it (if any).
struct PendingPosition {
    shard: u32,
    after: Option<String>,
}

impl PendingPosition {
    fn encode(&self) -> Cursor {
        Cursor::encode(&format!(
            "p|{}|{}",
            self.shard,
            self.after.as_deref().unwrap_or_default()
        ))
    }

    fn decode(cursor: &Cursor) -> Result<Self, StoreError> {
        let text = cursor.decode()?;
        let rest = text.strip_prefix("p|").ok_or(StoreError::InvalidCursor)?;
        let (shard, after) = rest.split_once('|').ok_or(StoreError::InvalidCursor)?;
        let shard: u32 = shard.parse().map_err(|_| StoreError::InvalidCursor)?;
        if shard >= PENDING_SHARDS {
            return Err(StoreError::InvalidCursor);
        }
        let after = if after.is_empty() {
            None
        } else {
            split_time_order(after)?;
            Some(after.to_owned())
        };
        Ok(Self { shard, after })
    }
}

fn items_to_orders(items: &[Item]) -> Result<Vec<Order>, StoreError> {
    items.iter().map(order_from_item).collect()
}

impl PendingOrderLister for DynamoOrderStore {
    async fn list_pending_orders(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let cutoff = time_key(created_before)?;
        let limit = page.clamped_limit() as usize;
        let mut position = match &page.cursor {
            Some(cursor) => PendingPosition::decode(cursor)?,
            None => PendingPosition {
                shard: 0,
                after: None,
            },
        };
        let mut orders = Vec::new();
        loop {
            let start_key = match &position.after {
                Some(after) => {
                    let (_, order_no) = split_time_order(after)?;
                    Some(HashMap::from([
                        (PK.to_owned(), s(order_pk(&order_no))),
                        (SK.to_owned(), s(ORDER_SK)),
                        (PENDING_PK.to_owned(), s(pending_pk(position.shard))),
                        (PENDING_SK.to_owned(), s(after.clone())),
                    ]))
                }
                None => None,
            };
            let output = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .index_name(PENDING_INDEX)
                .key_condition_expression("pendingPk = :shard AND pendingSk < :cutoff")
                .expression_attribute_values(":shard", s(pending_pk(position.shard)))
                .expression_attribute_values(":cutoff", s(cutoff.clone()))
                .limit(i32::try_from(limit - orders.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .set_return_consumed_capacity(Self::capacity_report())
                .send()
                .await
                .map_err(sdk_error)?;
            self.count_capacity(
                u64::try_from(output.scanned_count()).unwrap_or(0),
                output.consumed_capacity(),
            );
            orders.extend(items_to_orders(output.items())?);
            let continues_at = match &output.last_evaluated_key {
                Some(key) => Some(req_str(key, PENDING_SK)?.to_owned()),
                None => None,
            };
            position = match continues_at {
                Some(after) => PendingPosition {
                    shard: position.shard,
                    after: Some(after),
                },
                None if position.shard + 1 < PENDING_SHARDS => PendingPosition {
                    shard: position.shard + 1,
                    after: None,
                },
                None => {
                    return Ok(Page {
                        items: orders,
                        next: None,
                    });
                }
            };
            if orders.len() >= limit {
                return Ok(Page {
                    items: orders,
                    next: Some(position.encode()),
                });
            }
        }
    }
}

impl BuyerOrderLister for DynamoOrderStore {
    async fn list_buyer_orders(
        &self,
        buyer: &BuyerHash,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let start_key = match &page.cursor {
            Some(cursor) => {
                let text = cursor.decode()?;
                let rest = text.strip_prefix("b|").ok_or(StoreError::InvalidCursor)?;
                let (created_at, order_no) = split_time_order(rest)?;
                Some(HashMap::from([
                    (PK.to_owned(), s(order_pk(&order_no))),
                    (SK.to_owned(), s(ORDER_SK)),
                    (BUYER_HASH.to_owned(), s(buyer.as_str())),
                    (CREATED_AT.to_owned(), s(created_at)),
                ]))
            }
            None => None,
        };
        let output = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .index_name(BY_BUYER_INDEX)
            .key_condition_expression("buyerHash = :buyer")
            .expression_attribute_values(":buyer", AttributeValue::S(buyer.as_str().to_owned()))
            .scan_index_forward(false)
            .limit(i32::try_from(page.clamped_limit()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start_key)
            .set_return_consumed_capacity(Self::capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.count_capacity(
            u64::try_from(output.scanned_count()).unwrap_or(0),
            output.consumed_capacity(),
        );
        let items = items_to_orders(output.items())?;
        if items
            .iter()
            .any(|order| order.buyer_hash.as_ref() != Some(buyer))
        {
            return Err(StoreError::Corrupt(
                "byBuyer returned another buyer's order".into(),
            ));
        }
        let next = match (&output.last_evaluated_key, items.last()) {
            (Some(_), Some(last)) => Some(Cursor::encode(&format!(
                "b|{}#{}",
                time_key(last.created_at)?,
                last.order_no
            ))),
            _ => None,
        };
        Ok(Page { items, next })
    }
}

impl ListedOrderLister for DynamoOrderStore {
    async fn list_orders_in(
        &self,
        listing: OrderListing,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let partition = listing_pk(listing);
        let start_key = match &page.cursor {
            Some(cursor) => {
                let text = cursor.decode()?;
                let rest = text.strip_prefix("s|").ok_or(StoreError::InvalidCursor)?;
                let (_, order_no) = split_time_order(rest)?;
                Some(HashMap::from([
                    (PK.to_owned(), s(order_pk(&order_no))),
                    (SK.to_owned(), s(ORDER_SK)),
                    (STATUS_PK.to_owned(), s(partition.clone())),
                    (STATUS_SK.to_owned(), s(rest)),
                ]))
            }
            None => None,
        };
        let output = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .index_name(BY_STATUS_INDEX)
            .key_condition_expression("statusPk = :listing")
            .expression_attribute_values(":listing", s(partition))
            .scan_index_forward(false)
            .limit(i32::try_from(page.clamped_limit()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start_key)
            .set_return_consumed_capacity(Self::capacity_report())
            .send()
            .await
            .map_err(sdk_error)?;
        self.count_capacity(
            u64::try_from(output.scanned_count()).unwrap_or(0),
            output.consumed_capacity(),
        );
        let items = items_to_orders(output.items())?;
        let next = match &output.last_evaluated_key {
            Some(key) => Some(Cursor::encode(&format!("s|{}", req_str(key, STATUS_SK)?))),
            None => None,
        };
        Ok(Page { items, next })
    }
}

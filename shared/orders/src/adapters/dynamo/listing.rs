//! Paged Query listings over the `pending`, `byBuyer` and `byStatus` GSIs, with opaque cursors.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::item::{
    BUYER_HASH, BY_BUYER_INDEX, BY_STATUS_INDEX, CREATED_AT, ORDER_SK, PENDING_INDEX, PENDING_PK,
    PENDING_SK, PK, SK, STATUS_PK, STATUS_SK, order_from_item, req_str,
};
use super::sharded::ShardedIndex;
use super::{DynamoOrderStore, s};
use crate::adapters::keys::{listing_pk, order_pk, pending_pk, split_time_order, time_key};
use crate::domain::{BuyerHash, Order, OrderListing};
use crate::ports::{
    BuyerOrderLister, Cursor, ListedOrderLister, Page, PageRequest, PendingOrderLister, StoreError,
};

/// The `pending` index: `NOTPAY` orders by creation time, in `PENDING_SHARDS` shards.
const PENDING: ShardedIndex = ShardedIndex {
    tag: "p",
    name: PENDING_INDEX,
    pk: PENDING_PK,
    sk: PENDING_SK,
    shard_pk: pending_pk,
    base_key: |after| {
        let (_, order_no) = split_time_order(after)?;
        Ok((order_pk(&order_no), ORDER_SK.to_owned()))
    },
};

impl PendingOrderLister for DynamoOrderStore {
    async fn list_pending_orders(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        self.list_sharded(&PENDING, time_key(created_before)?, page, order_from_item)
            .await
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
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .index_name(BY_BUYER_INDEX)
            .key_condition_expression("buyerHash = :buyer")
            .expression_attribute_values(":buyer", s(buyer.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(page.clamped_limit()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start_key);
        let output = self.query_page(query).await?;
        let items = output
            .items()
            .iter()
            .map(order_from_item)
            .collect::<Result<Vec<_>, _>>()?;
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
        let query = self
            .client
            .query()
            .table_name(self.table.as_ref())
            .index_name(BY_STATUS_INDEX)
            .key_condition_expression("statusPk = :listing")
            .expression_attribute_values(":listing", s(partition))
            .scan_index_forward(false)
            .limit(i32::try_from(page.clamped_limit()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start_key);
        let output = self.query_page(query).await?;
        let items = output
            .items()
            .iter()
            .map(order_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match &output.last_evaluated_key {
            Some(key) => Some(Cursor::encode(&format!("s|{}", req_str(key, STATUS_SK)?))),
            None => None,
        };
        Ok(Page { items, next })
    }
}

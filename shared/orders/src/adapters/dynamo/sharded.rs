//! Paging through a sharded sparse index (pending orders, open refunds): the shards in turn, each
//! in sort-key order below a cutoff, behind an opaque cursor naming a shard and the last sort key
//! read in it.

use std::collections::HashMap;

use super::item::{Item, PK, SK, req_str};
use super::{DynamoOrderStore, s};
use crate::adapters::keys::PENDING_SHARDS;
use crate::ports::{Cursor, Page, PageRequest, StoreError};

/// A sparse GSI spread over [`PENDING_SHARDS`] partitions.
pub(super) struct ShardedIndex {
    /// The cursor's tag, so that one listing's cursor is refused by another.
    pub tag: &'static str,
    /// The index name.
    pub name: &'static str,
    /// The index's partition key attribute.
    pub pk: &'static str,
    /// The index's sort key attribute.
    pub sk: &'static str,
    /// The index partition key of a shard.
    pub shard_pk: fn(u32) -> String,
    /// The base table's `(pk, sk)` of the item an index sort key names; `InvalidCursor` when the
    /// sort key is malformed.
    pub base_key: fn(&str) -> Result<(String, String), StoreError>,
}

/// Position in a sharded listing: a shard, and the last index sort key read in it (if any).
struct Position {
    shard: u32,
    after: Option<String>,
}

impl Position {
    const START: Self = Self {
        shard: 0,
        after: None,
    };

    fn encode(&self, index: &ShardedIndex) -> Cursor {
        Cursor::encode(&format!(
            "{}|{}|{}",
            index.tag,
            self.shard,
            self.after.as_deref().unwrap_or_default()
        ))
    }

    fn decode(index: &ShardedIndex, cursor: &Cursor) -> Result<Self, StoreError> {
        let text = cursor.decode()?;
        let rest = text
            .strip_prefix(index.tag)
            .and_then(|rest| rest.strip_prefix('|'))
            .ok_or(StoreError::InvalidCursor)?;
        let (shard, after) = rest.split_once('|').ok_or(StoreError::InvalidCursor)?;
        let shard: u32 = shard.parse().map_err(|_| StoreError::InvalidCursor)?;
        if shard >= PENDING_SHARDS {
            return Err(StoreError::InvalidCursor);
        }
        let after = if after.is_empty() {
            None
        } else {
            (index.base_key)(after)?;
            Some(after.to_owned())
        };
        Ok(Self { shard, after })
    }

    /// The exclusive start key of a Query resuming at this position.
    fn start_key(&self, index: &ShardedIndex) -> Result<Option<Item>, StoreError> {
        let Some(after) = &self.after else {
            return Ok(None);
        };
        let (pk, sk) = (index.base_key)(after)?;
        Ok(Some(HashMap::from([
            (PK.to_owned(), s(pk)),
            (SK.to_owned(), s(sk)),
            (index.pk.to_owned(), s((index.shard_pk)(self.shard))),
            (index.sk.to_owned(), s(after.clone())),
        ])))
    }
}

impl DynamoOrderStore {
    /// One page of the items of `index` whose sort key is below `cutoff`, decoded by `decode`.
    pub(super) async fn list_sharded<T>(
        &self,
        index: &ShardedIndex,
        cutoff: String,
        page: &PageRequest,
        decode: fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let limit = page.clamped_limit() as usize;
        let mut position = match &page.cursor {
            Some(cursor) => Position::decode(index, cursor)?,
            None => Position::START,
        };
        let mut items = Vec::new();
        loop {
            let query = self
                .client
                .query()
                .table_name(self.table.as_ref())
                .index_name(index.name)
                .key_condition_expression(format!(
                    "{} = :shard AND {} < :cutoff",
                    index.pk, index.sk
                ))
                .expression_attribute_values(":shard", s((index.shard_pk)(position.shard)))
                .expression_attribute_values(":cutoff", s(cutoff.clone()))
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(position.start_key(index)?);
            let output = self.query_page(query).await?;
            for item in output.items() {
                items.push(decode(item)?);
            }
            position = match &output.last_evaluated_key {
                Some(key) => Position {
                    shard: position.shard,
                    after: Some(req_str(key, index.sk)?.to_owned()),
                },
                None if position.shard + 1 < PENDING_SHARDS => Position {
                    shard: position.shard + 1,
                    after: None,
                },
                None => return Ok(Page { items, next: None }),
            };
            if items.len() >= limit {
                return Ok(Page {
                    items,
                    next: Some(position.encode(index)),
                });
            }
        }
    }
}

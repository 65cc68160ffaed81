//! Paging through an index table (index key → key of a JSON value in another table).

use std::ops::Bound;

use redb::TableDefinition;
use time::OffsetDateTime;

use super::{EmbeddedOrderStore, JsonTable, decode, unavailable};
use crate::adapters::keys::time_key;
use crate::adapters::read_stats::ReadCounter;
use crate::ports::{Cursor, Page, PageRequest, StoreError};

/// An index whose keys begin with a creation time (`{createdAt}#…`), listed oldest first below a
/// cutoff, behind a cursor `{tag}|{last key read}`.
pub(super) struct TimeIndex {
    /// The cursor's tag, so that one listing's cursor is refused by another.
    pub tag: &'static str,
    /// Index key → key in `values`.
    pub index: TableDefinition<'static, &'static str, &'static str>,
    /// The values listed.
    pub values: JsonTable,
    /// Checks that a cursor's key is shaped like this index's keys.
    pub check: fn(&str) -> Result<(), StoreError>,
}

impl EmbeddedOrderStore {
    /// One page of the values of `index` created before `created_before`.
    pub(super) async fn list_time_index<T>(
        &self,
        index: &'static TimeIndex,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError>
    where
        T: for<'de> serde::Deserialize<'de> + Send + 'static,
    {
        let upper = time_key(created_before)?;
        let lower = match &page.cursor {
            Some(cursor) => {
                let position = cursor.decode()?;
                let rest = position
                    .strip_prefix(index.tag)
                    .and_then(|rest| rest.strip_prefix('|'))
                    .ok_or(StoreError::InvalidCursor)?;
                (index.check)(rest)?;
                Some(rest.to_owned())
            }
            None => None,
        };
        let limit = page.clamped_limit();
        self.read(move |txn, reads| {
            let table = txn.open_table(index.index).map_err(unavailable)?;
            let lower_bound = match &lower {
                Some(after) => Bound::Excluded(after.as_str()),
                None => Bound::Unbounded,
            };
            let range = table
                .range::<&str>((lower_bound, Bound::Excluded(upper.as_str())))
                .map_err(unavailable)?;
            let (entries, more) = take_page(range, limit)?;
            let items = values_by_key(txn, reads, index.values, &entries)?;
            let next = match entries.last() {
                Some((key, _)) if more => Some(Cursor::encode(&format!("{}|{key}", index.tag))),
                _ => None,
            };
            Ok(Page { items, next })
        })
        .await
    }
}

/// The values of `table` under the keys the index `entries` name (`(index key, key)`), skipping
/// any gone; counts one read per entry.
pub(super) fn values_by_key<T: for<'de> serde::Deserialize<'de>>(
    txn: &redb::ReadTransaction,
    reads: &ReadCounter,
    table: JsonTable,
    entries: &[(String, String)],
) -> Result<Vec<T>, StoreError> {
    let table = txn.open_table(table).map_err(unavailable)?;
    let mut values = Vec::with_capacity(entries.len());
    for (_, key) in entries {
        if let Some(guard) = table.get(key.as_str()).map_err(unavailable)? {
            values.push(decode(guard.value())?);
        }
    }
    reads.add(entries.len() as u64, 0.0);
    Ok(values)
}

/// Takes up to `limit` `(key, orderNo)` entries from an index iterator, plus whether more remain.
pub(super) fn take_page<'a, I>(
    entries: I,
    limit: u32,
) -> Result<(Vec<(String, String)>, bool), StoreError>
where
    I: Iterator<
        Item = Result<
            (
                redb::AccessGuard<'a, &'static str>,
                redb::AccessGuard<'a, &'static str>,
            ),
            redb::StorageError,
        >,
    >,
{
    let mut page = Vec::new();
    let mut more = false;
    for entry in entries {
        let (key, value) = entry.map_err(unavailable)?;
        if page.len() as u32 >= limit {
            more = true;
            break;
        }
        page.push((key.value().to_owned(), value.value().to_owned()));
    }
    Ok((page, more))
}

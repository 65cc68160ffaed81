//! The embedded store for local runs: redb, a pure-Rust, crash-safe (copy-on-write B-trees, ACID)
//! key-value store, in one file under a directory. Write transactions are serialized by redb, so each
//! read-check-write below is atomic; blocking work runs on `spawn_blocking`.

mod index;
mod limits;
mod refunds;
mod tables;

use index::{TimeIndex, take_page, values_by_key};

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::adapters::keys::{pending_sk, split_time_order};
use crate::adapters::read_stats::ReadCounter;
#[cfg(feature = "read-stats")]
use crate::adapters::read_stats::ReadStats;
use crate::domain::transition::{
    self, AnswerDecision, ClaimDecision, CloseDecision, SettleDecision,
};
use crate::domain::{BuyerHash, Order, OrderListing, OrderNo, PaymentRecord, Product};
use crate::ports::{
    AnswerOutcome, BuyerOrderLister, ClaimOutcome, CloseOutcome, CloseRequest, CreateOutcome,
    Cursor, Evidence, EvidenceRecorder, IdempotencyClaim, ListedOrderLister, OrderCloser,
    OrderCreator, OrderReader, OrderSettler, Page, PageRequest, PaymentRecordReader,
    PendingOrderLister, PrepayAnswer, PrepayClaim, PrepayRecorder, ProductReader, ProductWriter,
    SettleOutcome, Settlement, StoreError, SweepFailureRecorder,
};
use tables::*;

/// File name of the database inside the directory given to [`EmbeddedOrderStore::open`].
pub const DB_FILE: &str = "orders.redb";

/// Orders, payment records, products and idempotency keys in a redb file. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedOrderStore {
    db: Arc<Database>,
    reads: Arc<ReadCounter>,
    /// Run each transaction on the calling task instead of the blocking pool (in-memory stores:
    /// no I/O to wait for, and a single-threaded caller sees a deterministic order of events).
    inline: bool,
}

impl std::fmt::Debug for EmbeddedOrderStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedOrderStore").finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdempotencyEntry {
    order_no: OrderNo,
    ttl: i64,
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| StoreError::Invalid(err.to_string()))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(corrupt)
}

impl EmbeddedOrderStore {
    /// Opens (creating if needed) the store in `dir` (e.g. `.data/`). Open it once per process and
    /// clone the store: redb refuses a second open of the same file.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = dir.as_ref().to_path_buf();
        let db = tokio::task::spawn_blocking(move || -> Result<Database, StoreError> {
            std::fs::create_dir_all(&path).map_err(unavailable)?;
            let db = Database::create(path.join(DB_FILE)).map_err(unavailable)?;
            create_tables(&db)?;
            Ok(db)
        })
        .await
        .map_err(unavailable)??;
        Ok(Self {
            db: Arc::new(db),
            reads: Arc::new(ReadCounter::new()),
            inline: false,
        })
    }

    /// A store held in memory only, for tests and deterministic simulations: the same tables and
    /// rules, nothing on disk, and every transaction run on the calling task.
    pub fn in_memory() -> Result<Self, StoreError> {
        let db = redb::Builder::new()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(unavailable)?;
        create_tables(&db)?;
        Ok(Self {
            db: Arc::new(db),
            reads: Arc::new(ReadCounter::new()),
            inline: true,
        })
    }

    /// What has been read since opening or the last [`Self::reset_read_stats`].
    #[cfg(feature = "read-stats")]
    pub fn read_stats(&self) -> ReadStats {
        self.reads.snapshot()
    }

    /// Zeroes the read counters.
    #[cfg(feature = "read-stats")]
    pub fn reset_read_stats(&self) {
        self.reads.reset();
    }

    /// Writes many orders (in any state) in one transaction, for seeding and benchmarks. Refuses the
    /// whole batch with [`StoreError::DuplicateOrderNo`] if any number is taken.
    pub async fn seed_orders(&self, orders: Vec<Order>) -> Result<(), StoreError> {
        self.write(move |txn| {
            for order in &orders {
                if read_order(txn, &order.order_no)?.is_some() {
                    return Err(StoreError::DuplicateOrderNo);
                }
                put_order(txn, None, order)?;
            }
            Ok(())
        })
        .await
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(&self.db);
        let run = move || {
            let txn = db.begin_write().map_err(unavailable)?;
            match work(&txn) {
                Ok(value) => {
                    txn.commit().map_err(unavailable)?;
                    Ok(value)
                }
                Err(err) => {
                    txn.abort().map_err(unavailable)?;
                    Err(err)
                }
            }
        };
        if self.inline {
            return run();
        }
        tokio::task::spawn_blocking(run)
            .await
            .map_err(unavailable)?
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::ReadTransaction, &ReadCounter) -> Result<T, StoreError>
        + Send
        + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(&self.db);
        let reads = Arc::clone(&self.reads);
        let run = move || {
            let txn = db.begin_read().map_err(unavailable)?;
            work(&txn, &reads)
        };
        if self.inline {
            return run();
        }
        tokio::task::spawn_blocking(run)
            .await
            .map_err(unavailable)?
    }
}

/// A table of JSON values under string keys.
type JsonTable = redb::TableDefinition<'static, &'static str, &'static [u8]>;

impl EmbeddedOrderStore {
    /// Every value of `table` whose key is `{prefix}#…`, decoded in key order (`#` sorts before
    /// every character of the numbers that follow it, and `$` right after it).
    async fn read_under<T: for<'de> Deserialize<'de> + Send + 'static>(
        &self,
        table: JsonTable,
        prefix: String,
    ) -> Result<Vec<T>, StoreError> {
        let lower = format!("{prefix}#");
        let upper = format!("{prefix}$");
        self.read(move |txn, reads| {
            let table = txn.open_table(table).map_err(unavailable)?;
            let mut found = Vec::new();
            for entry in table
                .range::<&str>(lower.as_str()..upper.as_str())
                .map_err(unavailable)?
            {
                let (_, value) = entry.map_err(unavailable)?;
                found.push(decode(value.value())?);
            }
            reads.add(found.len() as u64, 0.0);
            Ok(found)
        })
        .await
    }
}

fn create_tables(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    for table in [
        ORDERS,
        PAYMENTS,
        PRODUCTS,
        IDEMPOTENCY,
        EVIDENCE,
        REFUNDS,
        LIMITS,
    ] {
        txn.open_table(table).map_err(unavailable)?;
    }
    for table in [PENDING, BY_BUYER, BY_STATUS, REFUND_KEYS, OPEN_REFUNDS] {
        txn.open_table(table).map_err(unavailable)?;
    }
    txn.commit().map_err(unavailable)
}

/// Reads the order, lets `decide` say what to write, writes it; `None` if there is no order.
fn transition<T>(
    txn: &WriteTransaction,
    order_no: &OrderNo,
    decide: impl FnOnce(&Order) -> (Option<Order>, T),
) -> Result<Option<T>, StoreError> {
    let Some(old) = read_order(txn, order_no)? else {
        return Ok(None);
    };
    let (new, outcome) = decide(&old);
    if let Some(new) = new {
        put_order(txn, Some(&old), &new)?;
    }
    Ok(Some(outcome))
}

/// Writes a payment record unless one for this transaction exists.
fn put_payment(txn: &WriteTransaction, record: &PaymentRecord) -> Result<(), StoreError> {
    let mut payments = txn.open_table(PAYMENTS).map_err(unavailable)?;
    let key = format!("{}#{}", record.order_no, record.transaction_id);
    if payments.get(key.as_str()).map_err(unavailable)?.is_none() {
        payments
            .insert(key.as_str(), encode(record)?.as_slice())
            .map_err(unavailable)?;
    }
    Ok(())
}

/// The order in a write transaction.
fn read_order(txn: &WriteTransaction, order_no: &OrderNo) -> Result<Option<Order>, StoreError> {
    let table = txn.open_table(ORDERS).map_err(unavailable)?;
    let value = table.get(order_no.as_str()).map_err(unavailable)?;
    value.map(|guard| decode(guard.value())).transpose()
}

/// Writes `new`, replacing `old`, and keeps the `pending`, `byBuyer` and `byStatus` indexes in step.
fn put_order(txn: &WriteTransaction, old: Option<&Order>, new: &Order) -> Result<(), StoreError> {
    let mut orders = txn.open_table(ORDERS).map_err(unavailable)?;
    let mut pending = txn.open_table(PENDING).map_err(unavailable)?;
    let mut by_buyer = txn.open_table(BY_BUYER).map_err(unavailable)?;
    let mut by_status = txn.open_table(BY_STATUS).map_err(unavailable)?;
    if let Some(old) = old {
        if let Some(key) = status_key(old)? {
            by_status.remove(key.as_str()).map_err(unavailable)?;
        }
        pending
            .remove(pending_sk(old)?.as_str())
            .map_err(unavailable)?;
        if let Some(key) = buyer_key(old)? {
            by_buyer.remove(key.as_str()).map_err(unavailable)?;
        }
    }
    orders
        .insert(new.order_no.as_str(), encode(new)?.as_slice())
        .map_err(unavailable)?;
    if new.order_status.is_pending() {
        pending
            .insert(pending_sk(new)?.as_str(), new.order_no.as_str())
            .map_err(unavailable)?;
    }
    if let Some(key) = buyer_key(new)? {
        by_buyer
            .insert(key.as_str(), new.order_no.as_str())
            .map_err(unavailable)?;
    }
    if let Some(key) = status_key(new)? {
        by_status
            .insert(key.as_str(), new.order_no.as_str())
            .map_err(unavailable)?;
    }
    Ok(())
}

/// `STATUS#{listing}#{createdAt}#{orderNo}`, for an order in an operator listing.
fn status_key(order: &Order) -> Result<Option<String>, StoreError> {
    Ok(crate::adapters::keys::listing_keys(order)?.map(|(pk, sk)| format!("{pk}#{sk}")))
}

/// `{buyerHash}#{createdAt}#{orderNo}`.
fn buyer_key(order: &Order) -> Result<Option<String>, StoreError> {
    order
        .buyer_hash
        .as_ref()
        .map(|buyer| Ok(format!("{buyer}#{}", pending_sk(order)?)))
        .transpose()
}

impl OrderCreator for EmbeddedOrderStore {
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome, StoreError> {
        let order = order.clone();
        let claim = idempotency.cloned();
        self.write(move |txn| {
            if let Some(claim) = &claim {
                let mut keys = txn.open_table(IDEMPOTENCY).map_err(unavailable)?;
                let existing: Option<IdempotencyEntry> = keys
                    .get(claim.key.as_str())
                    .map_err(unavailable)?
                    .map(|guard| decode(guard.value()))
                    .transpose()?;
                if let Some(entry) = existing
                    && entry.ttl > order.created_at.unix_timestamp()
                {
                    return match read_order(txn, &entry.order_no)? {
                        Some(found) => Ok(CreateOutcome::Existing(found)),
                        None => Err(StoreError::Corrupt(format!(
                            "idempotency key names missing order {}",
                            entry.order_no
                        ))),
                    };
                }
                let entry = IdempotencyEntry {
                    order_no: order.order_no.clone(),
                    ttl: claim.expires_at.unix_timestamp(),
                };
                keys.insert(claim.key.as_str(), encode(&entry)?.as_slice())
                    .map_err(unavailable)?;
            }
            if read_order(txn, &order.order_no)?.is_some() {
                return Err(StoreError::DuplicateOrderNo);
            }
            put_order(txn, None, &order)?;
            Ok(CreateOutcome::Created(order))
        })
        .await
    }

    async fn claimed_order(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Order>, StoreError> {
        let key = key.to_owned();
        self.read(move |txn, reads| {
            let keys = txn.open_table(IDEMPOTENCY).map_err(unavailable)?;
            reads.add(1, 0.0);
            let entry: Option<IdempotencyEntry> = keys
                .get(key.as_str())
                .map_err(unavailable)?
                .map(|guard| decode(guard.value()))
                .transpose()?;
            let Some(entry) = entry.filter(|e| e.ttl > now.unix_timestamp()) else {
                return Ok(None);
            };
            let orders = txn.open_table(ORDERS).map_err(unavailable)?;
            reads.add(1, 0.0);
            let found = orders.get(entry.order_no.as_str()).map_err(unavailable)?;
            found.map(|guard| decode(guard.value())).transpose()
        })
        .await
    }
}

impl OrderReader for EmbeddedOrderStore {
    async fn get_order(&self, order_no: &OrderNo) -> Result<Option<Order>, StoreError> {
        let order_no = order_no.clone();
        self.read(move |txn, reads| {
            let table = txn.open_table(ORDERS).map_err(unavailable)?;
            let found = table.get(order_no.as_str()).map_err(unavailable)?;
            reads.add(1, 0.0);
            found.map(|guard| decode(guard.value())).transpose()
        })
        .await
    }
}

impl PrepayRecorder for EmbeddedOrderStore {
    async fn claim_prepay(
        &self,
        order_no: &OrderNo,
        claim: &PrepayClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        let order_no = order_no.clone();
        let claim = claim.clone();
        self.write(move |txn| {
            let outcome = transition(txn, &order_no, |old| {
                match transition::claim_prepay(old, &claim) {
                    ClaimDecision::Claim(new) => (Some(new.clone()), ClaimOutcome::Claimed(new)),
                    ClaimDecision::Busy => (None, ClaimOutcome::Busy(old.clone())),
                    ClaimDecision::NotPending => (None, ClaimOutcome::NotPending(old.clone())),
                    ClaimDecision::WindowClosed => (None, ClaimOutcome::WindowClosed(old.clone())),
                }
            })?;
            Ok(outcome.unwrap_or(ClaimOutcome::NotFound))
        })
        .await
    }

    async fn answer_prepay(
        &self,
        order_no: &OrderNo,
        answer: &PrepayAnswer,
    ) -> Result<AnswerOutcome, StoreError> {
        let order_no = order_no.clone();
        let answer = answer.clone();
        self.write(move |txn| {
            let outcome = transition(txn, &order_no, |old| {
                match transition::answer_prepay(old, &answer) {
                    AnswerDecision::Store(new) => (Some(new.clone()), AnswerOutcome::Stored(new)),
                    AnswerDecision::NotPending => (None, AnswerOutcome::NotPending(old.clone())),
                    AnswerDecision::Superseded => (None, AnswerOutcome::Superseded(old.clone())),
                }
            })?;
            Ok(outcome.unwrap_or(AnswerOutcome::NotFound))
        })
        .await
    }
}

impl OrderSettler for EmbeddedOrderStore {
    async fn settle_order(
        &self,
        order_no: &OrderNo,
        settlement: &Settlement,
    ) -> Result<SettleOutcome, StoreError> {
        let order_no = order_no.clone();
        let settlement = settlement.clone();
        self.write(move |txn| {
            let outcome = transition(txn, &order_no, |old| {
                match transition::settle(old, &settlement) {
                    SettleDecision::Settle(new) => (Some(new.clone()), SettleOutcome::Settled(new)),
                    SettleDecision::SettleAfterClose(new) => {
                        (Some(new.clone()), SettleOutcome::SettledAfterClose(new))
                    }
                    SettleDecision::AlreadySettled => {
                        (None, SettleOutcome::AlreadySettled(old.clone()))
                    }
                    SettleDecision::DoublePayment => {
                        (None, SettleOutcome::DoublePayment(old.clone()))
                    }
                }
            })?;
            let Some(outcome) = outcome else {
                return Ok(SettleOutcome::NotFound);
            };
            if !matches!(outcome, SettleOutcome::AlreadySettled(_)) {
                put_payment(txn, &settlement.record)?;
            }
            Ok(outcome)
        })
        .await
    }
}

impl OrderCloser for EmbeddedOrderStore {
    async fn close_order(
        &self,
        order_no: &OrderNo,
        request: &CloseRequest,
    ) -> Result<CloseOutcome, StoreError> {
        let order_no = order_no.clone();
        let request = request.clone();
        self.write(move |txn| {
            let outcome = transition(txn, &order_no, |old| {
                match transition::close(old, &request) {
                    CloseDecision::Close(new) => (Some(new.clone()), CloseOutcome::Closed(new)),
                    CloseDecision::AlreadyClosed => {
                        (None, CloseOutcome::AlreadyClosed(old.clone()))
                    }
                    CloseDecision::NotPending => (None, CloseOutcome::NotPending(old.clone())),
                    CloseDecision::PrepayMoved => (None, CloseOutcome::PrepayMoved(old.clone())),
                }
            })?;
            Ok(outcome.unwrap_or(CloseOutcome::NotFound))
        })
        .await
    }
}

impl SweepFailureRecorder for EmbeddedOrderStore {
    async fn record_sweep_failure(&self, order_no: &OrderNo) -> Result<(), StoreError> {
        let order_no = order_no.clone();
        self.write(move |txn| {
            transition(txn, &order_no, |old| (transition::sweep_failed(old), ()))?;
            Ok(())
        })
        .await
    }
}

impl EvidenceRecorder for EmbeddedOrderStore {
    async fn record_evidence(&self, evidence: &Evidence) -> Result<(), StoreError> {
        let evidence = evidence.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(EVIDENCE).map_err(unavailable)?;
            let key = evidence_key(&evidence);
            table
                .insert(key.as_str(), encode(&evidence)?.as_slice())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn evidence_for(&self, out_trade_no: &str) -> Result<Vec<Evidence>, StoreError> {
        self.read_under(EVIDENCE, out_trade_no.to_owned()).await
    }
}

/// `{out_trade_no}#{transaction_id}#{reason}`.
fn evidence_key(evidence: &Evidence) -> String {
    format!(
        "{}#{}#{}",
        evidence.out_trade_no, evidence.transaction_id, evidence.reason
    )
}

impl PaymentRecordReader for EmbeddedOrderStore {
    async fn payment_records(&self, order_no: &OrderNo) -> Result<Vec<PaymentRecord>, StoreError> {
        self.read_under(PAYMENTS, order_no.to_string()).await
    }
}

impl EmbeddedOrderStore {
    /// The orders of the `{partition}#{createdAt}#{orderNo}` entries of `index` under `partition`,
    /// newest first, paged; cursors are tagged `tag` (the byBuyer and byStatus listings).
    async fn list_newest_first(
        &self,
        index: redb::TableDefinition<'static, &'static str, &'static str>,
        partition: String,
        tag: &'static str,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let lower = format!("{partition}#");
        let upper = match &page.cursor {
            Some(cursor) => {
                let position = cursor.decode()?;
                let rest = position
                    .strip_prefix(tag)
                    .and_then(|rest| rest.strip_prefix('|'))
                    .ok_or(StoreError::InvalidCursor)?;
                split_time_order(rest)?;
                format!("{lower}{rest}")
            }
            None => format!("{partition}$"),
        };
        let limit = page.clamped_limit();
        self.read(move |txn, reads| {
            let index = txn.open_table(index).map_err(unavailable)?;
            let range = index
                .range::<&str>((
                    Bound::Included(lower.as_str()),
                    Bound::Excluded(upper.as_str()),
                ))
                .map_err(unavailable)?;
            let (entries, more) = take_page(range.rev(), limit)?;
            let items = values_by_key(txn, reads, ORDERS, &entries)?;
            let next = match entries.last() {
                Some((key, _)) if more => {
                    let rest = key.strip_prefix(&lower).ok_or(StoreError::InvalidCursor)?;
                    Some(Cursor::encode(&format!("{tag}|{rest}")))
                }
                _ => None,
            };
            Ok(Page { items, next })
        })
        .await
    }
}

impl BuyerOrderLister for EmbeddedOrderStore {
    async fn list_buyer_orders(
        &self,
        buyer: &BuyerHash,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        self.list_newest_first(BY_BUYER, buyer.to_string(), "b", page)
            .await
    }
}

impl ListedOrderLister for EmbeddedOrderStore {
    async fn list_orders_in(
        &self,
        listing: OrderListing,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let partition = crate::adapters::keys::listing_pk(listing);
        self.list_newest_first(BY_STATUS, partition, "s", page)
            .await
    }
}

impl PendingOrderLister for EmbeddedOrderStore {
    async fn list_pending_orders(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        self.list_time_index(&PENDING_ORDERS, created_before, page)
            .await
    }
}

/// The `pending` index: `NOTPAY` orders by creation time.
const PENDING_ORDERS: TimeIndex = TimeIndex {
    tag: "p",
    index: PENDING,
    values: ORDERS,
    check: |key| split_time_order(key).map(|_| ()),
};

impl ProductReader for EmbeddedOrderStore {
    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        self.read(|txn, reads| {
            let table = txn.open_table(PRODUCTS).map_err(unavailable)?;
            let mut products = Vec::new();
            for entry in table.iter().map_err(unavailable)? {
                let (_, value) = entry.map_err(unavailable)?;
                products.push(decode(value.value())?);
            }
            reads.add(products.len() as u64, 0.0);
            Ok(products)
        })
        .await
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        let id = id.to_owned();
        self.read(move |txn, reads| {
            let table = txn.open_table(PRODUCTS).map_err(unavailable)?;
            reads.add(1, 0.0);
            let found = table.get(id.as_str()).map_err(unavailable)?;
            found.map(|guard| decode(guard.value())).transpose()
        })
        .await
    }
}

impl ProductWriter for EmbeddedOrderStore {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        product
            .validate()
            .map_err(|err| StoreError::Invalid(err.to_string()))?;
        let product = product.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(PRODUCTS).map_err(unavailable)?;
            table
                .insert(product.id.as_str(), encode(&product)?.as_slice())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn remove_product(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(PRODUCTS).map_err(unavailable)?;
            let removed = table.remove(id.as_str()).map_err(unavailable)?;
            Ok(removed.is_some())
        })
        .await
    }
}

//! Orders in memory, persisted to an append-only log under the state directory.
//!
//! Every change appends the whole changed order as one JSON line to `orders.jsonl` before it
//! becomes visible, under the same lock, so the log's order is the order of changes. On open the
//! log is replayed (the last line of an order wins; a torn last line from a crash is skipped) and
//! compacted atomically (write to a temporary file, then rename). Lines are not fsynced: they
//! survive the process being killed, not the machine losing power.

use crate::error::SimError;
use crate::fsutil::{open_append, replace_private};
use crate::order::{CloseError, CodeUrl, Order, Payment, ResubmitError, ScanError, normalise};
use crate::random;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use time::OffsetDateTime;
use wxpay::models::NativePrepayRequest;

/// The order log's file name.
pub const ORDER_LOG_FILE: &str = "orders.jsonl";
/// A file locked (advisory, exclusive) while a simulator uses the state directory, so that two
/// simulators never write one log.
pub const LOCK_FILE: &str = "wxpay-sim.lock";
/// Length of a `code_url` token.
const TOKEN_LEN: usize = 16;

/// The change could not be written to disk; nothing changed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("order log write failed: {0}")]
pub struct PersistError(String);

/// Why a prepay was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PrepayError {
    /// Re-submission rules (§3.3).
    #[error("re-submission refused: {0:?}")]
    Resubmit(ResubmitError),
    /// Disk failure.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// Why a scan did not pay an order.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PayError {
    /// No order ever had this `code_url`.
    #[error("unknown code_url")]
    UnknownCode,
    /// The order cannot be paid through it.
    #[error("code_url refused: {0:?}")]
    Scan(ScanError),
    /// Disk failure.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// Why a close failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloseOrderError {
    /// No such order.
    #[error("order does not exist")]
    NotFound,
    /// The order is paid.
    #[error("order is paid")]
    Paid,
    /// Disk failure.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// Every order of the sandbox merchant.
pub struct OrderStore {
    path: PathBuf,
    inner: Mutex<Inner>,
    lock: Mutex<Option<File>>,
}

struct Inner {
    orders: HashMap<String, Order>,
    by_code: HashMap<String, String>,
    by_transaction: HashMap<String, String>,
    /// `out_trade_no`s in creation order.
    sequence: Vec<String>,
    log: File,
}

impl std::fmt::Debug for OrderStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl OrderStore {
    /// Replays and compacts the log in `dir` (creating both if absent). Blocking.
    pub fn open(dir: &Path) -> Result<Self, SimError> {
        std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
        let lock = lock_dir(dir)?;
        let path = dir.join(ORDER_LOG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(SimError::io(&path, e)),
        };
        let mut orders = HashMap::new();
        let mut sequence = Vec::new();
        let lines: Vec<&str> = text.split('\n').collect();
        let last = lines.len().saturating_sub(1);
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Order>(line) {
                Ok(order) => {
                    let key = order.out_trade_no().to_owned();
                    if orders.insert(key.clone(), order).is_none() {
                        sequence.push(key);
                    }
                }
                // Only the last line can be torn by a crash in the middle of a write.
                Err(_) if index == last => {
                    tracing::warn!(path = %path.display(), "skipping a torn last line of the order log");
                }
                Err(e) => {
                    return Err(SimError::OrderLog {
                        path,
                        reason: format!("line {}: {e}", index + 1),
                    });
                }
            }
        }
        let mut compacted = String::new();
        for key in &sequence {
            if let Some(order) = orders.get(key) {
                compacted.push_str(&to_line(order).map_err(|e| SimError::OrderLog {
                    path: path.clone(),
                    reason: e.0,
                })?);
            }
        }
        replace_private(&path, compacted.as_bytes())?;
        let log = open_append(&path)?;
        let mut inner = Inner {
            orders: HashMap::new(),
            by_code: HashMap::new(),
            by_transaction: HashMap::new(),
            sequence,
            log,
        };
        for (_, order) in orders {
            inner.index(&order);
            inner.orders.insert(order.out_trade_no().to_owned(), order);
        }
        Ok(Self {
            path,
            inner: Mutex::new(inner),
            lock: Mutex::new(Some(lock)),
        })
    }

    /// Releases the state directory's lock (on shutdown), so another simulator may open it.
    pub fn release(&self) {
        self.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates an order, or applies the re-submission rules to an existing one; returns the
    /// `code_url` to hand out. `request` must be validated; `requested_expiry` is its parsed
    /// `time_expire`.
    pub fn prepay(
        &self,
        request: NativePrepayRequest,
        requested_expiry: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<CodeUrl, PrepayError> {
        let request = normalise(request);
        let mut inner = self.lock();
        let token = inner.fresh_token();
        let (order, dropped) = match inner.orders.get(&request.out_trade_no) {
            None => (
                Order::new(request, requested_expiry, now, token),
                Vec::new(),
            ),
            Some(existing) => {
                let mut order = existing.clone();
                let dropped = order
                    .resubmit(&request, now, token)
                    .map_err(PrepayError::Resubmit)?;
                (order, dropped)
            }
        };
        inner.persist(&order)?;
        for token in dropped {
            inner.by_code.remove(&token);
        }
        let code = order.code.clone();
        inner.install(order);
        Ok(code)
    }

    /// Pays the order whose `code_url` token is `token`, as `openid`; returns the paid order.
    pub fn pay(&self, token: &str, openid: String, now: OffsetDateTime) -> Result<Order, PayError> {
        let mut inner = self.lock();
        let key = inner.by_code.get(token).ok_or(PayError::UnknownCode)?;
        let mut order = inner
            .orders
            .get(key)
            .cloned()
            .ok_or(PayError::UnknownCode)?;
        let transaction_id = loop {
            let id = random::transaction_id(now);
            if !inner.by_transaction.contains_key(&id) {
                break id;
            }
        };
        let payment = Payment {
            transaction_id,
            success_time: now,
            openid,
            bank_type: "OTHERS".to_owned(),
        };
        order.pay(token, now, payment).map_err(PayError::Scan)?;
        inner.persist(&order)?;
        inner.install(order.clone());
        Ok(order)
    }

    /// Closes an unpaid order (closing a closed one succeeds again).
    pub fn close(&self, out_trade_no: &str, now: OffsetDateTime) -> Result<(), CloseOrderError> {
        let mut inner = self.lock();
        let mut order = inner
            .orders
            .get(out_trade_no)
            .cloned()
            .ok_or(CloseOrderError::NotFound)?;
        match order.close(now) {
            Err(CloseError::Paid) => Err(CloseOrderError::Paid),
            Ok(false) => Ok(()),
            Ok(true) => {
                inner.persist(&order)?;
                inner.install(order);
                Ok(())
            }
        }
    }

    /// The order with this merchant order number.
    pub fn by_out_trade_no(&self, out_trade_no: &str) -> Option<Order> {
        self.lock().orders.get(out_trade_no).cloned()
    }

    /// The paid order with this transaction id.
    pub fn by_transaction_id(&self, transaction_id: &str) -> Option<Order> {
        let inner = self.lock();
        let key = inner.by_transaction.get(transaction_id)?;
        inner.orders.get(key).cloned()
    }

    /// Up to `limit` orders, newest first.
    pub fn newest(&self, limit: usize) -> Vec<Order> {
        let inner = self.lock();
        inner
            .sequence
            .iter()
            .rev()
            .filter_map(|key| inner.orders.get(key).cloned())
            .take(limit)
            .collect()
    }

    /// How many orders there are.
    pub fn len(&self) -> usize {
        self.lock().orders.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn fresh_token(&self) -> String {
        loop {
            let token = random::alphanumeric(TOKEN_LEN);
            if !self.by_code.contains_key(&token) {
                return token;
            }
        }
    }

    fn persist(&mut self, order: &Order) -> Result<(), PersistError> {
        let line = to_line(order)?;
        self.log
            .write_all(line.as_bytes())
            .map_err(|e| PersistError(e.to_string()))
    }

    fn index(&mut self, order: &Order) {
        let key = order.out_trade_no().to_owned();
        self.by_code.insert(order.code.token.clone(), key.clone());
        for token in &order.retired_codes {
            self.by_code.insert(token.clone(), key.clone());
        }
        if let Some(id) = order.transaction_id() {
            self.by_transaction.insert(id.to_owned(), key);
        }
    }

    fn install(&mut self, order: Order) {
        self.index(&order);
        let key = order.out_trade_no().to_owned();
        if self.orders.insert(key.clone(), order).is_none() {
            self.sequence.push(key);
        }
    }
}

/// Takes the directory's exclusive lock, or says another simulator holds it.
fn lock_dir(dir: &Path) -> Result<File, SimError> {
    let path = dir.join(LOCK_FILE);
    let file = open_append(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SimError::Sandbox {
            dir: dir.to_path_buf(),
            reason: "another wxpay-sim is using this state directory".to_owned(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(SimError::io(path, e)),
    }
}

fn to_line(order: &Order) -> Result<String, PersistError> {
    let mut line = serde_json::to_string(order).map_err(|e| PersistError(e.to_string()))?;
    line.push('\n');
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use wxpay::models::PrepayAmount;

    fn request(no: &str) -> NativePrepayRequest {
        NativePrepayRequest {
            appid: "wx1".into(),
            mchid: "1900000001".into(),
            description: "d".into(),
            out_trade_no: no.into(),
            time_expire: None,
            attach: None,
            notify_url: "https://example.com/n".into(),
            goods_tag: None,
            support_fapiao: None,
            amount: PrepayAmount {
                total: 1,
                currency: None,
            },
            detail: None,
            scene_info: None,
            settle_info: None,
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
    }

    #[test]
    fn orders_survive_reopening_with_their_codes_and_payments() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        let first = store.prepay(request("A00001"), None, now()).unwrap();
        let second = store.prepay(request("A00001"), None, now()).unwrap();
        store.prepay(request("B00001"), None, now()).unwrap();
        let paid = store
            .pay(&second.token, "o1".into(), now() + Duration::seconds(5))
            .unwrap();
        store.close("B00001", now()).unwrap();
        drop(store);

        let store = OrderStore::open(dir.path()).unwrap();
        assert_eq!(store.len(), 2);
        let order = store.by_out_trade_no("A00001").unwrap();
        assert_eq!(order, paid);
        let txid = paid.transaction_id().unwrap();
        assert_eq!(store.by_transaction_id(txid).unwrap(), paid);
        assert!(matches!(
            store.pay(&first.token, "o2".into(), now()),
            Err(PayError::Scan(ScanError::Paid))
        ));
        let newest: Vec<_> = store
            .newest(10)
            .iter()
            .map(|o| o.out_trade_no().to_owned())
            .collect();
        assert_eq!(newest, ["B00001", "A00001"]);
        // Compaction leaves one line per order.
        let log = std::fs::read_to_string(store.path()).unwrap();
        assert_eq!(log.lines().count(), 2);
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        store.prepay(request("A00001"), None, now()).unwrap();
        let path = store.path().to_owned();
        drop(store);
        let mut log = std::fs::read_to_string(&path).unwrap();
        log.push_str("{\"request\":{\"app");
        std::fs::write(&path, &log).unwrap();
        assert_eq!(OrderStore::open(dir.path()).unwrap().len(), 1);

        std::fs::write(&path, format!("garbage\n{log}\n")).unwrap();
        let err = OrderStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn a_state_directory_is_used_by_one_store_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = OrderStore::open(dir.path()).unwrap();
        let err = OrderStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("another wxpay-sim"), "{err}");
        first.release();
        OrderStore::open(dir.path()).unwrap();
    }

    #[test]
    fn unknown_codes_and_orders_are_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        assert!(matches!(
            store.pay("nope", "o".into(), now()),
            Err(PayError::UnknownCode)
        ));
        assert!(matches!(
            store.close("nope00", now()),
            Err(CloseOrderError::NotFound)
        ));
    }
}

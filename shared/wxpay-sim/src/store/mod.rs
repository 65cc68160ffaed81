//! Every order of the sandbox merchant and the rules that change them, kept in memory and, for a
//! simulator, persisted to an append-only log under the state directory ([`OrderStore::open`]).
//!
//! Every change is appended to the log (`orders.jsonl`, see the `log` module) before it becomes
//! visible, under the same lock, so the log's order is the order of changes.
//! [`OrderStore::in_memory`] keeps the same rules without a log, for tests and deterministic
//! simulations.

mod log;

pub use log::{LOCK_FILE, ORDER_LOG_FILE};

use crate::error::SimError;
use crate::faults::{ClosePaidAnswer, CloseUnknownAnswer, Faults};
use crate::ids;
use crate::order::{CloseError, CodeUrl, Order, Payment, ResubmitError, ScanError, normalise};
use crate::refund::{NewRefund, RefundError, RefundRecord};
use log::{OrderLog, lock_dir};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use time::OffsetDateTime;
use wxpay::models::NativePrepayRequest;
use wxpay::random::{self, OsRandom};
use wxpay::refund::{RefundRequest, RefundStatus};

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

/// Why a refund was not created.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefundStoreError {
    /// No paid order has this `transaction_id`, and no order this `out_trade_no`.
    #[error("no such order")]
    UnknownOrder,
    /// The `out_refund_no` was used before with other parameters.
    #[error("out_refund_no reused with other parameters")]
    Reused,
    /// The refund rules (§7.1).
    #[error("refund refused: {0:?}")]
    Rule(RefundError),
    /// Disk failure.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// A refund and its order, as they stand after a change.
#[derive(Debug, Clone)]
pub struct RefundOfOrder {
    /// The order, its refunds included.
    pub order: Order,
    /// The refund.
    pub refund: RefundRecord,
}

/// What WeChat Pay answers to a close, as decided by [`OrderStore::close_answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAnswer {
    /// 204 with an empty signed body.
    NoContent,
    /// 403 `ORDERPAID`: the order is paid.
    OrderPaid,
    /// 404 `ORDER_NOT_EXIST`: no order has this `out_trade_no`.
    OrderNotExist,
}

/// Every order of the sandbox merchant.
pub struct OrderStore {
    /// Where the log is; `None` in memory.
    path: Option<PathBuf>,
    inner: Mutex<Inner>,
    /// The state directory's lock until released; never one in memory.
    lock: Mutex<Option<File>>,
}

struct Inner {
    orders: HashMap<String, Order>,
    by_code: HashMap<String, String>,
    by_transaction: HashMap<String, String>,
    /// `out_refund_no` → `out_trade_no`.
    by_refund: HashMap<String, String>,
    /// `out_trade_no`s in creation order.
    sequence: Vec<String>,
    /// Where changes are written first; `None` in memory.
    log: Option<OrderLog>,
}

impl std::fmt::Debug for OrderStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl OrderStore {
    /// Locks the state directory `dir`, then replays and compacts its log (creating both if
    /// absent). Blocking.
    pub fn open(dir: &Path) -> Result<Self, SimError> {
        std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
        let lock = lock_dir(dir)?;
        let (log, orders) = OrderLog::open(dir)?;
        Ok(Self::with(orders, Some(log), Some(lock)))
    }

    /// An empty store for tests and deterministic simulations: the same rules, nothing written to
    /// disk, no directory lock. Its orders are gone when it is dropped.
    pub fn in_memory() -> Self {
        Self::with(Vec::new(), None, None)
    }

    /// A store holding `orders` (in creation order).
    fn with(orders: Vec<Order>, log: Option<OrderLog>, lock: Option<File>) -> Self {
        let path = log.as_ref().map(|log| log.path().to_path_buf());
        let mut inner = Inner {
            orders: HashMap::new(),
            by_code: HashMap::new(),
            by_transaction: HashMap::new(),
            by_refund: HashMap::new(),
            sequence: Vec::new(),
            log,
        };
        for order in orders {
            inner.install(order);
        }
        Self {
            path,
            inner: Mutex::new(inner),
            lock: Mutex::new(lock),
        }
    }

    /// Releases the state directory's lock (on shutdown), so another simulator may open it. Does
    /// nothing in memory, or when already released.
    pub fn release(&self) {
        self.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Where the log is: `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates an order, or applies the re-submission rules to an existing one; returns the
    /// `code_url` to hand out. `request` must be validated.
    pub fn prepay(
        &self,
        request: NativePrepayRequest,
        now: OffsetDateTime,
    ) -> Result<CodeUrl, PrepayError> {
        let request = normalise(request);
        let mut inner = self.lock();
        let token = inner.fresh_token();
        let (order, dropped) = match inner.orders.get(&request.out_trade_no) {
            None => (Order::new(request, now, token), Vec::new()),
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
            let id = ids::transaction_id(now);
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

    /// Closes the order `out_trade_no` and says what WeChat Pay answers: the one place of this
    /// rule. An unpaid order is closed ([`CloseAnswer::NoContent`], again on a closed one). A paid
    /// order stays paid and answers [`CloseAnswer::OrderPaid`], or `NoContent` when
    /// `faults.close_paid_answer` is `no_content`. No order: [`CloseAnswer::OrderNotExist`], or
    /// `NoContent` when `faults.close_unknown_answer` is `no_content`; none is created. Only
    /// closing an unpaid order writes to the log.
    pub fn close_answer(
        &self,
        out_trade_no: &str,
        now: OffsetDateTime,
        faults: &Faults,
    ) -> Result<CloseAnswer, PersistError> {
        let mut inner = self.lock();
        let Some(mut order) = inner.orders.get(out_trade_no).cloned() else {
            return Ok(match faults.close_unknown_answer {
                CloseUnknownAnswer::NotFound => CloseAnswer::OrderNotExist,
                CloseUnknownAnswer::NoContent => CloseAnswer::NoContent,
            });
        };
        match order.close(now) {
            Err(CloseError::Paid) => Ok(match faults.close_paid_answer {
                ClosePaidAnswer::OrderPaid => CloseAnswer::OrderPaid,
                ClosePaidAnswer::NoContent => CloseAnswer::NoContent,
            }),
            Ok(false) => Ok(CloseAnswer::NoContent),
            Ok(true) => {
                inner.persist(&order)?;
                inner.install(order);
                Ok(CloseAnswer::NoContent)
            }
        }
    }

    /// Refunds the order `request` names, or answers the refund already made under its
    /// `out_refund_no` when the parameters are the same (`Ok` with `created == false`). `request`
    /// must be validated. Returns the refund and whether it is new.
    pub fn refund(
        &self,
        request: RefundRequest,
        now: OffsetDateTime,
        new: NewRefund,
    ) -> Result<(RefundOfOrder, bool), RefundStoreError> {
        let mut inner = self.lock();
        if let Some(existing) = inner.refund_of(&request.out_refund_no) {
            return if existing.refund.request == request {
                Ok((existing, false))
            } else {
                Err(RefundStoreError::Reused)
            };
        }
        let key = match (&request.transaction_id, &request.out_trade_no) {
            (Some(id), _) => inner.by_transaction.get(id).cloned(),
            (None, Some(no)) => Some(no.clone()),
            (None, None) => None,
        };
        let mut order = key
            .and_then(|key| inner.orders.get(&key).cloned())
            .ok_or(RefundStoreError::UnknownOrder)?;
        let refund = order
            .refund(request, now, new)
            .map_err(RefundStoreError::Rule)?;
        inner.persist(&order)?;
        inner.install(order.clone());
        Ok((RefundOfOrder { order, refund }, true))
    }

    /// Moves the refund `out_refund_no` from `PROCESSING` to its outcome; returns it if it changed
    /// (so exactly one caller sends its notification).
    pub fn finish_refund(
        &self,
        out_refund_no: &str,
        now: OffsetDateTime,
    ) -> Result<Option<RefundOfOrder>, PersistError> {
        let mut inner = self.lock();
        let Some(RefundOfOrder { mut order, .. }) = inner.refund_of(out_refund_no) else {
            return Ok(None);
        };
        let Some(refund) = order
            .refunds
            .iter_mut()
            .find(|r| r.out_refund_no() == out_refund_no)
        else {
            return Ok(None);
        };
        if !refund.finish(now) {
            return Ok(None);
        }
        let refund = refund.clone();
        inner.persist(&order)?;
        inner.install(order.clone());
        Ok(Some(RefundOfOrder { order, refund }))
    }

    /// The refund with this merchant refund number, and its order.
    pub fn by_out_refund_no(&self, out_refund_no: &str) -> Option<RefundOfOrder> {
        self.lock().refund_of(out_refund_no)
    }

    /// The `out_refund_no`s of every refund still `PROCESSING`.
    pub fn processing_refunds(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .orders
            .values()
            .flat_map(|order| &order.refunds)
            .filter(|r| r.status == RefundStatus::Processing)
            .map(|r| r.out_refund_no().to_owned())
            .collect()
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

    /// Every order, in creation order (for the trade bills).
    pub fn all(&self) -> Vec<Order> {
        let inner = self.lock();
        inner
            .sequence
            .iter()
            .filter_map(|key| inner.orders.get(key).cloned())
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
            let token = random::alphanumeric(&OsRandom, TOKEN_LEN);
            if !self.by_code.contains_key(&token) {
                return token;
            }
        }
    }

    fn refund_of(&self, out_refund_no: &str) -> Option<RefundOfOrder> {
        let order = self.orders.get(self.by_refund.get(out_refund_no)?)?;
        let refund = order.refund_record(out_refund_no)?.clone();
        Some(RefundOfOrder {
            order: order.clone(),
            refund,
        })
    }

    /// Writes `order` to the log, if there is one.
    fn persist(&mut self, order: &Order) -> Result<(), PersistError> {
        match &mut self.log {
            Some(log) => log.append(order),
            None => Ok(()),
        }
    }

    fn index(&mut self, order: &Order) {
        let key = order.out_trade_no().to_owned();
        self.by_code.insert(order.code.token.clone(), key.clone());
        for token in &order.retired_codes {
            self.by_code.insert(token.clone(), key.clone());
        }
        for refund in &order.refunds {
            self.by_refund
                .insert(refund.out_refund_no().to_owned(), key.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderState;
    use time::Duration;

    fn request(no: &str) -> NativePrepayRequest {
        NativePrepayRequest::new("wx1", "1900000001", "d", no, "https://example.com/n", 1)
            .with_currency(None)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
    }

    #[test]
    fn orders_survive_reopening_with_their_codes_and_payments() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        let first = store.prepay(request("A00001"), now()).unwrap();
        let second = store.prepay(request("A00001"), now()).unwrap();
        store.prepay(request("B00001"), now()).unwrap();
        let paid = store
            .pay(&second.token, "o1".into(), now() + Duration::seconds(5))
            .unwrap();
        assert_eq!(
            store
                .close_answer("B00001", now(), &Faults::default())
                .unwrap(),
            CloseAnswer::NoContent
        );
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
        let log = std::fs::read_to_string(store.path().unwrap()).unwrap();
        assert_eq!(log.lines().count(), 2);
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        store.prepay(request("A00001"), now()).unwrap();
        let path = store.path().unwrap().to_owned();
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
    fn unknown_codes_are_reported_as_such() {
        let store = OrderStore::in_memory();
        assert!(matches!(
            store.pay("nope", "o".into(), now()),
            Err(PayError::UnknownCode)
        ));
    }

    fn faults(paid: ClosePaidAnswer, unknown: CloseUnknownAnswer) -> Faults {
        Faults {
            close_paid_answer: paid,
            close_unknown_answer: unknown,
            ..Faults::default()
        }
    }

    /// Every combination of the two close switches.
    fn every_close_switch() -> Vec<Faults> {
        let mut all = Vec::new();
        for paid in [ClosePaidAnswer::OrderPaid, ClosePaidAnswer::NoContent] {
            for unknown in [CloseUnknownAnswer::NotFound, CloseUnknownAnswer::NoContent] {
                all.push(faults(paid, unknown));
            }
        }
        all
    }

    #[test]
    fn an_in_memory_store_keeps_the_rules_and_writes_nothing() {
        let store = OrderStore::in_memory();
        assert!(store.path().is_none() && store.is_empty());
        let first = store.prepay(request("A00001"), now()).unwrap();
        let second = store.prepay(request("A00001"), now()).unwrap();
        assert!(matches!(
            store.pay(&first.token, "o1".into(), now()),
            Err(PayError::Scan(ScanError::Replaced))
        ));
        let paid = store.pay(&second.token, "o1".into(), now()).unwrap();
        assert_eq!(store.by_out_trade_no("A00001").unwrap(), paid);
        let defaults = Faults::default();
        assert_eq!(
            store.close_answer("A00001", now(), &defaults).unwrap(),
            CloseAnswer::OrderPaid
        );
        store.prepay(request("B00001"), now()).unwrap();
        assert_eq!(
            store.close_answer("B00001", now(), &defaults).unwrap(),
            CloseAnswer::NoContent
        );
        let closed = store.by_out_trade_no("B00001").unwrap();
        assert!(matches!(closed.state, OrderState::Closed { .. }));
        assert_eq!(
            store.close_answer("C00001", now(), &defaults).unwrap(),
            CloseAnswer::OrderNotExist
        );
        assert!(store.by_out_trade_no("C00001").is_none());
        assert_eq!(store.len(), 2);
        // Nothing to release; releasing is harmless.
        store.release();
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn close_answers_follow_the_switches_and_change_only_unpaid_orders() {
        for faults in every_close_switch() {
            let store = OrderStore::in_memory();
            let code = store.prepay(request("PAID01"), now()).unwrap();
            let paid = store.pay(&code.token, "o1".into(), now()).unwrap();
            store.prepay(request("OPEN01"), now()).unwrap();

            let expected = match faults.close_paid_answer {
                ClosePaidAnswer::OrderPaid => CloseAnswer::OrderPaid,
                ClosePaidAnswer::NoContent => CloseAnswer::NoContent,
            };
            let answer = store.close_answer("PAID01", now(), &faults).unwrap();
            assert_eq!(answer, expected, "{faults:?}");
            assert_eq!(store.by_out_trade_no("PAID01").unwrap(), paid);

            let expected = match faults.close_unknown_answer {
                CloseUnknownAnswer::NotFound => CloseAnswer::OrderNotExist,
                CloseUnknownAnswer::NoContent => CloseAnswer::NoContent,
            };
            let answer = store.close_answer("NONE01", now(), &faults).unwrap();
            assert_eq!(answer, expected, "{faults:?}");
            assert!(store.by_out_trade_no("NONE01").is_none());

            for _ in 0..2 {
                let answer = store.close_answer("OPEN01", now(), &faults).unwrap();
                assert_eq!(answer, CloseAnswer::NoContent, "{faults:?}");
            }
            let open = store.by_out_trade_no("OPEN01").unwrap();
            assert!(
                matches!(open.state, OrderState::Closed { .. }),
                "{faults:?}"
            );
            assert_eq!(store.len(), 2);
        }
    }

    #[test]
    fn only_closing_an_unpaid_order_is_written_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        let code = store.prepay(request("PAID01"), now()).unwrap();
        store.pay(&code.token, "o1".into(), now()).unwrap();
        store.prepay(request("OPEN01"), now()).unwrap();
        let lines = || {
            std::fs::read_to_string(store.path().unwrap())
                .unwrap()
                .lines()
                .count()
        };
        assert_eq!(lines(), 3);
        let lenient = faults(ClosePaidAnswer::NoContent, CloseUnknownAnswer::NoContent);
        store.close_answer("PAID01", now(), &lenient).unwrap();
        store.close_answer("NONE01", now(), &lenient).unwrap();
        assert_eq!(lines(), 3);
        store.close_answer("OPEN01", now(), &lenient).unwrap();
        store.close_answer("OPEN01", now(), &lenient).unwrap();
        assert_eq!(lines(), 4);
    }

    fn refund_of(
        store: &OrderStore,
        no: &str,
        refund: i64,
    ) -> Result<(RefundOfOrder, bool), RefundStoreError> {
        let order = store.by_out_trade_no("A00001").unwrap();
        let txid = order.transaction_id().unwrap().to_owned();
        store.refund(
            RefundRequest::of_transaction(txid, no, refund, 1),
            now(),
            NewRefund::platform(format!("50{no}"), crate::refund::RefundOutcome::Abnormal),
        )
    }

    #[test]
    fn refunds_are_kept_by_number_finished_once_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = OrderStore::open(dir.path()).unwrap();
        let code = store.prepay(request("A00001"), now()).unwrap();
        store.pay(&code.token, "o1".into(), now()).unwrap();
        let (first, created) = refund_of(&store, "R1", 1).unwrap();
        assert!(created);
        let (again, created) = refund_of(&store, "R1", 1).unwrap();
        assert!(!created);
        assert_eq!(again.refund, first.refund);
        assert!(matches!(
            refund_of(&store, "R1", 2),
            Err(RefundStoreError::Reused)
        ));
        assert!(matches!(
            refund_of(&store, "R2", 1),
            Err(RefundStoreError::Rule(RefundError::Exceeds))
        ));
        assert_eq!(store.processing_refunds(), ["R1"]);
        drop(store);

        let store = OrderStore::open(dir.path()).unwrap();
        assert_eq!(store.by_out_refund_no("R1").unwrap().refund, first.refund);
        let finished = store.finish_refund("R1", now()).unwrap().unwrap();
        assert_eq!(finished.refund.status, RefundStatus::Abnormal);
        assert!(store.finish_refund("R1", now()).unwrap().is_none());
        assert!(store.finish_refund("nope", now()).unwrap().is_none());
        assert!(store.processing_refunds().is_empty());
        drop(store);
        let store = OrderStore::open(dir.path()).unwrap();
        let kept = store.by_out_refund_no("R1").unwrap();
        assert_eq!(kept.refund.status, RefundStatus::Abnormal);
        assert!(matches!(
            store.refund(
                RefundRequest::of_transaction("4200000000000000000000000000", "R3", 1, 1),
                now(),
                NewRefund::platform("50".into(), crate::refund::RefundOutcome::Success),
            ),
            Err(RefundStoreError::UnknownOrder)
        ));
    }
}

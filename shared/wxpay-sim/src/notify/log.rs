//! The notification log served at `GET /sim/notifications`: every notification with every
//! attempt, its answer or error. Kept in memory (the newest 10 000), lost on restart.

use crate::config::SigningMode;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use time::OffsetDateTime;

/// Notifications kept in the log.
pub const LOG_CAPACITY: usize = 10_000;

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not acknowledged yet; more attempts will follow.
    Pending,
    /// A 2xx came back in time.
    Delivered,
    /// The retry ladder ran out.
    Failed,
}

/// What was sent in one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    /// The real, correctly signed notification.
    Delivery,
    /// A `WECHATPAY/SIGNTEST/` probe the merchant must refuse.
    SigntestProbe,
}

/// One request sent (or dropped) to the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// 1 for the first delivery, 2 for the first retry, …
    pub number: u32,
    /// Real notification or probe.
    pub kind: AttemptKind,
    /// Which of the concurrent copies (duplicate fault), from 1.
    pub copy: u32,
    /// When it was sent (simulator clock; written at `+08:00`).
    #[serde(serialize_with = "wxpay::time::wechat::serialize")]
    pub at: OffsetDateTime,
    /// Which key signed it.
    pub signed_with: SigningMode,
    /// How long the merchant took, in milliseconds.
    pub elapsed_ms: u64,
    /// The merchant's HTTP status, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The start of the merchant's answer body (at most 512 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Why there is no usable answer: timeout, connection refused, dropped by fault switch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether this attempt counts as acknowledged.
    pub acknowledged: bool,
}

/// One notification and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationRecord {
    /// Envelope id (the same on every attempt).
    pub id: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL` or `REFUND.CLOSED`.
    pub event_type: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// WeChat Pay order number.
    pub transaction_id: String,
    /// The merchant's refund number, for a refund notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_refund_no: Option<String>,
    /// Where it goes.
    pub notify_url: String,
    /// When it was created (simulator clock; written at `+08:00`).
    #[serde(serialize_with = "wxpay::time::wechat::serialize")]
    pub created_at: OffsetDateTime,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// When the next attempt is due, while pending and waiting.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wxpay::time::wechat::option::serialize"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<Attempt>,
}

/// The log, bounded to [`LOG_CAPACITY`] notifications.
#[derive(Debug, Default)]
pub struct NotificationLog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<String, NotificationRecord>,
    order: VecDeque<String>,
}

impl NotificationLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a new notification, forgetting the oldest beyond capacity.
    pub fn insert(&self, record: NotificationRecord) {
        let mut inner = self.lock();
        inner.order.push_back(record.id.clone());
        inner.records.insert(record.id.clone(), record);
        while inner.order.len() > LOG_CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.records.remove(&old);
            }
        }
    }

    /// Changes the record `id`, if it is still kept.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut NotificationRecord)) {
        if let Some(record) = self.lock().records.get_mut(id) {
            change(record);
        }
    }

    /// Records newest first, optionally only those of one order; at most `limit`.
    pub fn newest(&self, out_trade_no: Option<&str>, limit: usize) -> Vec<NotificationRecord> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .rev()
            .filter_map(|id| inner.records.get(id))
            .filter(|r| out_trade_no.is_none_or(|no| r.out_trade_no == no))
            .take(limit)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, no: &str) -> NotificationRecord {
        NotificationRecord {
            id: id.into(),
            event_type: "TRANSACTION.SUCCESS".into(),
            out_trade_no: no.into(),
            transaction_id: "4200".into(),
            out_refund_no: None,
            notify_url: "http://127.0.0.1/n".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            status: DeliveryStatus::Pending,
            next_attempt_at: None,
            attempts: Vec::new(),
        }
    }

    #[test]
    fn the_log_is_bounded_and_lists_newest_first() {
        let log = NotificationLog::default();
        for i in 0..LOG_CAPACITY + 5 {
            log.insert(record(
                &i.to_string(),
                if i % 2 == 0 { "even" } else { "odd" },
            ));
        }
        let newest = log.newest(None, 3);
        let ids: Vec<_> = newest.iter().map(|r| r.id.as_str()).collect();
        let last = LOG_CAPACITY + 4;
        assert_eq!(
            ids,
            [
                last.to_string(),
                (last - 1).to_string(),
                (last - 2).to_string()
            ]
        );
        assert!(
            log.newest(Some("odd"), 5)
                .iter()
                .all(|r| r.out_trade_no == "odd")
        );
        log.update("4", |r| r.status = DeliveryStatus::Delivered);
        assert_eq!(log.newest(None, usize::MAX).len(), LOG_CAPACITY);
    }
}

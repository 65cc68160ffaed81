//! Capturing what a function logs, for its tests (feature `testing`).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tracing::subscriber::DefaultGuard;

/// What [`LogCapture::start`] returns: the capture stops when it is dropped.
pub struct CaptureGuard {
    _logs: DefaultGuard,
    _metrics: emf::testing::Capture,
}

/// The JSON log lines, and the metric records ([`emf`]), written on this thread while the guard
/// of [`LogCapture::start`] lives.
#[derive(Clone)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>, emf::testing::Records);

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Starts capturing `INFO` and above, as JSON (the functions' format on Lambda), and the
    /// metric records, until the returned guard is dropped.
    pub fn start() -> (Self, CaptureGuard) {
        let metrics = emf::testing::Capture::start();
        let logs = Self(Arc::default(), metrics.records());
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let guard = CaptureGuard {
            _logs: tracing::subscriber::set_default(subscriber),
            _metrics: metrics,
        };
        (logs, guard)
    }

    /// Each event's `fields` (its message and fields), in order; a line that is not JSON reads as
    /// `null`.
    pub fn events(&self) -> Vec<Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line)
                    .map(|event| event["fields"].clone())
                    .unwrap_or(Value::Null)
            })
            .collect()
    }

    /// The metric records ([`emf`] documents) that carry the metric `name`, in order.
    pub fn metrics(&self, name: &str) -> Vec<Value> {
        self.1
            .parsed()
            .into_iter()
            .filter(|document| !document[name].is_null())
            .collect()
    }

    /// The sum of the values of metric `name` over the records that carry it, restricted to those
    /// whose dimension `dimension` has the given value when one is given.
    pub fn metric_total(&self, name: &str, dimension: Option<(&str, &str)>) -> u64 {
        self.metrics(name)
            .iter()
            .filter(|document| dimension.is_none_or(|(key, value)| document[key] == value))
            .filter_map(|document| document[name].as_u64())
            .sum()
    }

    /// The events whose field `name` is `value` (e.g. `("message", "sweep done")`).
    pub fn with_field(&self, name: &str, value: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|fields| fields[name] == value)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_events_and_their_fields_while_the_guard_lives() {
        let (logs, guard) = LogCapture::start();
        tracing::info!(alert = "a1", "first");
        tracing::debug!("below the level");
        tracing::warn!(out_trade_no = "N1", "second");
        drop(guard);
        tracing::info!("after the guard");
        let events = logs.events();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0]["message"], "first");
        assert_eq!(logs.with_field("alert", "a1").len(), 1);
        assert_eq!(
            logs.with_field("message", "second")[0]["out_trade_no"],
            "N1"
        );
        assert!(logs.with_field("message", "after the guard").is_empty());
    }

    #[test]
    fn captures_metric_records_and_sums_them() {
        let (logs, guard) = LogCapture::start();
        emf::Record::by("Outcome", "settled")
            .count("Notifications", 1)
            .emit();
        emf::Record::by("Outcome", "duplicate")
            .count("Notifications", 1)
            .emit();
        emf::Record::by("Outcome", "settled")
            .count("Notifications", 1)
            .emit();
        drop(guard);
        assert_eq!(logs.metrics("Notifications").len(), 3);
        assert_eq!(logs.metric_total("Notifications", None), 3);
        assert_eq!(
            logs.metric_total("Notifications", Some(("Outcome", "settled"))),
            2
        );
        assert!(logs.metrics("OrdersPlaced").is_empty());
    }
}

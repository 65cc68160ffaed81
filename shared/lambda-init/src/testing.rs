//! Capturing what a function logs, for its tests (feature `testing`).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tracing::subscriber::DefaultGuard;

/// The JSON log lines written on this thread while the guard of [`LogCapture::start`] lives.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

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
    /// Starts capturing `INFO` and above, as JSON (the functions' format on Lambda), until the
    /// returned guard is dropped.
    pub fn start() -> (Self, DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
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
}

//! Capturing the records emitted on one thread, for tests (feature `testing`).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

thread_local! {
    static CAPTURING: RefCell<Option<Records>> = const { RefCell::new(None) };
}

/// The lines of the records a [`Capture`] kept; readable after it ended.
#[derive(Debug, Clone, Default)]
pub struct Records(Arc<Mutex<Vec<String>>>);

impl Records {
    /// The records, parsed, in order.
    pub fn parsed(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    fn push(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
    }
}

/// Keeps the records [`Record::emit`](crate::Record::emit) writes on this thread (instead of
/// writing them out) until it is dropped.
#[derive(Debug)]
pub struct Capture {
    records: Records,
}

impl Capture {
    /// Starts capturing on this thread (a capture already running there stops).
    pub fn start() -> Self {
        let records = Records::default();
        CAPTURING.with(|capturing| *capturing.borrow_mut() = Some(records.clone()));
        Self { records }
    }

    /// What it keeps.
    pub fn records(&self) -> Records {
        self.records.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.with(|capturing| *capturing.borrow_mut() = None);
    }
}

/// Keeps `line` if this thread is capturing; whether it did.
pub(crate) fn captured(line: &str) -> bool {
    CAPTURING.with(|capturing| match capturing.borrow().as_ref() {
        Some(records) => {
            records.push(line);
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    #[test]
    fn captures_this_threads_records_while_it_lives() {
        Record::new().count("Before", 1).emit();
        let capture = Capture::start();
        let records = capture.records();
        Record::new().count("OrdersPlaced", 1).emit();
        std::thread::spawn(|| Record::new().count("OtherThread", 1).emit())
            .join()
            .unwrap();
        Record::by("Reason", "body")
            .count("NotificationsRefused", 1)
            .emit();
        drop(capture);
        Record::new().count("After", 1).emit();
        let parsed = records.parsed();
        assert_eq!(parsed.len(), 2, "{parsed:?}");
        assert_eq!(parsed[0]["OrdersPlaced"], 1);
        assert_eq!(parsed[1]["Reason"], "body");
    }
}

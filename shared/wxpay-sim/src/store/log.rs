//! The order log on disk: `orders.jsonl` under the state directory, and the directory's lock.
//!
//! Every change appends the whole changed order as one JSON line. On open the log is replayed
//! (the last line of an order wins; a torn last line from a crash is skipped) and compacted
//! atomically (write to a temporary file, then rename). Lines are not fsynced: they survive the
//! process being killed, not the machine losing power.

use super::PersistError;
use crate::error::SimError;
use crate::fsutil::{open_append, replace_private};
use crate::order::Order;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The order log's file name.
pub const ORDER_LOG_FILE: &str = "orders.jsonl";
/// A file locked (advisory, exclusive) while a simulator uses the state directory, so that two
/// simulators never write one log.
pub const LOCK_FILE: &str = "wxpay-sim.lock";

/// `orders.jsonl`, open for appending.
pub(super) struct OrderLog {
    path: PathBuf,
    file: File,
}

impl OrderLog {
    /// Replays and compacts the log in `dir` (creating it if absent); returns the log and the
    /// orders it holds, in creation order. Blocking.
    pub(super) fn open(dir: &Path) -> Result<(Self, Vec<Order>), SimError> {
        let path = dir.join(ORDER_LOG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(SimError::io(&path, e)),
        };
        let orders = replay(&path, &text)?;
        let mut compacted = String::new();
        for order in &orders {
            compacted.push_str(&to_line(order).map_err(|e| SimError::OrderLog {
                path: path.clone(),
                reason: e.0,
            })?);
        }
        replace_private(&path, compacted.as_bytes())?;
        let file = open_append(&path)?;
        Ok((Self { path, file }, orders))
    }

    /// Where the log is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `order` as one line.
    pub(super) fn append(&mut self, order: &Order) -> Result<(), PersistError> {
        let line = to_line(order)?;
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| PersistError(e.to_string()))
    }
}

/// The last version of every order in `text`, in the order of their first lines.
fn replay(path: &Path, text: &str) -> Result<Vec<Order>, SimError> {
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
                    path: path.to_path_buf(),
                    reason: format!("line {}: {e}", index + 1),
                });
            }
        }
    }
    Ok(sequence
        .iter()
        .filter_map(|key| orders.remove(key))
        .collect())
}

/// Takes the directory's exclusive lock, or says another simulator holds it.
pub(super) fn lock_dir(dir: &Path) -> Result<File, SimError> {
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

//! The functions' CloudWatch metrics, as embedded-metric-format (EMF) lines.
//!
//! A [`Record`] is one EMF document: a few metric values sharing at most one dimension. It is
//! rendered to one JSON line ([`Record::to_json`]) and written to stdout as is, once the process
//! has turned that on ([`write_to_stdout`]: the Lambda functions, at start-up); CloudWatch Logs
//! extracts the metrics from the function's log stream. No API call, no buffering: a record is
//! out when [`Record::emit`] returns. Elsewhere (the local stack, tests) records go nowhere, except
//! into a [`testing::Capture`] on the emitting thread.
//!
//! Dimension values are `&'static str`, so only names fixed in the code (an outcome, a reason)
//! can become dimensions, never an order number: CloudWatch bills per dimension combination.
//!
//! The namespace is set once per process ([`set_namespace`], from `METRICS_NAMESPACE`), else
//! [`DEFAULT_NAMESPACE`].

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

#[cfg(feature = "testing")]
pub mod testing;

/// The namespace when none is set.
pub const DEFAULT_NAMESPACE: &str = "WxPayNative";

static NAMESPACE: OnceLock<String> = OnceLock::new();
static TO_STDOUT: AtomicBool = AtomicBool::new(false);

/// Writes every record of this process to stdout from now on (a Lambda function's log stream).
pub fn write_to_stdout() {
    TO_STDOUT.store(true, Ordering::Relaxed);
}

/// Sets this process's namespace (first call wins; blank is ignored, keeping the default).
pub fn set_namespace(namespace: &str) {
    let namespace = namespace.trim();
    if !namespace.is_empty() {
        let _ = NAMESPACE.set(namespace.to_owned());
    }
}

/// The namespace records are emitted under.
pub fn namespace() -> &'static str {
    NAMESPACE.get().map_or(DEFAULT_NAMESPACE, String::as_str)
}

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of events.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
    /// A duration in seconds.
    Seconds,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
        }
    }
}

/// One EMF document: metric values that share at most one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    dimension: Option<(&'static str, &'static str)>,
    values: Vec<(&'static str, Unit, u64)>,
}

impl Record {
    /// A record without dimensions.
    pub fn new() -> Self {
        Self {
            dimension: None,
            values: Vec::new(),
        }
    }

    /// A record whose metrics carry the dimension `name` = `value`, and are also published
    /// without it (the total over every value, which alarms watch).
    pub fn by(name: &'static str, value: &'static str) -> Self {
        Self {
            dimension: Some((name, value)),
            values: Vec::new(),
        }
    }

    /// Adds a count.
    pub fn count(self, name: &'static str, value: u64) -> Self {
        self.with(name, Unit::Count, value)
    }

    /// Adds a duration in milliseconds.
    pub fn milliseconds(self, name: &'static str, value: u64) -> Self {
        self.with(name, Unit::Milliseconds, value)
    }

    /// Adds a duration in seconds.
    pub fn seconds(self, name: &'static str, value: u64) -> Self {
        self.with(name, Unit::Seconds, value)
    }

    fn with(mut self, name: &'static str, unit: Unit, value: u64) -> Self {
        self.values.push((name, unit, value));
        self
    }

    /// The EMF document under `namespace`, stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn to_json(&self, namespace: &str, timestamp_ms: u64) -> Value {
        let dimensions = match self.dimension {
            Some((name, _)) => json!([[name], []]),
            None => json!([[]]),
        };
        let metrics: Vec<Value> = self
            .values
            .iter()
            .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let mut document = Map::new();
        document.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": dimensions,
                    "Metrics": metrics,
                }],
            }),
        );
        if let Some((name, value)) = self.dimension {
            document.insert(name.to_owned(), Value::from(value));
        }
        for (name, _, value) in &self.values {
            document.insert((*name).to_owned(), Value::from(*value));
        }
        Value::Object(document)
    }

    /// Writes the record now, under this process's [`namespace`]. A record without values
    /// writes nothing.
    pub fn emit(&self) {
        if self.values.is_empty() {
            return;
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            });
        let mut line = self.to_json(namespace(), now_ms).to_string();
        #[cfg(feature = "testing")]
        if testing::captured(&line) {
            return;
        }
        if TO_STDOUT.load(Ordering::Relaxed) {
            line.push('\n');
            // One write under the lock, so a line never interleaves with a log line. A metric
            // that cannot be written is lost, like a log line; it never fails the request.
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }
}

impl Default for Record {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dimensionless_record_is_one_emf_document() {
        let line = Record::new()
            .count("SweepExamined", 7)
            .seconds("OldestPendingAge", 95)
            .to_json("WxPayNative/shop", 1_700_000_000_123)
            .to_string();
        let doc: Value = serde_json::from_str(&line).unwrap();
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_123_u64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "WxPayNative/shop");
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(
            directive["Metrics"],
            json!([
                { "Name": "SweepExamined", "Unit": "Count" },
                { "Name": "OldestPendingAge", "Unit": "Seconds" },
            ])
        );
        assert_eq!(doc["SweepExamined"], 7);
        assert_eq!(doc["OldestPendingAge"], 95);
        assert_eq!(aws["CloudWatchMetrics"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_dimension_is_a_top_level_member_and_the_total_is_published_too() {
        let doc = Record::by("Reason", "signature")
            .count("NotificationsRefused", 1)
            .to_json("WxPayNative", 5);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([["Reason"], []]));
        assert_eq!(doc["Reason"], "signature");
        assert_eq!(doc["NotificationsRefused"], 1);
        // Every dimension key named in the directive is a member of the root, as EMF requires.
        for set in directive["Dimensions"].as_array().unwrap() {
            for key in set.as_array().unwrap() {
                assert!(doc[key.as_str().unwrap()].is_string(), "{key}");
            }
        }
    }

    #[test]
    fn units_are_cloudwatch_names() {
        let doc = Record::new()
            .milliseconds("SettleDelay", 1500)
            .to_json("n", 0);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
        assert_eq!(doc["SettleDelay"], 1500);
    }

    #[test]
    fn the_namespace_defaults_and_ignores_blank() {
        set_namespace("  ");
        assert_eq!(namespace(), DEFAULT_NAMESPACE);
    }
}

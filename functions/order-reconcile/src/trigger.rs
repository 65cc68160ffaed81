//! What may start a sweep.

use serde::Deserialize;
use serde_json::Value;

/// An EventBridge rule's scheduled event (`"detail-type": "Scheduled Event"`).
#[derive(Debug, Clone, Deserialize)]
pub struct ScheduledEvent {
    /// Always `Scheduled Event`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `aws.events`.
    pub source: String,
    /// When the rule fired.
    #[serde(default)]
    pub time: Option<String>,
}

/// The `Input` of an EventBridge Scheduler schedule (the template sends
/// `{"source": "order-reconcile-schedule"}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// Who asked for the sweep.
    pub source: String,
}

/// A recognised trigger.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// EventBridge rule.
    Scheduled(ScheduledEvent),
    /// EventBridge Scheduler with a custom input.
    Input(ScheduleInput),
}

/// The payload is neither shape.
#[derive(Debug, thiserror::Error)]
#[error("unrecognised trigger: expected an EventBridge scheduled event or {{\"source\": \"…\"}}")]
pub struct TriggerError;

impl Trigger {
    /// Recognises `payload`.
    pub fn parse(payload: &Value) -> Result<Self, TriggerError> {
        if let Ok(event) = ScheduledEvent::deserialize(payload)
            && event.detail_type == "Scheduled Event"
        {
            return Ok(Self::Scheduled(event));
        }
        ScheduleInput::deserialize(payload)
            .map(Self::Input)
            .map_err(|_| TriggerError)
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Scheduled(event) => format!("eventbridge:{}", event.source),
            Self::Input(input) => format!("scheduler:{}", input.source),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_eventbridge_rules_scheduled_event_is_accepted() {
        let event = json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2024-05-01T00:00:00Z",
            "region": "ap-east-1",
            "resources": ["arn:aws:events:ap-east-1:123456789012:rule/order-reconcile"],
            "detail": {}
        });
        let trigger = Trigger::parse(&event).unwrap();
        let Trigger::Scheduled(scheduled) = &trigger else {
            panic!("expected a scheduled event, got {trigger:?}");
        };
        assert_eq!(scheduled.time.as_deref(), Some("2024-05-01T00:00:00Z"));
        assert_eq!(trigger.describe(), "eventbridge:aws.events");
        // `time` is optional.
        let trigger =
            Trigger::parse(&json!({"detail-type": "Scheduled Event", "source": "aws.events"}))
                .unwrap();
        assert!(matches!(
            trigger,
            Trigger::Scheduled(ScheduledEvent { time: None, .. })
        ));
    }

    #[test]
    fn the_schedulers_input_is_accepted() {
        let trigger = Trigger::parse(&json!({"source": "order-reconcile-schedule"})).unwrap();
        assert!(matches!(trigger, Trigger::Input(_)));
        assert_eq!(trigger.describe(), "scheduler:order-reconcile-schedule");
    }

    #[test]
    fn anything_else_is_refused() {
        for payload in [
            json!({"detail-type": "Something", "source": "aws.events"}),
            json!({"detail-type": "Something"}),
            json!({"detail-type": "Scheduled Event"}),
            json!({"source": "order-reconcile-schedule", "extra": true}),
            json!({"source": 7}),
            json!({}),
            json!([]),
            json!("sweep"),
            Value::Null,
        ] {
            let error = Trigger::parse(&payload).unwrap_err();
            assert!(
                error.to_string().contains("unrecognised trigger"),
                "{payload}"
            );
        }
    }
}

//! The scheduled sweep: accepts EventBridge's scheduled-event envelope or an EventBridge Scheduler
//! (ScheduleV2) `Input`, runs [`orders::services::reconcile_pending`] with a deadline taken from
//! the invocation's remaining time, logs and returns the counts.

pub mod sweep;
pub mod trigger;

pub use sweep::{SweepDeps, SweepSummary, run_sweep};
pub use trigger::{Trigger, TriggerError};

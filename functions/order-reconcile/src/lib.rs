//! The scheduled sweep: accepts EventBridge's scheduled-event envelope or an EventBridge Scheduler
//! (ScheduleV2) `Input`, runs [`orders::services::sweep_refunds`] and
//! [`orders::services::sweep_pending`] with a deadline taken from the invocation's remaining time,
//! logs and returns their reports ([`SweepRun`]). A failed invocation is a [`SweepError`],
//! reported to Lambda with a typed `errorType`.

pub mod metrics;
pub mod sweep;
pub mod trigger;

pub use sweep::{Deps, SweepError, SweepRun, run_sweep};
pub use trigger::{Trigger, TriggerError};

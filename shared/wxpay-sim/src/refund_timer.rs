//! Refunds leaving `PROCESSING`: every new refund gets a timer (the `refund_delay_ms` switch, or
//! [`DEFAULT_REFUND_DELAY`] divided by the time scale); when it fires, the store moves the refund
//! to the outcome it was created with and its `REFUND.*` notification is queued. The store
//! reports a change only once, so a refund is notified once whoever finishes it.
//!
//! Timers are not persisted: on start-up, refunds still `PROCESSING` get a fresh default timer.

use crate::faults::{DEFAULT_REFUND_DELAY, Faults};
use crate::refund::MIN_INTERVAL;
use crate::state::SimState;
use std::sync::Arc;
use std::time::Duration;

/// How long a refund created under `faults` stays `PROCESSING`.
pub fn refund_delay(state: &SimState, faults: &Faults) -> Duration {
    match faults.refund_delay_ms {
        Some(ms) => Duration::from_millis(ms),
        None => state.notifier.scale(DEFAULT_REFUND_DELAY),
    }
}

/// The shortest time between two refunds of one order, divided by the time scale.
pub fn min_interval(state: &SimState) -> time::Duration {
    let real = Duration::try_from(MIN_INTERVAL).unwrap_or(Duration::from_secs(60));
    let scaled = state.notifier.scale(real);
    time::Duration::try_from(scaled).unwrap_or(MIN_INTERVAL)
}

/// Starts the timer of the new refund `out_refund_no`, created under `faults`.
pub fn start_timer(state: &SimState, out_refund_no: &str, faults: &Faults) {
    state
        .notifier
        .finish_later(out_refund_no.to_owned(), refund_delay(state, faults));
}

/// Starts a default timer for every refund still `PROCESSING` (after a restart).
pub fn resume(state: &SimState) {
    let delay = refund_delay(state, &Faults::default());
    for out_refund_no in state.store.processing_refunds() {
        state.notifier.finish_later(out_refund_no, delay);
    }
}

/// Waits `after`, then finishes the refund `out_refund_no` and notifies it.
pub async fn finish_after(state: Arc<SimState>, out_refund_no: String, after: Duration) {
    tokio::time::sleep(after).await;
    let now = state.now();
    match state.store.finish_refund(&out_refund_no, now) {
        Ok(Some(finished)) => {
            let status = finished.refund.status.as_str().to_owned();
            match state
                .notifier
                .schedule_refund(&state.sandbox.apiv3_key, &finished, now)
            {
                Ok(id) => tracing::info!(%out_refund_no, %status, %id, "refund finished"),
                Err(e) => tracing::error!(%out_refund_no, error = %e, "refund not notified"),
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(%out_refund_no, error = %e, "refund finish not saved"),
    }
}

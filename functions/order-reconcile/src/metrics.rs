//! What one sweep run counts ([`emf`] records): two lines per run, one for the pending orders and
//! one for the open refunds, written every run (zeros included, so a missing datapoint means no
//! sweep ran).

use emf::Record;

use crate::sweep::SweepRun;

/// Emits the run's metrics.
pub fn emit(run: &SweepRun) {
    let orders = &run.orders;
    Record::new()
        .count("SweepListed", orders.listed)
        .count("SweepExamined", orders.examined)
        .count("SweepSettled", orders.settled + orders.paid_after_close)
        .count("SweepClosed", orders.closed + orders.closed_never_prepaid)
        .count("SweepFailed", orders.failed + orders.throttled)
        .count("SweepAlerts", orders.alerts)
        .count("StalePending", orders.stale_pending)
        .seconds("OldestPendingAge", orders.oldest_pending_secs)
        .emit();
    let refunds = &run.refunds;
    Record::new()
        .count("RefundSweepListed", refunds.listed)
        .count("RefundSweepFinished", refunds.finished)
        .count("RefundSweepUnanswered", refunds.unanswered)
        .count("RefundSweepFailed", refunds.failed)
        .count("RefundSweepAlerts", refunds.alerts)
        .emit();
}

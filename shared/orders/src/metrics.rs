//! The metrics the services emit ([`emf`] records): what needs a person, and refunds by state.
//! Names are the template's contract (its alarms and dashboard); docs/OPERATIONS.md lists them.

use emf::Record;

use crate::domain::RefundState;

/// A payment or refund that needs a person. Each is logged at `ERROR` with `alert` = its
/// [`as_str`](Self::as_str), and counted once by [`raise`](Self::raise) in
/// `PaymentsNeedingAttention` or `RefundsNeedingAttention` with that name as `Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// Paid at WeChat Pay after the order was closed here (settled with `paidAfterClose`).
    PaidAfterClose,
    /// A second transaction for a paid order.
    DoublePayment,
    /// A genuine transaction that does not match its order (evidence kept).
    TransactionRefused,
    /// A refund that could not reach the payer (`ABNORMAL`).
    RefundAbnormal,
    /// A refund WeChat Pay reports that we never asked for.
    ExternalRefund,
    /// A refund report that contradicts what we hold.
    RefundConflict,
    /// A genuine refund notification refused (evidence kept).
    RefundRefused,
    /// WeChat Pay holds no refund it accepted.
    RefundMissing,
    /// WeChat Pay reports a refund we had released as refused.
    RefundReportedAfterRejection,
    /// A late payment could not be refunded automatically.
    LatePaymentRefundRefused,
    /// WeChat Pay answered a refund status this service does not know.
    RefundUnknownStatus,
}

impl Attention {
    /// The `alert` log field's value, and the metric's `Reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaidAfterClose => "paid_after_close",
            Self::DoublePayment => "double_payment",
            Self::TransactionRefused => "transaction_refused",
            Self::RefundAbnormal => "refund_abnormal",
            Self::ExternalRefund => "external_refund",
            Self::RefundConflict => "refund_conflict",
            Self::RefundRefused => "refund_refused",
            Self::RefundMissing => "refund_missing",
            Self::RefundReportedAfterRejection => "refund_reported_after_rejection",
            Self::LatePaymentRefundRefused => "late_payment_refund_refused",
            Self::RefundUnknownStatus => "refund_unknown_status",
        }
    }

    /// The metric it counts in.
    pub fn metric(self) -> &'static str {
        match self {
            Self::PaidAfterClose | Self::DoublePayment | Self::TransactionRefused => {
                "PaymentsNeedingAttention"
            }
            _ => "RefundsNeedingAttention",
        }
    }

    /// Counts one occurrence (next to its `alert` log line).
    pub fn raise(self) {
        Record::by("Reason", self.as_str())
            .count(self.metric(), 1)
            .emit();
    }
}

/// Counts a refund whose state was recorded now (asked for, answered, reported or released), by
/// `State`.
pub fn refund_recorded(state: RefundState) {
    Record::by("State", state.as_str())
        .count("RefundsRecorded", 1)
        .emit();
}

#[cfg(test)]
mod tests {
    use super::*;
    use emf::testing::Capture;

    const ALL: [Attention; 11] = [
        Attention::PaidAfterClose,
        Attention::DoublePayment,
        Attention::TransactionRefused,
        Attention::RefundAbnormal,
        Attention::ExternalRefund,
        Attention::RefundConflict,
        Attention::RefundRefused,
        Attention::RefundMissing,
        Attention::RefundReportedAfterRejection,
        Attention::LatePaymentRefundRefused,
        Attention::RefundUnknownStatus,
    ];

    #[test]
    fn each_attention_counts_once_under_its_alert_name_in_its_family() {
        let capture = Capture::start();
        for attention in ALL {
            attention.raise();
        }
        let records = capture.records().parsed();
        assert_eq!(records.len(), ALL.len());
        let mut payments = 0;
        for (attention, record) in ALL.iter().zip(&records) {
            assert_eq!(record["Reason"], attention.as_str());
            let metric = if attention.as_str().contains("refund") {
                "RefundsNeedingAttention"
            } else {
                payments += 1;
                "PaymentsNeedingAttention"
            };
            assert_eq!(record[metric], 1, "{record}");
        }
        assert_eq!(payments, 3, "paid after close, double payment, refused");
    }

    #[test]
    fn refunds_are_counted_by_their_stored_state() {
        let capture = Capture::start();
        refund_recorded(RefundState::Abnormal);
        let records = capture.records().parsed();
        assert_eq!(records[0]["State"], "ABNORMAL");
        assert_eq!(records[0]["RefundsRecorded"], 1);
    }
}

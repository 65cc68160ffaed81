//! What pay-notify counts ([`emf`] records): every notification by `Outcome`, refusals by
//! `Reason`, and how long after the payment an order was settled.

use emf::Record;
use time::OffsetDateTime;

/// What became of one notification (the `Outcome` of the `Notifications` metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A payment settled an order now.
    Settled,
    /// A payment already settled by this transaction (a redelivery).
    Duplicate,
    /// A payment of a closed or already paid order, recorded (it also raises an alert).
    Recorded,
    /// A refund notification applied.
    RefundApplied,
    /// WeChat Pay's `WECHATPAY/SIGNTEST` signature probe, refused as it should be.
    Probe,
    /// Refused as not genuine, malformed or wrong for us (see [`Refusal`]).
    Refused,
    /// Not recorded for a reason of ours (store, certificates, deadline): WeChat Pay retries.
    RetryLater,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Settled => "settled",
            Self::Duplicate => "duplicate",
            Self::Recorded => "recorded",
            Self::RefundApplied => "refund_applied",
            Self::Probe => "probe",
            Self::Refused => "refused",
            Self::RetryLater => "retry_later",
        }
    }

    /// Counts one notification with this outcome.
    pub fn count(self) {
        Record::by("Outcome", self.as_str())
            .count("Notifications", 1)
            .emit();
    }
}

/// Why a notification was refused (the `Reason` of `NotificationsRefused`, whose total the
/// verification-failure alarm watches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The body could not be read (e.g. over the limit).
    Body,
    /// The signature or its headers (timestamp window, serial) were refused.
    Signature,
    /// Verified, but not a notification we can decrypt and read.
    Malformed,
    /// A genuine payment that does not match its order.
    Mismatch,
    /// A genuine refund notification that is wrong for us.
    RefundMismatch,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::Body => "body",
            Self::Signature => "signature",
            Self::Malformed => "malformed",
            Self::Mismatch => "mismatch",
            Self::RefundMismatch => "refund_mismatch",
        }
    }

    /// Counts one refusal (and the notification as [`Outcome::Refused`]).
    pub fn count(self) {
        Outcome::Refused.count();
        Record::by("Reason", self.as_str())
            .count("NotificationsRefused", 1)
            .emit();
    }
}

/// Records `SettleDelay`: from WeChat Pay's `success_time` to `settled_at`, in milliseconds
/// (nothing when the transaction had no `success_time`; 0 if the clocks disagree).
pub fn settle_delay(success_time: Option<OffsetDateTime>, settled_at: OffsetDateTime) {
    if let Some(paid) = success_time {
        let millis = u64::try_from((settled_at - paid).whole_milliseconds()).unwrap_or(0);
        Record::new().milliseconds("SettleDelay", millis).emit();
    }
}

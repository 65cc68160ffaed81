//! Refund storage: reserving a refund against the order's totals, applying what WeChat Pay
//! reports, and the index of refunds in flight. Each change writes the order and the refund
//! together, conditionally on both as read, so racing requests and reports apply once.

use std::future::Future;

use time::OffsetDateTime;

use super::page::{Page, PageRequest};
use super::store::StoreError;
use crate::domain::refund::{RefundAsk, RefundRefusal, RefundReport};
use crate::domain::{Order, OrderNo, Refund, RefundNo, RefundState};

/// Result of [`RefundRequester::ask_refund`].
// Short-lived and matched at once: boxing would only add an allocation per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskOutcome {
    /// Reserved now: the order with its totals, and the new `SUBMITTING` refund.
    Reserved {
        /// The order as written.
        order: Order,
        /// The refund as written.
        refund: Refund,
    },
    /// The idempotency key was used on this order before: the refund it made (nothing written).
    Existing(Refund),
    /// Refused by the rules (nothing written).
    Refused {
        /// The order as read.
        order: Order,
        /// Why.
        why: RefundRefusal,
    },
    /// No such order.
    NotFound,
}

/// Result of [`RefundRecorder::apply_refund_report`].
// Short-lived and matched at once: boxing would only add an allocation per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Applied now to a refund we asked for.
    Applied {
        /// The order as written.
        order: Order,
        /// The refund as written.
        refund: Refund,
        /// Its state before.
        before: RefundState,
    },
    /// A refund we never asked for, recorded now as `EXTERNAL`.
    RecordedExternal {
        /// The order as written.
        order: Order,
        /// The refund as written.
        refund: Refund,
    },
    /// Nothing new: nothing written.
    Unchanged(Refund),
    /// The report contradicts the refund we hold: nothing written (an alert).
    Conflict(Refund),
    /// The order is unknown here: nothing written (the caller keeps evidence).
    OrderNotFound,
}

/// Result of [`RefundRequester::reject_refund`].
// Short-lived and matched at once: boxing would only add an allocation per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectOutcome {
    /// `SUBMITTING → REJECTED` now, its amount released.
    Rejected {
        /// The order as written.
        order: Order,
        /// The refund as written.
        refund: Refund,
    },
    /// No longer `SUBMITTING`: nothing written.
    NotSubmitting(Refund),
    /// No such refund.
    NotFound,
}

/// Asks for refunds, and releases the ones WeChat Pay refused.
pub trait RefundRequester: Send + Sync {
    /// Applies [`refund::ask`](crate::domain::refund::ask) to the order as it is, writing the order,
    /// the new refund and its idempotency key (if any) in one conditional write.
    fn ask_refund(
        &self,
        order_no: &OrderNo,
        ask: &RefundAsk,
    ) -> impl Future<Output = Result<AskOutcome, StoreError>> + Send;

    /// Applies [`refund::reject`](crate::domain::refund::reject): only once WeChat Pay confirmed
    /// it holds no refund by that number.
    fn reject_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        failure: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<RejectOutcome, StoreError>> + Send;
}

/// Applies what WeChat Pay reports of refunds (answers, queries, notifications).
pub trait RefundRecorder: Send + Sync {
    /// Applies [`refund::report`](crate::domain::refund::report) to the refund, or
    /// [`refund::record_external`](crate::domain::refund::record_external) if we never asked for
    /// it, with one conditional write of the order and the refund.
    fn apply_refund_report(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
        report: &RefundReport,
    ) -> impl Future<Output = Result<ReportOutcome, StoreError>> + Send;
}

/// Reads refunds.
pub trait RefundReader: Send + Sync {
    /// One refund of an order.
    fn get_refund(
        &self,
        order_no: &OrderNo,
        out_refund_no: &RefundNo,
    ) -> impl Future<Output = Result<Option<Refund>, StoreError>> + Send;

    /// Every refund of an order, by number.
    fn refunds_of(
        &self,
        order_no: &OrderNo,
    ) -> impl Future<Output = Result<Vec<Refund>, StoreError>> + Send;
}

/// Lists refunds in flight (`SUBMITTING`, `PROCESSING`), reading only those (a sparse index).
pub trait OpenRefundLister: Send + Sync {
    /// Open refunds created strictly before `created_before`, paged.
    fn list_open_refunds(
        &self,
        created_before: OffsetDateTime,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Refund>, StoreError>> + Send;
}

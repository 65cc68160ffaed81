//! Trade bills (对账单, §8): produced from the simulator's own ledger for any past day (China
//! Standard Time) with activity, and served through WeChat Pay's two steps
//! (`GET /v3/bill/tradebill`, then a signed GET of a short-lived `download_url`).
//!
//! What the bill holds, and which details are assumptions (§8 confirms only the layout: header,
//! backticked detail rows, summary header and row; amounts in yuan; the SHA-1 of the uncompressed
//! file):
//! - a payment row (交易状态 `SUCCESS`) for each order paid that day, at its `success_time`;
//! - a refund row (交易状态 `REFUND`) for each refund that became `SUCCESS` that day, at that
//!   moment, carrying the original payment's `transaction_id` and `out_trade_no` and the order's
//!   total (订单金额); refunds that end `ABNORMAL` or `CLOSED` are not in any bill (assumption);
//! - a payment refunded later stays a payment row in its own day's bill (a bill is a record of
//!   the day, not of the order's state now);
//! - the fee (手续费) is the configured rate (default 0.60%, [`crate::SimConfig::fee_rate_bp`])
//!   of the amount, in yuan with five decimals, rounded half up to 0.00001 yuan; a refund row's fee
//!   is the negative fee of the refunded amount (assumption: WeChat Pay's rounding is not
//!   published);
//! - columns as in [`wxpay::bill::columns`], `\r\n` line endings, no byte order mark; line breaks
//!   in a description or `attach` become spaces (assumption);
//! - no vouchers: 代金券金额 and 充值券退款金额 are always 0.00, 申请退款金额 equals 退款金额.

mod desk;
mod render;

pub use desk::{BillDesk, DOWNLOAD_VALIDITY, DownloadFile};
pub use render::{fee_millifen, trade_bill};

//! Trade bills (对账单, §8 of the protocol reference): the answer of `GET /v3/bill/tradebill`, the
//! checks of the downloaded file ([`unpack`]), and its parser ([`parse_trade_bill`]). The calls
//! themselves are [`crate::Client::trade_bill`] and [`crate::Client::download_bill`].
//!
//! Confirmed by §8: the two steps (a signed, verified answer with `hash_type`, `hash_value` and
//! `download_url`; then a signed GET of `download_url` whose answer is not signed); `hash_value` is
//! the lowercase hex SHA-1 of the uncompressed file; `tar_type=GZIP`; `bill_date` within the last
//! three months; the file layout (see [`parse_trade_bill`]); amounts in yuan. From WeChat Pay's
//! error tables as quoted by SDKs and merchants (not in §8): 400 `STATEMENT_CREATING` (账单生成中)
//! before the bill exists and 400 `NO_STATEMENT_EXIST` (账单文件不存在) for a day without one.
//! The column names and number formats are assumptions (see [`columns`] and [`amount`]).

pub mod amount;
pub mod columns;
mod download;
mod parse;

pub use download::{sha1_hex, unpack};
pub use parse::{
    BillParseError, BillProblem, BillRefund, BillRow, BillRowKind, BillSummary, TradeBill,
    parse_trade_bill,
};

use crate::client::ClientError;
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

/// Path of the trade bill request.
pub const TRADE_BILL_PATH: &str = "/v3/bill/tradebill";
/// Path of the download URLs WeChat Pay hands out.
pub const DOWNLOAD_PATH: &str = "/v3/billdownload/file";
/// The only `hash_type` WeChat Pay uses.
pub const SHA1: &str = "SHA1";
/// Error code: the bill is being generated (before about 10:00 on the next day).
pub const STATEMENT_CREATING: &str = "STATEMENT_CREATING";
/// Error code: there is no bill for the day (no trade or refund that day).
pub const NO_STATEMENT_EXIST: &str = "NO_STATEMENT_EXIST";
/// Largest download the client reads (compressed): 64 MiB.
pub const MAX_DOWNLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Largest bill the client decompresses: 512 MiB.
pub const MAX_BILL_BYTES: usize = 512 * 1024 * 1024;

/// The signed answer of `GET /v3/bill/tradebill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeBillAnswer {
    /// `SHA1`.
    pub hash_type: String,
    /// Hex SHA-1 of the uncompressed bill.
    pub hash_value: String,
    /// Where to download it, with a short-lived token (a signed GET).
    pub download_url: String,
}

impl TradeBillAnswer {
    /// The answer is usable: `SHA1`, a 40-digit hex hash, an absolute URL.
    pub fn check(&self) -> Result<url::Url, BillError> {
        if self.hash_type != SHA1 {
            return Err(BillError::InvalidAnswer(format!(
                "hash_type {:?} is not SHA1",
                self.hash_type
            )));
        }
        if self.hash_value.len() != 40 || !self.hash_value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BillError::InvalidAnswer(
                "hash_value is not 40 hex digits".to_owned(),
            ));
        }
        url::Url::parse(&self.download_url)
            .map_err(|e| BillError::InvalidAnswer(format!("download_url: {e}")))
    }
}

/// `yyyy-MM-dd`, the form of `bill_date`.
pub fn format_bill_date(date: Date) -> Result<String, BillError> {
    date.format(format_description!("[year]-[month]-[day]"))
        .map_err(|e| BillError::InvalidAnswer(format!("bill_date: {e}")))
}

/// Parses a `bill_date` (`yyyy-MM-dd`).
pub fn parse_bill_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// Why a bill could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// The call failed (transport, verification, or an error answer other than the two below).
    #[error(transparent)]
    Client(ClientError),
    /// 400 `STATEMENT_CREATING`: the bill is not generated yet; ask again later.
    #[error("the bill is not ready yet (STATEMENT_CREATING): {0}")]
    NotReady(String),
    /// 400 `NO_STATEMENT_EXIST`: WeChat Pay has no bill for the day (nothing happened that day).
    #[error("there is no bill for that day (NO_STATEMENT_EXIST): {0}")]
    NoStatement(String),
    /// The verified answer is not usable, or its `download_url` is not on the configured host.
    #[error("unusable trade bill answer: {0}")]
    InvalidAnswer(String),
    /// The downloaded file's SHA-1 is not the `hash_value` of the signed answer: refused.
    #[error("bill hash mismatch: the answer says {expected}, the file is {actual}")]
    HashMismatch {
        /// `hash_value` of the answer.
        expected: String,
        /// SHA-1 of the uncompressed file.
        actual: String,
    },
    /// The download or the decompressed bill is larger than allowed.
    #[error("bill larger than {0} bytes")]
    TooLarge(usize),
    /// The download is not a gzip stream (or a damaged one).
    #[error("bill is not valid gzip: {0}")]
    NotGzip(String),
    /// The bill is not UTF-8 text.
    #[error("bill is not UTF-8 text")]
    NotUtf8,
}

impl BillError {
    /// Whether trying again later (a new `trade_bill`, then a new download) may succeed: the
    /// client's retryable failures, a bill not ready yet, and a damaged download (hash mismatch,
    /// broken gzip).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Client(e) => e.is_retryable(),
            Self::NotReady(_) | Self::HashMismatch { .. } | Self::NotGzip(_) => true,
            Self::NoStatement(_) | Self::InvalidAnswer(_) | Self::TooLarge(_) | Self::NotUtf8 => {
                false
            }
        }
    }
}

impl From<ClientError> for BillError {
    /// WeChat Pay's two answers before a bill exists become [`BillError::NotReady`] and
    /// [`BillError::NoStatement`]; everything else stays a [`ClientError`].
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Api { code, message, .. } if code == STATEMENT_CREATING => {
                Self::NotReady(message)
            }
            ClientError::Api { code, message, .. } if code == NO_STATEMENT_EXIST => {
                Self::NoStatement(message)
            }
            other => Self::Client(other),
        }
    }
}

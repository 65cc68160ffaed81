//! The trade bill parser: text in, typed rows and a checked summary out.
//!
//! Confirmed by §8 of the protocol reference: a header row, detail rows with every field prefixed
//! by a backtick, a summary header and a summary row, comma-separated, amounts in yuan.
//! Assumptions (from WeChat Pay's SDK tests and merchants' fixtures, not from §8): the column
//! names ([`super::columns`]); `\r\n` or `\n` line endings; an optional UTF-8 byte order mark;
//! `SUCCESS` rows are payments and `REFUND` rows refunds; times are China Standard Time; the
//! summary's count is the number of detail rows and its amounts are the sums of the columns of
//! the same name.
//!
//! Fields are separated by `` ,` `` (a comma, then the next field's backtick), so a description
//! with commas, or with backticks not after a comma, reads right. A description containing
//! `` ,` `` splits into more fields than the header has: the surplus is given back to the
//! description (商品名称), the only column of free text a customer can influence; the merchant's
//! own `attach` (商户数据包) must not contain `` ,` ``. A field cannot contain a line break.

use super::amount::{self, AmountError};
use super::columns as col;
use std::collections::BTreeMap;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// A parsed trade bill whose summary agrees with its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBill {
    /// The detail rows, in the bill's order.
    pub rows: Vec<BillRow>,
    /// The summary row.
    pub summary: BillSummary,
}

/// Payment or refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillRowKind {
    /// 交易状态 `SUCCESS`: a payment.
    Payment,
    /// 交易状态 `REFUND`: a refund of the payment the row names.
    Refund(BillRefund),
}

/// What a refund row adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRefund {
    /// 微信退款单号.
    pub refund_id: String,
    /// 商户退款单号.
    pub out_refund_no: String,
    /// 退款类型 (`ORIGINAL`, …).
    pub refund_type: String,
    /// 退款状态 (`SUCCESS`, …).
    pub refund_status: String,
}

/// One detail row. Amounts are in fen, the fee in thousandths of a fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    /// Its line in the file (1-based).
    pub line: usize,
    /// Payment or refund.
    pub kind: BillRowKind,
    /// 交易时间, at `+08:00`.
    pub time: OffsetDateTime,
    /// 微信订单号.
    pub transaction_id: String,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 应结订单金额 (0 on a refund row).
    pub settlement_total: i64,
    /// 代金券金额.
    pub coupon: i64,
    /// 退款金额 (0 on a payment row).
    pub refund: i64,
    /// 充值券退款金额.
    pub recharge_coupon_refund: i64,
    /// 订单金额.
    pub order_total: i64,
    /// 申请退款金额.
    pub requested_refund: i64,
    /// 手续费, thousandths of a fen (negative on a refund row).
    pub fee: i64,
    /// 费率, basis points (60 = 0.60%).
    pub fee_rate: u32,
    /// 商品名称.
    pub description: String,
    /// 商户数据包.
    pub attach: String,
    /// Every other column, by its name in the header (appid, mchid, openid, trade type, bank,
    /// currency, …).
    pub other: BTreeMap<String, String>,
}

/// The summary row. Amounts in fen, the fee in thousandths of a fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillSummary {
    /// Its line in the file.
    pub line: usize,
    /// 总交易单数.
    pub count: u64,
    /// 应结订单总金额.
    pub settlement_total: i64,
    /// 退款总金额.
    pub refund: i64,
    /// 充值券退款总金额.
    pub recharge_coupon_refund: i64,
    /// 手续费总金额.
    pub fee: i64,
    /// 订单总金额.
    pub order_total: i64,
    /// 申请退款总金额.
    pub requested_refund: i64,
}

/// A malformed bill: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trade bill, line {line}: {problem}")]
pub struct BillParseError {
    /// The line (1-based; one past the last line when something is missing at the end).
    pub line: usize,
    /// What is wrong.
    pub problem: BillProblem,
}

/// What is wrong with a bill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillProblem {
    /// No header row.
    #[error("no header row")]
    Empty,
    /// A column the parser needs is not in the header.
    #[error("the header has no column {0}")]
    MissingColumn(&'static str),
    /// Fewer (or, in the summary, more) fields than the header has columns.
    #[error("{found} fields where the header has {expected}")]
    FieldCount {
        /// Columns in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A data row whose first field has no backtick.
    #[error("the row does not start with a backtick")]
    MissingBacktick,
    /// An amount, fee, rate or count that cannot be read.
    #[error("column {column}: {error}")]
    Number {
        /// The column.
        column: &'static str,
        /// Why.
        error: AmountError,
    },
    /// 交易时间 is not `yyyy-MM-dd HH:mm:ss`.
    #[error("column 交易时间: {0:?} is not yyyy-MM-dd HH:mm:ss")]
    Time(String),
    /// 交易状态 is neither `SUCCESS` nor `REFUND`.
    #[error("column 交易状态: unknown trade status {0:?}")]
    UnknownStatus(String),
    /// A refund row without its refund number.
    #[error("a refund row with no {0}")]
    MissingRefundNumber(&'static str),
    /// An empty line among the detail rows.
    #[error("an empty line among the detail rows")]
    EmptyLine,
    /// The bill ends before its summary header and row.
    #[error("the summary rows are missing: the bill is cut short")]
    MissingSummary,
    /// The summary disagrees with the rows.
    #[error("the summary's {column} is {summary}, the rows add up to {rows}")]
    SummaryMismatch {
        /// The summary column.
        column: &'static str,
        /// What the summary says.
        summary: String,
        /// What the rows add up to.
        rows: String,
    },
    /// A sum too large for 64 bits.
    #[error("the sum of column {0} overflows")]
    Overflow(&'static str),
    /// Text after the summary row.
    #[error("text after the summary row")]
    TrailingData,
}

/// The detail columns the parser reads; the others go to [`BillRow::other`].
const DETAIL_COLUMNS: [&str; 18] = [
    col::TIME,
    col::TRANSACTION_ID,
    col::OUT_TRADE_NO,
    col::TRADE_STATUS,
    col::SETTLEMENT_TOTAL,
    col::COUPON,
    col::REFUND_ID,
    col::OUT_REFUND_NO,
    col::REFUND,
    col::RECHARGE_COUPON_REFUND,
    col::REFUND_TYPE,
    col::REFUND_STATUS,
    col::DESCRIPTION,
    col::ATTACH,
    col::FEE,
    col::FEE_RATE,
    col::ORDER_TOTAL,
    col::REQUESTED_REFUND,
];

/// The UTF-8 byte order mark some spreadsheet-minded exports start with.
const BOM: char = '\u{feff}';

/// Parses a trade bill (`bill_type=ALL`) and checks its summary against its rows.
pub fn parse_trade_bill(text: &str) -> Result<TradeBill, BillParseError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .peekable();
    let (_, header) = lines
        .next()
        .filter(|(_, line)| !line.is_empty())
        .ok_or(BillParseError {
            line: 1,
            problem: BillProblem::Empty,
        })?;
    let header = Header::new(header);
    header
        .require(&DETAIL_COLUMNS)
        .map_err(|problem| BillParseError { line: 1, problem })?;
    let mut rows = Vec::new();
    let mut last = 1;
    let summary_header = loop {
        let Some((number, line)) = lines.next() else {
            return Err(BillParseError {
                line: last + 1,
                problem: BillProblem::MissingSummary,
            });
        };
        last = number;
        let at = |problem| BillParseError {
            line: number,
            problem,
        };
        if line.starts_with(col::SUM_COUNT) {
            let summary_header = Header::new(line);
            summary_header.require(&col::SUMMARY).map_err(at)?;
            break summary_header;
        }
        if line.is_empty() {
            // Blank lines at the very end mean the summary is missing, not an empty row.
            let problem = if lines.clone().all(|(_, rest)| rest.is_empty()) {
                BillProblem::MissingSummary
            } else {
                BillProblem::EmptyLine
            };
            return Err(at(problem));
        }
        rows.push(header.row(number, line).map_err(at)?);
    };
    let (number, line) =
        lines
            .next()
            .filter(|(_, line)| !line.is_empty())
            .ok_or(BillParseError {
                line: last + 1,
                problem: BillProblem::MissingSummary,
            })?;
    let at = |problem| BillParseError {
        line: number,
        problem,
    };
    let summary = summary_header.summary(number, line).map_err(at)?;
    if let Some((extra, _)) = lines.find(|(_, line)| !line.is_empty()) {
        return Err(BillParseError {
            line: extra,
            problem: BillProblem::TrailingData,
        });
    }
    check_totals(&rows, &summary).map_err(at)?;
    Ok(TradeBill { rows, summary })
}

/// A header row: column names and where they are.
struct Header {
    names: Vec<String>,
}

impl Header {
    fn new(line: &str) -> Self {
        let names = line
            .split(',')
            .map(|name| name.trim_start_matches('`').trim().to_owned())
            .collect();
        Self { names }
    }

    /// Every one of `columns` is in the header.
    fn require(&self, columns: &[&'static str]) -> Result<(), BillProblem> {
        columns.iter().try_for_each(|c| self.index(c).map(drop))
    }

    fn index(&self, name: &'static str) -> Result<usize, BillProblem> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or(BillProblem::MissingColumn(name))
    }

    /// The fields of a data row, by column name. A surplus of fields goes to `free_text`.
    fn fields<'a>(
        &'a self,
        line: &'a str,
        free_text: Option<usize>,
    ) -> Result<Fields<'a>, BillProblem> {
        let rest = line.strip_prefix('`').ok_or(BillProblem::MissingBacktick)?;
        let mut values: Vec<String> = rest.split(",`").map(str::to_owned).collect();
        let expected = self.names.len();
        let count_error = |found| BillProblem::FieldCount { expected, found };
        if values.len() < expected {
            return Err(count_error(values.len()));
        }
        if values.len() > expected {
            let at = free_text.ok_or_else(|| count_error(values.len()))?;
            let surplus = values.len() - expected;
            let merged = values
                .drain(at..=at + surplus)
                .collect::<Vec<_>>()
                .join(",`");
            values.insert(at, merged);
        }
        Ok(Fields {
            header: self,
            values,
        })
    }

    fn row(&self, line_number: usize, line: &str) -> Result<BillRow, BillProblem> {
        let fields = self.fields(line, Some(self.index(col::DESCRIPTION)?))?;
        let kind = match fields.text(col::TRADE_STATUS)? {
            "SUCCESS" => BillRowKind::Payment,
            "REFUND" => BillRowKind::Refund(BillRefund {
                refund_id: fields.number(col::REFUND_ID)?,
                out_refund_no: fields.number(col::OUT_REFUND_NO)?,
                refund_type: fields.text(col::REFUND_TYPE)?.to_owned(),
                refund_status: fields.text(col::REFUND_STATUS)?.to_owned(),
            }),
            other => return Err(BillProblem::UnknownStatus(other.to_owned())),
        };
        let time = fields.text(col::TIME)?;
        let time = PrimitiveDateTime::parse(
            time,
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        )
        .map_err(|_| BillProblem::Time(time.to_owned()))?
        .assume_offset(crate::time::CST);
        let other = self
            .names
            .iter()
            .zip(&fields.values)
            .filter(|(name, _)| !DETAIL_COLUMNS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Ok(BillRow {
            line: line_number,
            kind,
            time,
            transaction_id: fields.text(col::TRANSACTION_ID)?.to_owned(),
            out_trade_no: fields.text(col::OUT_TRADE_NO)?.to_owned(),
            settlement_total: fields.yuan(col::SETTLEMENT_TOTAL)?,
            coupon: fields.yuan(col::COUPON)?,
            refund: fields.yuan(col::REFUND)?,
            recharge_coupon_refund: fields.yuan(col::RECHARGE_COUPON_REFUND)?,
            order_total: fields.yuan(col::ORDER_TOTAL)?,
            requested_refund: fields.yuan(col::REQUESTED_REFUND)?,
            fee: fields.fee(col::FEE)?,
            fee_rate: fields.parsed(col::FEE_RATE, amount::parse_rate)?,
            description: fields.text(col::DESCRIPTION)?.to_owned(),
            attach: fields.text(col::ATTACH)?.to_owned(),
            other,
        })
    }

    fn summary(&self, line_number: usize, line: &str) -> Result<BillSummary, BillProblem> {
        let fields = self.fields(line, None)?;
        Ok(BillSummary {
            line: line_number,
            count: fields.parsed(col::SUM_COUNT, amount::parse_count)?,
            settlement_total: fields.yuan(col::SUM_SETTLEMENT_TOTAL)?,
            refund: fields.yuan(col::SUM_REFUND)?,
            recharge_coupon_refund: fields.yuan(col::SUM_RECHARGE_COUPON_REFUND)?,
            fee: fields.fee(col::SUM_FEE)?,
            order_total: fields.yuan(col::SUM_ORDER_TOTAL)?,
            requested_refund: fields.yuan(col::SUM_REQUESTED_REFUND)?,
        })
    }
}

/// A data row's fields, looked up by column name.
struct Fields<'a> {
    header: &'a Header,
    values: Vec<String>,
}

impl Fields<'_> {
    fn text(&self, column: &'static str) -> Result<&str, BillProblem> {
        let index = self.header.index(column)?;
        Ok(self.values.get(index).map_or("", String::as_str))
    }

    /// A refund number: present, and not the `0` of a payment row.
    fn number(&self, column: &'static str) -> Result<String, BillProblem> {
        match self.text(column)? {
            "" | "0" => Err(BillProblem::MissingRefundNumber(column)),
            value => Ok(value.to_owned()),
        }
    }

    fn parsed<T>(
        &self,
        column: &'static str,
        parse: fn(&str) -> Result<T, AmountError>,
    ) -> Result<T, BillProblem> {
        parse(self.text(column)?).map_err(|error| BillProblem::Number { column, error })
    }

    fn yuan(&self, column: &'static str) -> Result<i64, BillProblem> {
        self.parsed(column, amount::parse_yuan)
    }

    fn fee(&self, column: &'static str) -> Result<i64, BillProblem> {
        self.parsed(column, amount::parse_fee)
    }
}

/// A summary column, the row field it sums, what the summary says, and how to show it.
type SumCheck = (&'static str, fn(&BillRow) -> i64, i64, fn(i64) -> String);

/// The summary's totals against the rows' sums.
fn check_totals(rows: &[BillRow], summary: &BillSummary) -> Result<(), BillProblem> {
    let count = u64::try_from(rows.len()).map_err(|_| BillProblem::Overflow(col::SUM_COUNT))?;
    if count != summary.count {
        return Err(BillProblem::SummaryMismatch {
            column: col::SUM_COUNT,
            summary: summary.count.to_string(),
            rows: count.to_string(),
        });
    }
    let sums: [SumCheck; 6] = [
        (
            col::SUM_SETTLEMENT_TOTAL,
            |r| r.settlement_total,
            summary.settlement_total,
            amount::format_yuan,
        ),
        (
            col::SUM_REFUND,
            |r| r.refund,
            summary.refund,
            amount::format_yuan,
        ),
        (
            col::SUM_RECHARGE_COUPON_REFUND,
            |r| r.recharge_coupon_refund,
            summary.recharge_coupon_refund,
            amount::format_yuan,
        ),
        (col::SUM_FEE, |r| r.fee, summary.fee, amount::format_fee),
        (
            col::SUM_ORDER_TOTAL,
            |r| r.order_total,
            summary.order_total,
            amount::format_yuan,
        ),
        (
            col::SUM_REQUESTED_REFUND,
            |r| r.requested_refund,
            summary.requested_refund,
            amount::format_yuan,
        ),
    ];
    for (column, value, stated, format) in sums {
        let total = rows
            .iter()
            .try_fold(0i64, |sum, row| sum.checked_add(value(row)))
            .ok_or(BillProblem::Overflow(column))?;
        if total != stated {
            return Err(BillProblem::SummaryMismatch {
                column,
                summary: format(stated),
                rows: format(total),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

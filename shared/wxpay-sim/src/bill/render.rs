//! The trade bill text of one day, from the ledger (see the module docs of [`crate::bill`]).

use crate::order::{Order, OrderState};
use crate::refund::RefundRecord;
use std::collections::HashMap;
use time::macros::format_description;
use time::{Date, OffsetDateTime};
use wxpay::bill::amount::{format_fee, format_rate, format_yuan};
use wxpay::bill::columns as col;
use wxpay::refund::RefundStatus;
use wxpay::time::CST;

/// WeChat Pay's fee on `fen` at `basis_points`, in thousandths of a fen (10⁻⁵ yuan), rounded half
/// up; negative amounts (refunds) give the negative fee.
pub fn fee_millifen(fen: i64, basis_points: u32) -> i64 {
    // fen × bp / 10 000 yuan-per-fen… = fen × bp / 10 thousandths of a fen.
    let magnitude = (i128::from(fen.unsigned_abs()) * i128::from(basis_points) + 5) / 10;
    let magnitude = i64::try_from(magnitude).unwrap_or(i64::MAX);
    if fen < 0 { -magnitude } else { magnitude }
}

/// The `bill_type=ALL` trade bill of `day` (China Standard Time) over `orders`, at `fee_rate_bp`;
/// `None` when nothing happened that day (WeChat Pay has no bill then).
pub fn trade_bill(orders: &[Order], day: Date, fee_rate_bp: u32) -> Option<String> {
    let on_day = |at: OffsetDateTime| at.to_offset(CST).date() == day;
    let mut rows: Vec<Row> = Vec::new();
    for order in orders {
        let OrderState::Success(payment) = &order.state else {
            continue;
        };
        if on_day(payment.success_time) {
            rows.push(Row::payment(order, fee_rate_bp));
        }
        for refund in &order.refunds {
            if refund.status == RefundStatus::Success && refund.finished_at.is_some_and(on_day) {
                rows.push(Row::refund(order, refund, fee_rate_bp));
            }
        }
    }
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| (a.at, &a.sort_key).cmp(&(b.at, &b.sort_key)));
    let mut lines = vec![col::DETAIL.join(",")];
    lines.extend(rows.iter().map(Row::line));
    lines.push(col::SUMMARY.join(","));
    lines.push(summary(&rows));
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    Some(text)
}

/// One detail row: its fields by column, and the numbers the summary adds up.
struct Row {
    at: OffsetDateTime,
    sort_key: String,
    fields: HashMap<&'static str, String>,
    settlement_total: i64,
    refund: i64,
    fee: i64,
    order_total: i64,
}

impl Row {
    /// The fields a payment and a refund of `order` share.
    fn common(
        order: &Order,
        at: OffsetDateTime,
        fee_rate_bp: u32,
    ) -> HashMap<&'static str, String> {
        let request = &order.request;
        let (transaction_id, openid, bank) = match &order.state {
            OrderState::Success(p) => (
                p.transaction_id.as_str(),
                p.openid.as_str(),
                p.bank_type.as_str(),
            ),
            _ => ("", "", ""),
        };
        let time = at
            .to_offset(CST)
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        HashMap::from([
            (col::TIME, time),
            (col::APPID, request.appid.clone()),
            (col::MCHID, request.mchid.clone()),
            (col::SUB_MCHID, "0".to_owned()),
            (col::TRANSACTION_ID, transaction_id.to_owned()),
            (col::OUT_TRADE_NO, request.out_trade_no.clone()),
            (col::OPENID, openid.to_owned()),
            (col::TRADE_TYPE, "NATIVE".to_owned()),
            (col::BANK, bank.to_owned()),
            (
                col::CURRENCY,
                request
                    .amount
                    .currency
                    .clone()
                    .unwrap_or_else(|| "CNY".to_owned()),
            ),
            (col::COUPON, format_yuan(0)),
            (col::RECHARGE_COUPON_REFUND, format_yuan(0)),
            (col::DESCRIPTION, one_line(&request.description)),
            (
                col::ATTACH,
                one_line(request.attach.as_deref().unwrap_or("")),
            ),
            (col::FEE_RATE, format_rate(fee_rate_bp)),
            (col::ORDER_TOTAL, format_yuan(request.amount.total)),
        ])
    }

    fn payment(order: &Order, fee_rate_bp: u32) -> Self {
        let at = match &order.state {
            OrderState::Success(p) => p.success_time,
            _ => order.created_at,
        };
        let total = order.request.amount.total;
        let fee = fee_millifen(total, fee_rate_bp);
        let mut fields = Self::common(order, at, fee_rate_bp);
        fields.extend([
            (col::TRADE_STATUS, "SUCCESS".to_owned()),
            (col::SETTLEMENT_TOTAL, format_yuan(total)),
            (col::REFUND_ID, "0".to_owned()),
            (col::OUT_REFUND_NO, "0".to_owned()),
            (col::REFUND, format_yuan(0)),
            (col::FEE, format_fee(fee)),
            (col::REQUESTED_REFUND, format_yuan(0)),
        ]);
        Self {
            at,
            sort_key: format!("{}\u{0}0", order.request.out_trade_no),
            fields,
            settlement_total: total,
            refund: 0,
            fee,
            order_total: total,
        }
    }

    fn refund(order: &Order, refund: &RefundRecord, fee_rate_bp: u32) -> Self {
        let at = refund.finished_at.unwrap_or(refund.created_at);
        let amount = refund.amount();
        let fee = fee_millifen(-amount, fee_rate_bp);
        let mut fields = Self::common(order, at, fee_rate_bp);
        fields.extend([
            (col::TRADE_STATUS, "REFUND".to_owned()),
            (col::SETTLEMENT_TOTAL, format_yuan(0)),
            (col::REFUND_ID, refund.refund_id.clone()),
            (col::OUT_REFUND_NO, refund.out_refund_no().to_owned()),
            (col::REFUND, format_yuan(amount)),
            (col::REFUND_TYPE, "ORIGINAL".to_owned()),
            (col::REFUND_STATUS, "SUCCESS".to_owned()),
            (col::FEE, format_fee(fee)),
            (col::REQUESTED_REFUND, format_yuan(amount)),
        ]);
        Self {
            at,
            sort_key: format!(
                "{}\u{0}1{}",
                order.request.out_trade_no,
                refund.out_refund_no()
            ),
            fields,
            settlement_total: 0,
            refund: amount,
            fee,
            order_total: order.request.amount.total,
        }
    }

    /// The row, every field behind its backtick, in the columns' order.
    fn line(&self) -> String {
        let fields: Vec<String> = col::DETAIL
            .iter()
            .map(|c| format!("`{}", self.fields.get(c).map_or("", String::as_str)))
            .collect();
        fields.join(",")
    }
}

/// The summary row: the count of rows and the sums of their columns.
fn summary(rows: &[Row]) -> String {
    let sum = |value: fn(&Row) -> i64| rows.iter().map(value).sum::<i64>();
    let refund = sum(|r| r.refund);
    let fields = [
        rows.len().to_string(),
        format_yuan(sum(|r| r.settlement_total)),
        format_yuan(refund),
        format_yuan(0),
        format_fee(sum(|r| r.fee)),
        format_yuan(sum(|r| r.order_total)),
        format_yuan(refund),
    ];
    fields
        .iter()
        .map(|f| format!("`{f}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Free text on one line.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_are_the_rate_of_the_amount_rounded_half_up() {
        assert_eq!(fee_millifen(990, 60), 5940);
        assert_eq!(fee_millifen(-990, 60), -5940);
        // 1 fen at 0.60% is 0.006 fen: 6 thousandths of a fen (0.00006 yuan).
        assert_eq!(fee_millifen(1, 60), 6);
        // 1 fen at 0.38% is 3.8 thousandths of a fen: 4.
        assert_eq!(fee_millifen(1, 38), 4);
        assert_eq!(fee_millifen(-1, 38), -4);
        assert_eq!(fee_millifen(5, 1), 1);
        assert_eq!(fee_millifen(4, 1), 0);
        assert_eq!(fee_millifen(0, 60), 0);
    }

    #[test]
    fn a_day_without_activity_has_no_bill() {
        let day = time::macros::date!(2026 - 03 - 01);
        assert_eq!(trade_bill(&[], day, 60), None);
    }
}

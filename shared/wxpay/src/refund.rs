//! Refunds (§7 of the protocol reference): the body of `POST /v3/refund/domestic/refunds`, the
//! refund WeChat Pay answers (also to `GET /v3/refund/domestic/refunds/{out_refund_no}`), and the
//! decrypted resource of a refund notification.

use serde::{Deserialize, Serialize};

/// The only currency of domestic refunds.
pub const CNY: &str = "CNY";

/// Body of `POST /v3/refund/domestic/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// WeChat Pay's number of the original payment (recommended over `out_trade_no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// The merchant's number of the original payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// The merchant's refund number: 1–64 characters of `[0-9A-Za-z_-|*@]`. The same number always
    /// refunds once, so a failed call is retried with the same number.
    pub out_refund_no: String,
    /// Shown to the payer, at most 80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where WeChat Pay posts the refund notification (overrides the platform setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Which funds pay the refund (old fund-flow merchants and deposits only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// The amounts.
    pub amount: RefundRequestAmount,
    /// Goods refunded, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_detail: Option<Vec<serde_json::Value>>,
}

impl RefundRequest {
    /// A refund of `refund` fen of the payment `transaction_id`, whose total was `total` fen, under
    /// the merchant's number `out_refund_no`, in CNY.
    pub fn of_transaction(
        transaction_id: impl Into<String>,
        out_refund_no: impl Into<String>,
        refund: i64,
        total: i64,
    ) -> Self {
        Self {
            transaction_id: Some(transaction_id.into()),
            out_trade_no: None,
            out_refund_no: out_refund_no.into(),
            reason: None,
            notify_url: None,
            funds_account: None,
            amount: RefundRequestAmount {
                refund,
                total,
                currency: CNY.to_owned(),
                from: None,
            },
            goods_detail: None,
        }
    }

    /// Sets the reason shown to the payer.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the URL the refund notification goes to.
    pub fn with_notify_url(mut self, notify_url: impl Into<String>) -> Self {
        self.notify_url = Some(notify_url.into());
        self
    }
}

/// `amount` of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestAmount {
    /// Fen to refund: at least 1, at most what is left of the payment.
    pub refund: i64,
    /// The original order total, in fen.
    pub total: i64,
    /// `CNY`.
    pub currency: String,
    /// Which accounts the refund comes from, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<serde_json::Value>>,
}

/// A refund, as the create and query APIs answer it (§7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// WeChat Pay's refund number.
    pub refund_id: String,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// WeChat Pay's number of the original payment.
    pub transaction_id: String,
    /// The merchant's number of the original payment.
    pub out_trade_no: String,
    /// Where the money goes back: `ORIGINAL`, `BALANCE`, `OTHER_BALANCE`, `OTHER_BANKCARD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The account credited, e.g. `支付用户零钱`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    /// When the money reached the payer (only once `SUCCESS`), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// When the refund was created, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// Where the refund stands.
    pub status: RefundStatus,
    /// Which funds paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// The amounts.
    pub amount: RefundAmount,
    /// Coupons refunded, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_detail: Option<Vec<serde_json::Value>>,
    /// Members this model does not name, kept as received.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `status` of a refund (§7.3); `refund_status` in notifications. Unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// In progress.
    Processing,
    /// The money reached the payer.
    Success,
    /// Closed: nothing was refunded; a new refund needs a new `out_refund_no`.
    #[serde(alias = "CLOSE")]
    Closed,
    /// The money could not reach the payer (card cancelled or frozen); handled by hand.
    Abnormal,
    /// A status this crate does not know.
    #[serde(untagged)]
    Other(String),
}

impl RefundStatus {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Processing => "PROCESSING",
            Self::Success => "SUCCESS",
            Self::Closed => "CLOSED",
            Self::Abnormal => "ABNORMAL",
            Self::Other(other) => other,
        }
    }

    /// Whether the refund can no longer change.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Success | Self::Closed | Self::Abnormal)
    }
}

/// `amount` of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    /// The original order total, in fen.
    pub total: i64,
    /// Fen refunded.
    pub refund: i64,
    /// What the payer paid, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    /// What goes back to the payer, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_refund: Option<i64>,
    /// Refund minus non-settled coupons, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_refund: Option<i64>,
    /// Settled total of the order, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_total: Option<i64>,
    /// Coupons refunded, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_refund: Option<i64>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Fee returned to the merchant, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_fee: Option<i64>,
    /// Which accounts the refund came from, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<serde_json::Value>>,
}

/// The decrypted resource of a refund notification (§7.4). Note `refund_status`, not `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResource {
    /// Merchant id.
    pub mchid: String,
    /// WeChat Pay's number of the original payment.
    pub transaction_id: String,
    /// The merchant's number of the original payment.
    pub out_trade_no: String,
    /// WeChat Pay's refund number.
    pub refund_id: String,
    /// The merchant's refund number (one we never issued if the refund was made by hand in the
    /// merchant platform).
    pub out_refund_no: String,
    /// The final status.
    pub refund_status: RefundStatus,
    /// When the money reached the payer (only for `SUCCESS`), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// The account credited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    /// The amounts.
    pub amount: RefundResourceAmount,
    /// Members this model does not name, kept as received.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `amount` of a refund notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResourceAmount {
    /// The original order total, in fen.
    pub total: i64,
    /// Fen refunded.
    pub refund: i64,
    /// What the payer paid, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    /// What goes back to the payer, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_refund: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_serializes_with_wechat_pay_field_names_and_no_nulls() {
        let request = RefundRequest::of_transaction("4200000000202401010000000001", "R1", 30, 100)
            .with_reason("不想要了");
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "transaction_id": "4200000000202401010000000001",
                "out_refund_no": "R1",
                "reason": "不想要了",
                "amount": {"refund": 30, "total": 100, "currency": "CNY"}
            })
        );
    }

    #[test]
    fn the_documented_answer_parses_and_keeps_unknown_members() {
        let json = r#"{"refund_id":"50000000382019052709732678859","out_refund_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","out_trade_no":"1217752501201407033233368018","channel":"ORIGINAL","user_received_account":"招商银行信用卡0403","success_time":"2020-12-01T16:18:12+08:00","create_time":"2020-12-01T16:18:12+08:00","status":"SUCCESS","funds_account":"UNSETTLED","amount":{"total":100,"refund":100,"from":[{"account":"AVAILABLE","amount":444}],"payer_total":90,"payer_refund":90,"settlement_refund":100,"settlement_total":100,"discount_refund":10,"currency":"CNY","refund_fee":0},"promotion_detail":[],"new_member":1}"#;
        let refund: Refund = serde_json::from_str(json).unwrap();
        assert_eq!(refund.status, RefundStatus::Success);
        assert_eq!(refund.amount.refund, 100);
        assert_eq!(refund.amount.payer_refund, Some(90));
        assert_eq!(refund.extra["new_member"], 1);
    }

    #[test]
    fn statuses_parse_including_the_close_spelling_and_unknown_values() {
        let parse = |text: &str| serde_json::from_str::<RefundStatus>(text).unwrap();
        assert_eq!(parse(r#""PROCESSING""#), RefundStatus::Processing);
        assert_eq!(parse(r#""CLOSED""#), RefundStatus::Closed);
        assert_eq!(parse(r#""CLOSE""#), RefundStatus::Closed);
        assert_eq!(parse(r#""ABNORMAL""#), RefundStatus::Abnormal);
        assert_eq!(parse(r#""LATER""#), RefundStatus::Other("LATER".into()));
        assert!(RefundStatus::Abnormal.is_final());
        assert!(!RefundStatus::Processing.is_final());
        assert_eq!(RefundStatus::Other("X".into()).as_str(), "X");
    }

    #[test]
    fn a_notification_resource_reads_refund_status() {
        let json = r#"{"mchid":"1900000100","transaction_id":"1008450740201411110005820873","out_trade_no":"20150806125346","refund_id":"50200207182018070300011301001","out_refund_no":"7752501201407033233368018","refund_status":"SUCCESS","success_time":"2018-06-08T10:34:56+08:00","user_received_account":"招商银行信用卡0403","amount":{"total":999,"refund":999,"payer_total":999,"payer_refund":999}}"#;
        let resource: RefundResource = serde_json::from_str(json).unwrap();
        assert_eq!(resource.refund_status, RefundStatus::Success);
        assert_eq!(resource.amount.refund, 999);
    }
}

//! Request and response bodies of the APIv3 endpoints used by Native payments, with the exact field
//! names WeChat Pay uses. Optional fields are omitted when absent, never sent as `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// Body of `POST /v3/pay/transactions/native`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativePrepayRequest {
    /// App id bound to the merchant.
    pub appid: String,
    /// Merchant id; must equal the `mchid` of the `Authorization` header.
    pub mchid: String,
    /// Shown in the payer's bill, at most 127 characters.
    pub description: String,
    /// Merchant order number: 6–32 characters of `[0-9A-Za-z_-|*]`.
    pub out_trade_no: String,
    /// Last moment the payer can pay (written at `+08:00`, whole seconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::wechat::option"
    )]
    pub time_expire: Option<OffsetDateTime>,
    /// Opaque merchant data echoed back once paid, at most 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Absolute URL WeChat Pay posts the payment notification to.
    pub notify_url: String,
    /// Coupon tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    /// Whether the payer sees the e-invoice entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_fapiao: Option<bool>,
    /// Amount to pay.
    pub amount: PrepayAmount,
    /// Order details (goods list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// Scene information (payer IP, device, store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
    /// Settlement options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_info: Option<SettleInfo>,
}

impl NativePrepayRequest {
    /// A request with the required fields, the total in CNY, and no optional field; add those with
    /// the `with_…` setters.
    pub fn new(
        appid: impl Into<String>,
        mchid: impl Into<String>,
        description: impl Into<String>,
        out_trade_no: impl Into<String>,
        notify_url: impl Into<String>,
        total: i64,
    ) -> Self {
        Self {
            appid: appid.into(),
            mchid: mchid.into(),
            description: description.into(),
            out_trade_no: out_trade_no.into(),
            time_expire: None,
            attach: None,
            notify_url: notify_url.into(),
            goods_tag: None,
            support_fapiao: None,
            amount: PrepayAmount {
                total,
                currency: Some(CNY.to_owned()),
            },
            detail: None,
            scene_info: None,
            settle_info: None,
        }
    }

    /// Sets `time_expire`.
    pub fn with_time_expire(mut self, at: OffsetDateTime) -> Self {
        self.time_expire = Some(at);
        self
    }

    /// Sets `attach`.
    pub fn with_attach(mut self, attach: impl Into<String>) -> Self {
        self.attach = Some(attach.into());
        self
    }

    /// Sets `goods_tag`.
    pub fn with_goods_tag(mut self, goods_tag: impl Into<String>) -> Self {
        self.goods_tag = Some(goods_tag.into());
        self
    }

    /// Sets `support_fapiao`.
    pub fn with_support_fapiao(mut self, support: bool) -> Self {
        self.support_fapiao = Some(support);
        self
    }

    /// Sets `amount.currency` (`None` omits it; WeChat Pay then assumes CNY).
    pub fn with_currency(mut self, currency: Option<String>) -> Self {
        self.amount.currency = currency;
        self
    }

    /// Sets `detail`.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Sets `scene_info`.
    pub fn with_scene_info(mut self, scene_info: SceneInfo) -> Self {
        self.scene_info = Some(scene_info);
        self
    }

    /// Sets `settle_info`.
    pub fn with_settle_info(mut self, settle_info: SettleInfo) -> Self {
        self.settle_info = Some(settle_info);
        self
    }
}

/// The currency of domestic merchants.
pub const CNY: &str = "CNY";

/// `amount` of a prepay request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepayAmount {
    /// Total in fen, at least 1.
    pub total: i64,
    /// `CNY` for domestic merchants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `scene_info` of a prepay request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneInfo {
    /// The payer's IPv4 or IPv6 address.
    pub payer_client_ip: String,
    /// Merchant terminal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Store information, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_info: Option<serde_json::Value>,
}

/// `settle_info` of a prepay request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleInfo {
    /// Marks the order for profit sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profit_sharing: Option<bool>,
}

/// Response of the Native prepay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativePrepayResponse {
    /// `weixin://wxpay/bizpayurl?pr=…`, valid for 2 hours; render it as a QR code.
    pub code_url: String,
}

/// A transaction as returned by the query APIs and as carried, encrypted, by `TRANSACTION.SUCCESS`
/// notifications (§4.1 of the protocol reference).
///
/// A `success_time` that is not RFC 3339 never makes a genuine answer unreadable: it reads as
/// `None` and its raw value stays in [`extra`](Self::extra), so it is written back as received
/// (see [`Transaction::unparsed_success_time`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Transaction {
    /// App id of the order.
    pub appid: String,
    /// Merchant id of the order.
    pub mchid: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// WeChat Pay order number, present once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `NATIVE`, `JSAPI`, … (absent on some unpaid orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    /// State of the trade.
    pub trade_state: TradeState,
    /// Human description of the state.
    #[serde(default)]
    pub trade_state_desc: String,
    /// Payer's bank code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// Merchant data echoed back once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// When it was paid (any RFC 3339 is read; written at `+08:00`).
    #[serde(
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::wechat::option::serialize"
    )]
    pub success_time: Option<OffsetDateTime>,
    /// The payer, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    /// Amounts, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
    /// Scene information echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<TransactionSceneInfo>,
    /// Coupons and discounts applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_detail: Option<Vec<serde_json::Value>>,
    /// Members this model does not name, kept as received so that a stored payment record holds
    /// everything WeChat Pay sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Name of [`Transaction::success_time`] on the wire.
const SUCCESS_TIME: &str = "success_time";

impl Transaction {
    /// The `success_time` WeChat Pay sent when it is not an RFC 3339 time (kept in `extra`).
    pub fn unparsed_success_time(&self) -> Option<&serde_json::Value> {
        self.extra.get(SUCCESS_TIME)
    }
}

impl Serialize for Transaction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Transaction::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Transaction {
    /// Reads every member; `success_time` (skipped by the derived reader, so it lands in `extra`)
    /// moves to its typed field when it parses, and otherwise stays in `extra` as received.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut tx = Transaction::deserialize(deserializer)?;
        let parsed = match tx.extra.get(SUCCESS_TIME) {
            Some(serde_json::Value::String(text)) => crate::time::parse(text).ok(),
            _ => None,
        };
        if parsed.is_some() || tx.extra.get(SUCCESS_TIME) == Some(&serde_json::Value::Null) {
            tx.extra.remove(SUCCESS_TIME);
        }
        tx.success_time = parsed;
        Ok(tx)
    }
}

/// `trade_state` values (§4.2). Unknown future values are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    /// Paid.
    Success,
    /// Refund initiated.
    Refund,
    /// Unpaid.
    Notpay,
    /// Closed: can be neither paid nor refunded.
    Closed,
    /// Reversed (payment code only).
    Revoked,
    /// Payer entering the password (payment code only).
    Userpaying,
    /// Payment failed (payment code only).
    Payerror,
    /// Accepted, waiting for debit.
    Accept,
    /// A state this crate does not know.
    #[serde(untagged)]
    Other(String),
}

impl TradeState {
    /// Whether the order was paid: `SUCCESS`, or `REFUND` (paid, then refunded in part or in full).
    pub fn is_paid(&self) -> bool {
        matches!(self, Self::Success | Self::Refund)
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Refund => "REFUND",
            Self::Notpay => "NOTPAY",
            Self::Closed => "CLOSED",
            Self::Revoked => "REVOKED",
            Self::Userpaying => "USERPAYING",
            Self::Payerror => "PAYERROR",
            Self::Accept => "ACCEPT",
            Self::Other(other) => other,
        }
    }
}

/// `payer` of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    /// The payer's openid under the order's appid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

/// `amount` of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    /// Order total in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// What the payer paid after discounts, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    /// Currency of `total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Currency the payer paid in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

/// `scene_info` of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionSceneInfo {
    /// Merchant terminal id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// Body of `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// Merchant id.
    pub mchid: String,
}

/// Response of `GET /v3/certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatesResponse {
    /// The platform certificates currently listed.
    pub data: Vec<CertificateEntry>,
}

/// One platform certificate, encrypted with the APIv3 key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEntry {
    /// Certificate serial, upper-case hex.
    pub serial_no: String,
    /// Start of validity, RFC 3339.
    pub effective_time: String,
    /// End of validity, RFC 3339.
    pub expire_time: String,
    /// The PEM certificate, encrypted with AAD `certificate`.
    pub encrypt_certificate: EncryptedResource,
}

/// An AEAD_AES_256_GCM-encrypted payload (notification `resource`, `encrypt_certificate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    /// Must be `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// Base64 of ciphertext followed by the 16-byte tag.
    pub ciphertext: String,
    /// Additional authenticated data (may be empty).
    #[serde(default)]
    pub associated_data: String,
    /// 12-character nonce.
    pub nonce: String,
    /// `transaction` for payments (absent on certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
}

/// Envelope of a notification posted to `notify_url` (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationEnvelope {
    /// Notification id (a UUID; the same on retries).
    pub id: String,
    /// When the notification was created, RFC 3339.
    pub create_time: String,
    /// `TRANSACTION.SUCCESS` for payments.
    pub event_type: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// The encrypted payload.
    pub resource: EncryptedResource,
    /// Human summary, e.g. `支付成功`.
    #[serde(default)]
    pub summary: String,
}

/// Error body of a non-2xx answer (§9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `PARAM_ERROR`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Which field was wrong, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<ErrorDetail>,
}

/// `detail` of an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ErrorDetail {
    /// JSON pointer of the body field (or the name of a path/query parameter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The offending value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// `body`, `query`, `path`, `header` or `authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Any further members WeChat Pay adds (e.g. `sign_information`).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_from_the_v8_plaintext_keeps_every_field() {
        let json = r#"{"mchid":"1900007291","appid":"wxd678efh567hg6787","out_trade_no":"ORDER20240101000001","transaction_id":"4200000000202401010000000001","trade_type":"NATIVE","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"","success_time":"2024-01-01T12:00:05+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}"#;
        let tx: Transaction = serde_json::from_str(json).unwrap();
        assert_eq!(tx.trade_state, TradeState::Success);
        assert_eq!(tx.amount.as_ref().unwrap().total, Some(100));
        assert_eq!(
            tx.payer.unwrap().openid.as_deref(),
            Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        );
    }

    #[test]
    fn unknown_trade_state_is_kept() {
        let state: TradeState = serde_json::from_str(r#""SOMETHING_NEW""#).unwrap();
        assert_eq!(state, TradeState::Other("SOMETHING_NEW".into()));
        assert_eq!(
            serde_json::to_string(&TradeState::Notpay).unwrap(),
            r#""NOTPAY""#
        );
    }

    #[test]
    fn optional_prepay_fields_are_omitted_not_null() {
        let req = NativePrepayRequest::new(
            "wx1",
            "1900000001",
            "d",
            "abcdef",
            "https://example.com/n",
            1,
        );
        let json = serde_json::to_string(&req).unwrap();
        assert!(!json.contains("null"), "{json}");
        assert!(
            json.contains(r#""amount":{"total":1,"currency":"CNY"}"#),
            "{json}"
        );
    }

    #[test]
    fn time_expire_is_written_at_china_time_and_read_from_any_rfc3339() {
        let req = NativePrepayRequest::new("wx1", "1", "d", "abcdef", "https://e.com/n", 1)
            .with_time_expire(time::macros::datetime!(2018-06-08 02:34:56.5 UTC));
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["time_expire"], "2018-06-08T10:34:56+08:00");
        let mut utc = json.clone();
        utc["time_expire"] = "2018-06-08T02:34:56Z".into();
        let back: NativePrepayRequest = serde_json::from_value(utc).unwrap();
        assert_eq!(
            back.time_expire,
            Some(time::macros::datetime!(2018-06-08 10:34:56 +8))
        );
        let mut bad = json;
        bad["time_expire"] = "2018-06-08 10:34:56".into();
        assert!(serde_json::from_value::<NativePrepayRequest>(bad).is_err());
    }

    fn paid(success_time: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "appid": "wx1", "mchid": "1", "out_trade_no": "abcdef",
            "trade_state": "SUCCESS", "success_time": success_time, "rate": 7,
        })
    }

    #[test]
    fn success_time_is_typed_and_written_as_wechat_pay_does() {
        let tx: Transaction = serde_json::from_value(paid("2024-01-01T04:00:05Z".into())).unwrap();
        assert_eq!(
            tx.success_time,
            Some(time::macros::datetime!(2024-01-01 12:00:05 +8))
        );
        assert_eq!(tx.unparsed_success_time(), None);
        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(json["success_time"], "2024-01-01T12:00:05+08:00");
        assert_eq!(json["rate"], 7);
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), tx);
    }

    #[test]
    fn a_malformed_success_time_still_reads_and_is_kept_as_received() {
        for odd in [
            serde_json::json!("2024-01-01 12:00:05"),
            serde_json::json!(""),
            serde_json::json!(1_704_081_605),
        ] {
            let tx: Transaction = serde_json::from_value(paid(odd.clone())).unwrap();
            assert_eq!(tx.trade_state, TradeState::Success);
            assert_eq!(tx.success_time, None);
            assert_eq!(tx.unparsed_success_time(), Some(&odd));
            let json = serde_json::to_value(&tx).unwrap();
            assert_eq!(json["success_time"], odd);
        }
        let tx: Transaction = serde_json::from_value(paid(serde_json::Value::Null)).unwrap();
        assert_eq!((tx.success_time, tx.unparsed_success_time()), (None, None));
    }
}

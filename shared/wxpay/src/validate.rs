//! Checks of what the protocol constrains, done before a request is sent (and, by the simulator,
//! when one arrives). Each failure names the field as a JSON pointer, as WeChat Pay's
//! `detail.field` does.

use crate::models::NativePrepayRequest;
use crate::refund::{CNY, RefundRequest};
use std::net::IpAddr;
use url::{Host, Url};

/// A field that breaks a protocol rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {issue}")]
pub struct ValidationError {
    /// JSON pointer of the field, e.g. `/amount/total`.
    pub field: String,
    /// What is wrong with it.
    pub issue: String,
}

impl ValidationError {
    fn new(field: &str, issue: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            issue: issue.into(),
        }
    }
}

/// Whether `c` may appear in an `out_trade_no`.
fn is_trade_no_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '|' | '*')
}

/// `out_trade_no`: 6–32 characters of `[0-9A-Za-z_-|*]`.
pub fn out_trade_no(value: &str) -> Result<(), ValidationError> {
    let field = "/out_trade_no";
    if !(6..=32).contains(&value.len()) {
        return Err(ValidationError::new(field, "must be 6 to 32 characters"));
    }
    if !value.chars().all(is_trade_no_char) {
        return Err(ValidationError::new(
            field,
            "may contain only digits, letters, _ - | *",
        ));
    }
    Ok(())
}

/// `transaction_id`: 1–32 digits.
pub fn transaction_id(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || value.len() > 32 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::new(
            "transaction_id",
            "must be 1 to 32 digits",
        ));
    }
    Ok(())
}

/// `mchid`: 1–32 digits.
pub fn mchid(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || value.len() > 32 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::new(field, "must be 1 to 32 digits"));
    }
    Ok(())
}

/// `notify_url`: absolute, at most 255 characters, no query string, HTTPS — or plain HTTP to a
/// loopback host (127.0.0.0/8, `localhost`, `[::1]`), where a merchant testing locally listens.
pub fn notify_url(value: &str) -> Result<(), ValidationError> {
    let field = "/notify_url";
    if value.len() > 255 {
        return Err(ValidationError::new(
            field,
            "must be at most 255 characters",
        ));
    }
    let url =
        Url::parse(value).map_err(|_| ValidationError::new(field, "must be an absolute URL"))?;
    if url.query().is_some() || value.contains('?') {
        return Err(ValidationError::new(field, "must not carry a query string"));
    }
    if url.fragment().is_some() {
        return Err(ValidationError::new(field, "must not carry a fragment"));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if url.host().is_some_and(|h| is_loopback(&h)) => Ok(()),
        "http" => Err(ValidationError::new(
            field,
            "must be HTTPS (plain HTTP only to a loopback host)",
        )),
        _ => Err(ValidationError::new(field, "must be an https:// URL")),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Text limited to `max` characters of the Basic Multilingual Plane (WeChat Pay refuses 4-byte
/// UTF-8 such as emoji).
fn bmp_text(field: &str, value: &str, max: usize, required: bool) -> Result<(), ValidationError> {
    if required && value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.len_utf8() > 3) {
        return Err(ValidationError::new(
            field,
            "must not contain 4-byte characters such as emoji",
        ));
    }
    Ok(())
}

/// `description` of an order: 1–127 characters, none of them 4-byte UTF-8 (emoji).
pub fn description(value: &str) -> Result<(), ValidationError> {
    bmp_text("/description", value, 127, true)
}

/// Every rule of a Native prepay request that can be checked without WeChat Pay's records.
pub fn native_prepay(req: &NativePrepayRequest) -> Result<(), ValidationError> {
    bmp_text("/appid", &req.appid, 32, true)?;
    mchid("/mchid", &req.mchid)?;
    description(&req.description)?;
    out_trade_no(&req.out_trade_no)?;
    if let Some(time_expire) = req.time_expire
        && crate::time::format(time_expire).is_err()
    {
        return Err(ValidationError::new(
            "/time_expire",
            "must be a time with a four-digit year",
        ));
    }
    if let Some(attach) = &req.attach {
        bmp_text("/attach", attach, 128, false)?;
    }
    notify_url(&req.notify_url)?;
    if let Some(goods_tag) = &req.goods_tag {
        bmp_text("/goods_tag", goods_tag, 32, false)?;
    }
    if req.amount.total < 1 {
        return Err(ValidationError::new(
            "/amount/total",
            "must be at least 1 fen",
        ));
    }
    if let Some(currency) = &req.amount.currency
        && currency != "CNY"
    {
        return Err(ValidationError::new("/amount/currency", "must be CNY"));
    }
    if let Some(scene) = &req.scene_info {
        if scene.payer_client_ip.len() > 45 || scene.payer_client_ip.parse::<IpAddr>().is_err() {
            return Err(ValidationError::new(
                "/scene_info/payer_client_ip",
                "must be an IPv4 or IPv6 address",
            ));
        }
        if let Some(device_id) = &scene.device_id {
            bmp_text("/scene_info/device_id", device_id, 32, false)?;
        }
    }
    Ok(())
}

/// `out_refund_no`: 1–64 characters of `[0-9A-Za-z_-|*@]`.
pub fn out_refund_no(value: &str) -> Result<(), ValidationError> {
    let field = "/out_refund_no";
    if !(1..=64).contains(&value.len()) {
        return Err(ValidationError::new(field, "must be 1 to 64 characters"));
    }
    if !value.chars().all(|c| is_trade_no_char(c) || c == '@') {
        return Err(ValidationError::new(
            field,
            "may contain only digits, letters, _ - | * @",
        ));
    }
    Ok(())
}

/// `reason` of a refund: at most 80 characters, none of them 4-byte UTF-8 (emoji).
pub fn refund_reason(value: &str) -> Result<(), ValidationError> {
    bmp_text("/reason", value, 80, false)
}

/// Every rule of a refund request that can be checked without WeChat Pay's records: the payment
/// named one way, the refund number, a reason of at most 80 characters, and 1 fen ≤ refund ≤ total.
pub fn refund(req: &RefundRequest) -> Result<(), ValidationError> {
    match (&req.transaction_id, &req.out_trade_no) {
        (Some(id), None) => transaction_id(id)?,
        (None, Some(number)) => out_trade_no(number)?,
        _ => {
            return Err(ValidationError::new(
                "/transaction_id",
                "exactly one of transaction_id and out_trade_no must be given",
            ));
        }
    }
    out_refund_no(&req.out_refund_no)?;
    if let Some(reason) = &req.reason {
        refund_reason(reason)?;
    }
    if let Some(url) = &req.notify_url {
        notify_url(url)?;
    }
    if req.amount.total < 1 {
        return Err(ValidationError::new(
            "/amount/total",
            "must be at least 1 fen",
        ));
    }
    if req.amount.refund < 1 {
        return Err(ValidationError::new(
            "/amount/refund",
            "must be at least 1 fen",
        ));
    }
    if req.amount.refund > req.amount.total {
        return Err(ValidationError::new(
            "/amount/refund",
            "must not exceed the order total",
        ));
    }
    if req.amount.currency != CNY {
        return Err(ValidationError::new("/amount/currency", "must be CNY"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn request() -> NativePrepayRequest {
        NativePrepayRequest::new(
            "wxd678efh567hg6787",
            "1900007291",
            "Image形象店-深圳腾大-QQ公仔",
            "1217752501201407033233368018",
            "https://www.weixin.qq.com/wxpay/pay.php",
            100,
        )
        .with_time_expire(datetime!(2018-06-08 10:34:56 +8))
    }

    fn field_of(req: &NativePrepayRequest) -> String {
        native_prepay(req).unwrap_err().field
    }

    #[test]
    fn a_well_formed_request_passes() {
        native_prepay(&request()).unwrap();
    }

    #[test]
    fn out_trade_no_length_and_charset_are_enforced() {
        for bad in ["12345", "a".repeat(33).as_str(), "abc def", "订单123456"] {
            let mut req = request();
            req.out_trade_no = bad.into();
            assert_eq!(field_of(&req), "/out_trade_no", "{bad}");
        }
        out_trade_no("ab_-|*12").unwrap();
    }

    #[test]
    fn description_over_127_characters_or_with_emoji_is_refused() {
        let mut req = request();
        req.description = "字".repeat(128);
        assert_eq!(field_of(&req), "/description");
        req.description = "字".repeat(127);
        native_prepay(&req).unwrap();
        req.description = "cake 🎂".into();
        assert_eq!(field_of(&req), "/description");
    }

    #[test]
    fn amount_below_one_fen_is_refused() {
        let mut req = request();
        req.amount.total = 0;
        assert_eq!(field_of(&req), "/amount/total");
    }

    #[test]
    fn notify_url_rules() {
        for good in [
            "https://example.com/notify",
            "http://127.0.0.1:3000/api/wx-pay/native/notify",
            "http://localhost/n",
            "http://[::1]:8080/n",
        ] {
            notify_url(good).unwrap();
        }
        for bad in [
            "/relative",
            "https://example.com/n?x=1",
            "http://example.com/n",
            "http://192.168.1.2/n",
            "ftp://example.com/n",
        ] {
            assert_eq!(notify_url(bad).unwrap_err().field, "/notify_url", "{bad}");
        }
    }

    #[test]
    fn time_expire_must_be_writable_with_a_four_digit_year() {
        let mut req = request();
        req.time_expire = Some(datetime!(-0001-01-01 00:00:00 UTC));
        assert_eq!(field_of(&req), "/time_expire");
    }

    fn refund_field(req: &RefundRequest) -> String {
        refund(req).unwrap_err().field
    }

    fn refund_request() -> RefundRequest {
        RefundRequest::of_transaction("4200000000202401010000000001", "R-1@a|b*c_d", 30, 100)
    }

    #[test]
    fn a_well_formed_refund_passes() {
        refund(&refund_request().with_reason("字".repeat(80))).unwrap();
        let mut by_order = refund_request();
        by_order.transaction_id = None;
        by_order.out_trade_no = Some("N2024010100000001".into());
        refund(&by_order).unwrap();
    }

    #[test]
    fn out_refund_no_length_and_charset_are_enforced() {
        out_refund_no(&"a".repeat(64)).unwrap();
        out_refund_no("1").unwrap();
        for bad in ["", &"a".repeat(65), "a b", "退款1", "a#b"] {
            let mut req = refund_request();
            req.out_refund_no = bad.into();
            assert_eq!(refund_field(&req), "/out_refund_no", "{bad:?}");
        }
    }

    #[test]
    fn refund_amounts_reasons_and_the_payment_are_checked() {
        type Edit = fn(&mut RefundRequest);
        let cases: [(Edit, &str); 8] = [
            (|r| r.amount.refund = 0, "/amount/refund"),
            (|r| r.amount.refund = 101, "/amount/refund"),
            (|r| r.amount.total = 0, "/amount/total"),
            (|r| r.amount.currency = "USD".into(), "/amount/currency"),
            (|r| r.reason = Some("字".repeat(81)), "/reason"),
            (
                |r| r.notify_url = Some("https://e.com/n?x=1".into()),
                "/notify_url",
            ),
            (
                |r| r.out_trade_no = Some("N2024010100000001".into()),
                "/transaction_id",
            ),
            (|r| r.transaction_id = Some("42x".into()), "transaction_id"),
        ];
        for (edit, field) in cases {
            let mut req = refund_request();
            edit(&mut req);
            assert_eq!(refund_field(&req), field);
        }
        let mut full = refund_request();
        full.amount.refund = 100;
        refund(&full).unwrap();
    }
}

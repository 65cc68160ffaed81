//! Settings the services take as values (the functions read them from the environment).

use time::{Duration, OffsetDateTime};

/// Default `ORDER_TTL_SECS`.
pub const DEFAULT_ORDER_TTL_SECS: u32 = 300;
/// Default `RECONCILE_AFTER_SECS`.
pub const DEFAULT_SWEEP_AFTER_SECS: u32 = 60;
/// Default `RECONCILE_CONCURRENCY`.
pub const DEFAULT_SWEEP_CONCURRENCY: usize = 8;
/// How long an idempotency key names its order.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u32 = 24 * 60 * 60;
/// Default `WXPAY_TIMEOUT_MS`: how long a call to WeChat Pay may take before the client gives up.
pub const DEFAULT_WXPAY_TIMEOUT_MS: u32 = wxpay::client::DEFAULT_TIMEOUT_MS;
/// Default `MAX_OPEN_ORDERS_PER_BUYER` in the functions' configuration (0 = no cap).
pub const DEFAULT_MAX_OPEN_ORDERS_PER_BUYER: u32 = 5;
/// Default `ANONYMOUS_ORDERS_PER_MINUTE` in the functions' configuration (0 = no cap).
pub const DEFAULT_ANONYMOUS_ORDERS_PER_MINUTE: u32 = 60;
/// Longest `ORDER_TTL_SECS`: a `code_url` can be scanned for two hours after it was issued (§3.2),
/// so an order never outlives the QR code it was shown with and no code needs refreshing.
pub const MAX_ORDER_TTL_SECS: u32 = 2 * 60 * 60;
/// WeChat Pay raises a `time_expire` less than this after the order reached it to this (§3.1).
pub const WECHAT_MIN_EXPIRY: Duration = Duration::seconds(60);
/// Slack added to the client timeout for a prepay lease: a prepay that our client gave up on is
/// assumed to have landed at WeChat Pay, if at all, within the timeout plus this.
pub const PREPAY_LEASE_SLACK: Duration = Duration::seconds(1);
/// How much the merchant's and WeChat Pay's clocks may disagree. An order that WeChat Pay still
/// shows `NOTPAY` is treated as unpayable only this long after its `time_expire`.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::seconds(30);

/// What the services need to know about the merchant and the flow's timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersConfig {
    /// `WXPAY_APPID`: sent with prepays, checked on transactions.
    pub appid: String,
    /// `WXPAY_MCHID`: sent with prepays, checked on transactions.
    pub mchid: String,
    /// `ORDER_TTL_SECS`: how long an order can be paid.
    pub order_ttl_secs: u32,
    /// `RECONCILE_AFTER_SECS`: the sweep looks only at orders older than this.
    pub sweep_after_secs: u32,
    /// `RECONCILE_CONCURRENCY`: the sweep's queries in flight at most (at least 1 is used).
    pub sweep_concurrency: usize,
    /// How long an `Idempotency-Key` keeps naming its order.
    pub idempotency_ttl_secs: u32,
    /// `WXPAY_TIMEOUT_MS`: the WeChat Pay client's timeout, which bounds how late a prepay can land.
    pub wxpay_timeout_ms: u32,
    /// `LATE_PAYMENT_POLICY`: what happens to a payment that arrives after the order was closed.
    pub late_payment_policy: LatePaymentPolicy,
    /// `MAX_OPEN_ORDERS_PER_BUYER`: unpaid, unexpired orders one buyer token may have; a new order
    /// beyond it is refused (0 = no cap).
    pub max_open_orders_per_buyer: u32,
    /// `ANONYMOUS_ORDERS_PER_MINUTE`: orders placed without buyer token per clock minute, all
    /// shoppers together (0 = no cap).
    pub anonymous_orders_per_minute: u32,
}

/// What happens to a payment WeChat Pay took after the order was closed here (`paidAfterClose`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LatePaymentPolicy {
    /// `honor` (default): the order shows paid; the merchant delivers or refunds by hand.
    #[default]
    Honor,
    /// `refund`: the payment is refunded in full automatically (reserved when it is recorded,
    /// sent by the refund sweep), with the reason [`LATE_PAYMENT_REFUND_REASON`].
    Refund,
}

impl LatePaymentPolicy {
    /// Parses `honor` or `refund`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "honor" => Some(Self::Honor),
            "refund" => Some(Self::Refund),
            _ => None,
        }
    }
}

/// The reason of an automatic refund of a late payment, shown to the payer.
pub const LATE_PAYMENT_REFUND_REASON: &str = "订单已关闭，自动退款";

impl OrdersConfig {
    /// A configuration with the documented default timings and no order caps (the functions read
    /// the caps, defaults [`DEFAULT_MAX_OPEN_ORDERS_PER_BUYER`] and
    /// [`DEFAULT_ANONYMOUS_ORDERS_PER_MINUTE`], from their environment).
    pub fn new(appid: impl Into<String>, mchid: impl Into<String>) -> Self {
        Self {
            appid: appid.into(),
            mchid: mchid.into(),
            order_ttl_secs: DEFAULT_ORDER_TTL_SECS,
            sweep_after_secs: DEFAULT_SWEEP_AFTER_SECS,
            sweep_concurrency: DEFAULT_SWEEP_CONCURRENCY,
            idempotency_ttl_secs: DEFAULT_IDEMPOTENCY_TTL_SECS,
            wxpay_timeout_ms: DEFAULT_WXPAY_TIMEOUT_MS,
            late_payment_policy: LatePaymentPolicy::Honor,
            max_open_orders_per_buyer: 0,
            anonymous_orders_per_minute: 0,
        }
    }

    /// The order TTL as a duration.
    pub fn order_ttl(&self) -> Duration {
        Duration::seconds(i64::from(self.order_ttl_secs))
    }

    /// The sweep threshold as a duration.
    pub fn sweep_after(&self) -> Duration {
        Duration::seconds(i64::from(self.sweep_after_secs))
    }

    /// The idempotency key lifetime as a duration.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::seconds(i64::from(self.idempotency_ttl_secs))
    }

    /// How long a prepay holds its order's lease: the client timeout plus [`PREPAY_LEASE_SLACK`].
    /// Past it, the prepay has landed at WeChat Pay or never will.
    pub fn prepay_lease(&self) -> Duration {
        Duration::milliseconds(i64::from(self.wxpay_timeout_ms)) + PREPAY_LEASE_SLACK
    }

    /// The last moment a prepay may be sent for an order expiring at `expires_at`:
    /// `expires_at − (60 s + lease)`. A prepay sent later could land less than a minute before
    /// `time_expire`, and WeChat Pay would then push the order's expiry past ours.
    pub fn prepay_cutoff(&self, expires_at: OffsetDateTime) -> OffsetDateTime {
        expires_at - WECHAT_MIN_EXPIRY - self.prepay_lease()
    }

    /// Checks the timing: an order must live long enough for its first prepay (`ORDER_TTL_SECS`
    /// above 60 s plus the lease) and at most [`MAX_ORDER_TTL_SECS`]. The message names the fix.
    pub fn validate(&self) -> Result<(), String> {
        let ttl = self.order_ttl();
        let shortest = WECHAT_MIN_EXPIRY + self.prepay_lease();
        if ttl <= shortest {
            return Err(format!(
                "ORDER_TTL_SECS must exceed {} s (WeChat Pay's one-minute minimum plus the {} ms client timeout and lease slack)",
                shortest.whole_seconds(),
                self.wxpay_timeout_ms
            ));
        }
        if self.order_ttl_secs > MAX_ORDER_TTL_SECS {
            return Err(format!(
                "ORDER_TTL_SECS must be at most {MAX_ORDER_TTL_SECS} s, the life of a WeChat Pay code_url"
            ));
        }
        Ok(())
    }
}

/// `WXPAY_NOTIFY_URL`: where WeChat Pay posts an order's notifications, sent with each prepay.
/// Only a URL that passes [`wxpay::validate::notify_url`] can be made, so the check runs once, when
/// the configuration is loaded, rather than failing every prepay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyUrl(String);

impl NotifyUrl {
    /// Checks `value` against the protocol's rules for `notify_url` (absolute, at most 255
    /// characters, no query string, HTTPS or plain HTTP to a loopback host).
    pub fn parse(value: impl Into<String>) -> Result<Self, wxpay::validate::ValidationError> {
        let value = value.into();
        wxpay::validate::notify_url(&value)?;
        Ok(Self(value))
    }

    /// The URL as sent in a prepay.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepay_cutoff_leaves_a_minute_and_the_lease_before_expiry() {
        let config = OrdersConfig::new("wx", "1900000001");
        let expires = time::macros::datetime!(2024-05-01 00:05:00 UTC);
        assert_eq!(
            config.prepay_cutoff(expires),
            time::macros::datetime!(2024-05-01 00:03:56 UTC)
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn order_ttl_must_fit_one_prepay_and_one_code_url() {
        let mut config = OrdersConfig::new("wx", "1900000001");
        config.order_ttl_secs = 64;
        assert!(config.validate().unwrap_err().contains("exceed 64 s"));
        config.order_ttl_secs = 65;
        assert_eq!(config.validate(), Ok(()));
        config.order_ttl_secs = MAX_ORDER_TTL_SECS + 1;
        assert!(config.validate().unwrap_err().contains("at most 7200"));
    }

    #[test]
    fn notify_url_is_checked_when_made() {
        let url = NotifyUrl::parse("https://shop.example/api/wx-pay/native/notify").unwrap();
        assert_eq!(
            url.as_str(),
            "https://shop.example/api/wx-pay/native/notify"
        );
        assert!(NotifyUrl::parse("http://127.0.0.1:8080/notify").is_ok());
        for bad in [
            "",
            "/notify",
            "http://shop.example/n",
            "https://shop.example/n?a=1",
        ] {
            let err = NotifyUrl::parse(bad).unwrap_err();
            assert_eq!(err.field, "/notify_url", "{bad}");
        }
    }
}

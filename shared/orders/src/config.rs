//! Settings the services take as values (the functions read them from the environment).

use time::Duration;

/// Default `ORDER_TTL_SECS`.
pub const DEFAULT_ORDER_TTL_SECS: u32 = 300;
/// Default `RECONCILE_AFTER_SECS`.
pub const DEFAULT_RECONCILE_AFTER_SECS: u32 = 60;
/// Default `RECONCILE_CONCURRENCY`.
pub const DEFAULT_RECONCILE_CONCURRENCY: usize = 8;
/// How long an idempotency key names its order.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u32 = 24 * 60 * 60;

/// What the services need to know about the merchant and the flow's timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersConfig {
    /// `WXPAY_APPID`: sent with prepays, checked on transactions.
    pub appid: String,
    /// `WXPAY_MCHID`: sent with prepays, checked on transactions.
    pub mchid: String,
    /// `WXPAY_NOTIFY_URL`: where WeChat Pay posts notifications.
    pub notify_url: String,
    /// `ORDER_TTL_SECS`: how long an order can be paid.
    pub order_ttl_secs: u32,
    /// `RECONCILE_AFTER_SECS`: the sweep looks only at orders older than this.
    pub reconcile_after_secs: u32,
    /// `RECONCILE_CONCURRENCY`: the sweep's queries in flight at most (at least 1 is used).
    pub reconcile_concurrency: usize,
    /// How long an `Idempotency-Key` keeps naming its order.
    pub idempotency_ttl_secs: u32,
}

impl OrdersConfig {
    /// A configuration with the documented default timings.
    pub fn new(
        appid: impl Into<String>,
        mchid: impl Into<String>,
        notify_url: impl Into<String>,
    ) -> Self {
        Self {
            appid: appid.into(),
            mchid: mchid.into(),
            notify_url: notify_url.into(),
            order_ttl_secs: DEFAULT_ORDER_TTL_SECS,
            reconcile_after_secs: DEFAULT_RECONCILE_AFTER_SECS,
            reconcile_concurrency: DEFAULT_RECONCILE_CONCURRENCY,
            idempotency_ttl_secs: DEFAULT_IDEMPOTENCY_TTL_SECS,
        }
    }

    /// The order TTL as a duration.
    pub fn order_ttl(&self) -> Duration {
        Duration::seconds(i64::from(self.order_ttl_secs))
    }

    /// The reconcile threshold as a duration.
    pub fn reconcile_after(&self) -> Duration {
        Duration::seconds(i64::from(self.reconcile_after_secs))
    }

    /// The idempotency key lifetime as a duration.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::seconds(i64::from(self.idempotency_ttl_secs))
    }
}

//! Placing a Native order: price from the catalog, `NOTPAY` written first, then the prepay, then the
//! `code_url` stored.

use time::OffsetDateTime;
use wxpay::Clock;
use wxpay::models::{NativePrepayRequest, PrepayAmount};

use crate::OrdersConfig;
use crate::domain::buyer::hex;
use crate::domain::timefmt::to_wechat;
use crate::domain::{BuyerHash, Order, OrderNoError, OrderNoGenerator, OrderStatus, RandomSource};
use crate::ports::{
    CodeUrlWriter, CreateOutcome, GatewayError, IdempotencyClaim, OrderCreator, PaymentGateway,
    ProductCatalog, StoreError,
};

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// What the storefront asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrderRequest {
    /// Catalog id of the product.
    pub product_id: String,
    /// The shopper, if a buyer token was sent.
    pub buyer: Option<BuyerHash>,
    /// The `Idempotency-Key` header, if sent: the same key (from the same buyer, for the same
    /// product) returns the same order while it lasts.
    pub idempotency_key: Option<String>,
}

/// A placed order, ready to be shown as a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    /// The order as stored (with its `code_url`).
    pub order: Order,
    /// The `weixin://` link to render.
    pub code_url: String,
    /// Whether this is an earlier order returned again for the same idempotency key.
    pub replayed: bool,
}

/// Why no payable order could be returned. Suggested HTTP mapping in brackets.
#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// No such product [404].
    #[error("unknown product")]
    UnknownProduct,
    /// The idempotency key is empty, too long or not visible ASCII [400].
    #[error("invalid idempotency key")]
    InvalidIdempotencyKey,
    /// The idempotency key names an order that can no longer be paid [409].
    #[error("the order for this idempotency key is {0}")]
    NotPayable(OrderStatus),
    /// The idempotency key names an order whose payment window has passed [409].
    #[error("the order for this idempotency key has expired")]
    Expired,
    /// WeChat Pay did not answer in time; the order stays `NOTPAY` without a link and the sweep
    /// settles or closes it [504].
    #[error("prepay for {order_no} timed out")]
    PrepayTimeout {
        /// The order written before the prepay.
        order_no: String,
    },
    /// WeChat Pay refused or failed; the order stays `NOTPAY` without a link [502].
    #[error("prepay for {order_no} failed: {source}")]
    PrepayFailed {
        /// The order written before the prepay.
        order_no: String,
        /// What WeChat Pay said.
        source: GatewayError,
    },
    /// No order number could be made [500].
    #[error(transparent)]
    OrderNumber(#[from] OrderNoError),
    /// The store failed [500, or 503 for `Unavailable`/`Contention`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The key stored for an `Idempotency-Key`: scoped to the buyer and product, so that one shopper's
/// key never returns another's order.
fn scoped_key(
    raw: &str,
    buyer: Option<&BuyerHash>,
    product_id: &str,
) -> Result<String, PlaceOrderError> {
    let valid = !raw.is_empty()
        && raw.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && raw.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(PlaceOrderError::InvalidIdempotencyKey);
    }
    use sha2::{Digest, Sha256};
    let buyer = buyer.map(BuyerHash::as_str).unwrap_or("-");
    let digest = Sha256::digest(format!("{buyer}\n{product_id}\n{raw}").as_bytes());
    Ok(hex(&digest))
}

/// The prepay request for `order` (`time_expire` = its expiry, at `+08:00`).
pub fn prepay_request(
    order: &Order,
    config: &OrdersConfig,
) -> Result<NativePrepayRequest, StoreError> {
    let time_expire =
        to_wechat(order.expires_at).map_err(|err| StoreError::Invalid(err.to_string()))?;
    Ok(NativePrepayRequest {
        appid: config.appid.clone(),
        mchid: config.mchid.clone(),
        description: order.title.clone(),
        out_trade_no: order.order_no.to_string(),
        time_expire: Some(time_expire),
        attach: None,
        notify_url: config.notify_url.clone(),
        goods_tag: None,
        support_fapiao: None,
        amount: PrepayAmount {
            total: order.total_fee,
            currency: Some("CNY".into()),
        },
        detail: None,
        scene_info: None,
        settle_info: None,
    })
}

/// Places a Native order for `request.product_id`: the price and title come from the catalog; the
/// `NOTPAY` order is written first (claiming the idempotency key atomically), then prepaid with
/// `time_expire` = creation + `order_ttl_secs`, then its `code_url` is stored.
///
/// With a known idempotency key the earlier order is returned (`replayed`), in whatever state it is
/// now if it has a `code_url` (the caller shows its status); if its prepay never
/// completed, the prepay is retried with identical parameters (WeChat Pay accepts that). A failed or
/// timed-out prepay leaves a consistent `NOTPAY` order without link, which the sweep closes.
pub async fn place_native_order<S, G, C, R>(
    store: &S,
    gateway: &G,
    clock: &C,
    order_numbers: &OrderNoGenerator<R>,
    config: &OrdersConfig,
    request: &PlaceOrderRequest,
) -> Result<PlacedOrder, PlaceOrderError>
where
    S: ProductCatalog + OrderCreator + CodeUrlWriter,
    G: PaymentGateway,
    C: Clock,
    R: RandomSource,
{
    let claim_key = request
        .idempotency_key
        .as_deref()
        .map(|raw| scoped_key(raw, request.buyer.as_ref(), &request.product_id))
        .transpose()?;
    let product = store
        .get_product(&request.product_id)
        .await?
        .ok_or(PlaceOrderError::UnknownProduct)?;
    let now = super::now(clock);
    let order_no = order_numbers.generate(now)?;
    let fresh = Order::new_pending(
        order_no,
        &product,
        request.buyer.clone(),
        now,
        config.order_ttl(),
    );
    let claim = claim_key.map(|key| IdempotencyClaim {
        key,
        expires_at: fresh.created_at + config.idempotency_ttl(),
    });
    let (order, replayed) = match store.create_order(&fresh, claim.as_ref()).await? {
        CreateOutcome::Created(order) => (order, false),
        CreateOutcome::Existing(order) => (order, true),
    };
    if let Some(code_url) = order.code_url.clone() {
        return Ok(PlacedOrder {
            order,
            code_url,
            replayed,
        });
    }
    if order.order_status != OrderStatus::Notpay {
        return Err(PlaceOrderError::NotPayable(order.order_status));
    }
    if order.is_expired_at(now) {
        return Err(PlaceOrderError::Expired);
    }
    prepay_and_store(store, gateway, clock, config, order, replayed).await
}

async fn prepay_and_store<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    mut order: Order,
    replayed: bool,
) -> Result<PlacedOrder, PlaceOrderError>
where
    S: CodeUrlWriter,
    G: PaymentGateway,
    C: Clock,
{
    let prepay = prepay_request(&order, config)?;
    let code_url = match gateway.native_prepay(&prepay).await {
        Ok(code_url) => code_url,
        Err(GatewayError::Timeout) => {
            tracing::warn!(out_trade_no = %order.order_no, "prepay timed out");
            return Err(PlaceOrderError::PrepayTimeout {
                order_no: order.order_no.to_string(),
            });
        }
        Err(source) => {
            tracing::warn!(out_trade_no = %order.order_no, error = %source, "prepay failed");
            return Err(PlaceOrderError::PrepayFailed {
                order_no: order.order_no.to_string(),
                source,
            });
        }
    };
    let at: OffsetDateTime = super::now(clock);
    store.set_code_url(&order.order_no, &code_url, at).await?;
    order.code_url = Some(code_url.clone());
    order.updated_at = at;
    Ok(PlacedOrder {
        order,
        code_url,
        replayed,
    })
}

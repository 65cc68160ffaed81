//! Placing a Native order: price from the catalog, `NOTPAY` written first, then the prepay, then the
//! `code_url` stored.

use time::OffsetDateTime;
use wxpay::Clock;
use wxpay::models::NativePrepayRequest;

use crate::domain::buyer::hex;
use crate::domain::{
    BuyerHash, Order, OrderNoError, OrderNoGenerator, OrderStatus, PrepayAnswer, PrepayClaim,
};
use crate::ports::{
    AnswerOutcome, BuyerOrderLister, ClaimOutcome, CreateOutcome, GatewayError, IdempotencyClaim,
    OrderCreator, OrderReader, PaymentGateway, PrepayRecorder, ProductReader, RateCounter,
    StoreError,
};
use crate::{NotifyUrl, OrdersConfig};
use wxpay::random::RandomSource;

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
    /// The order's payment window has passed, or is too close to its end for a prepay [409].
    #[error("the order has expired")]
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
    /// The buyer token already has `open` unpaid orders, the cap [429]. The oldest of them
    /// expires in `retry_after_secs`.
    #[error("this buyer already has {open} unpaid orders")]
    TooManyOpenOrders {
        /// Unpaid, unexpired orders found.
        open: u32,
        /// Seconds until the first of them expires.
        retry_after_secs: u64,
    },
    /// This minute's orders without buyer token reached the cap [429].
    #[error("too many orders without buyer token this minute")]
    TooManyAnonymousOrders {
        /// Seconds until the next minute.
        retry_after_secs: u64,
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

/// The prepay request for `order` (`time_expire` = its expiry, written at `+08:00`; a time that
/// cannot be written is refused by the gateway's protocol check, before anything is sent), whose
/// notifications go to `notify_url`.
pub fn prepay_request(
    order: &Order,
    config: &OrdersConfig,
    notify_url: &NotifyUrl,
) -> NativePrepayRequest {
    NativePrepayRequest::new(
        config.appid.clone(),
        config.mchid.clone(),
        order.title.clone(),
        order.order_no.to_string(),
        notify_url.as_str(),
        order.total_fee,
    )
    .with_time_expire(order.expires_at)
}

/// How often a replay looks again while another request's prepay of the same order is in flight.
pub const PREPAY_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Places a Native order for `request.product_id`: the price and title come from the catalog; the
/// `NOTPAY` order is written first, claiming the idempotency key and the order's one prepay
/// atomically, then prepaid with `time_expire` = creation + `order_ttl_secs`, then its `code_url`
/// is stored (only by the latest prepay claim, only while `NOTPAY`). WeChat Pay posts the order's
/// notifications to `notify_url`.
///
/// Before a new order is written, the caps of [`caps::check`](super::caps::check) apply (429:
/// [`PlaceOrderError::TooManyOpenOrders`], [`PlaceOrderError::TooManyAnonymousOrders`]); a replay
/// is never refused by them.
///
/// With a known idempotency key the earlier order is returned (`replayed`): its link while it can
/// be paid, or its state ([`PlaceOrderError::NotPayable`], [`PlaceOrderError::Expired`]) once it
/// cannot. If its prepay never completed, the prepay is retried with identical parameters (WeChat
/// Pay accepts that) by at most one request at a time; replays that arrive meanwhile wait for its
/// result. No prepay is sent after the prepay cutoff
/// ([`OrdersConfig::prepay_cutoff`](crate::OrdersConfig::prepay_cutoff)). A failed or timed-out
/// prepay leaves a consistent `NOTPAY` order without link, which the sweep closes.
pub async fn place_native_order<S, G, C, R>(
    store: &S,
    gateway: &G,
    clock: &C,
    order_numbers: &OrderNoGenerator<R>,
    config: &OrdersConfig,
    notify_url: &NotifyUrl,
    request: &PlaceOrderRequest,
) -> Result<PlacedOrder, PlaceOrderError>
where
    S: ProductReader + OrderCreator + OrderReader + PrepayRecorder + BuyerOrderLister + RateCounter,
    G: PaymentGateway,
    C: Clock,
    R: RandomSource,
{
    let claim_key = request
        .idempotency_key
        .as_deref()
        .map(|raw| scoped_key(raw, request.buyer.as_ref(), &request.product_id))
        .transpose()?;
    let placer = Placer {
        store,
        gateway,
        clock,
        config,
        notify_url,
        replayed: true,
    };
    // A replay returns its order before the catalog and the caps are consulted: neither a product
    // removed since nor a cap reached since refuses an order that already exists.
    if let Some(key) = &claim_key
        && let Some(order) = store.claimed_order(key, super::now(clock)).await?
    {
        return placer.replay(order).await;
    }
    let product = store
        .get_product(&request.product_id)
        .await?
        .ok_or(PlaceOrderError::UnknownProduct)?;
    super::caps::check(store, config, request.buyer.as_ref(), super::now(clock)).await?;
    let now = super::now(clock);
    let order_no = order_numbers.generate(now)?;
    let mut fresh = Order::new_pending(
        order_no,
        &product,
        request.buyer.clone(),
        now,
        config.order_ttl(),
    );
    let prepay = PrepayClaim {
        at: now,
        lease_until: now + config.prepay_lease(),
        cutoff: config.prepay_cutoff(fresh.expires_at),
    };
    if prepay.at > prepay.cutoff {
        return Err(PlaceOrderError::Expired);
    }
    fresh.prepay_started_at = Some(prepay.at);
    fresh.prepay_lease_until = Some(prepay.lease_until);
    let claim = claim_key.map(|key| IdempotencyClaim {
        key,
        expires_at: fresh.created_at + config.idempotency_ttl(),
    });
    let (order, replayed) = match store.create_order(&fresh, claim.as_ref()).await? {
        CreateOutcome::Created(order) => (order, false),
        CreateOutcome::Existing(order) => (order, true),
    };
    let placer = Placer { replayed, ..placer };
    if replayed {
        placer.replay(order).await
    } else {
        placer.prepay(order, prepay.at).await
    }
}

struct Placer<'a, S, G, C> {
    store: &'a S,
    gateway: &'a G,
    clock: &'a C,
    config: &'a OrdersConfig,
    notify_url: &'a NotifyUrl,
    replayed: bool,
}

impl<S, G, C> Placer<'_, S, G, C>
where
    S: OrderReader + PrepayRecorder,
    G: PaymentGateway,
    C: Clock,
{
    fn placed(&self, order: Order, code_url: String) -> PlacedOrder {
        PlacedOrder {
            order,
            code_url,
            replayed: self.replayed,
        }
    }

    /// Returns an existing order's link, prepaying it first if it has none and nobody else is.
    async fn replay(&self, mut order: Order) -> Result<PlacedOrder, PlaceOrderError> {
        let give_up = self.clock.now() + self.config.prepay_lease() + self.config.prepay_lease();
        loop {
            let now = super::now(self.clock);
            if order.order_status != OrderStatus::Notpay {
                return Err(PlaceOrderError::NotPayable(order.order_status));
            }
            if order.is_expired_at(now) {
                return Err(PlaceOrderError::Expired);
            }
            if !order.prepay_in_flight_at(now) {
                if let Some(code_url) = order.code_url.clone() {
                    return Ok(self.placed(order, code_url));
                }
                let claim = PrepayClaim {
                    at: now,
                    lease_until: now + self.config.prepay_lease(),
                    cutoff: self.config.prepay_cutoff(order.expires_at),
                };
                match self.store.claim_prepay(&order.order_no, &claim).await? {
                    ClaimOutcome::Claimed(claimed) => return self.prepay(claimed, claim.at).await,
                    ClaimOutcome::WindowClosed(_) => return Err(PlaceOrderError::Expired),
                    ClaimOutcome::NotPending(current) => {
                        return Err(PlaceOrderError::NotPayable(current.order_status));
                    }
                    ClaimOutcome::Busy(_) => {}
                    ClaimOutcome::NotFound => return Err(StoreError::OrderNotFound.into()),
                }
            }
            if self.clock.now() >= give_up {
                return Err(PlaceOrderError::PrepayTimeout {
                    order_no: order.order_no.to_string(),
                });
            }
            tokio::time::sleep(PREPAY_POLL).await;
            order = self
                .store
                .get_order(&order.order_no)
                .await?
                .ok_or(StoreError::OrderNotFound)?;
        }
    }

    /// Sends the prepay of the claim started at `started_at`, and stores its answer.
    async fn prepay(
        &self,
        order: Order,
        started_at: OffsetDateTime,
    ) -> Result<PlacedOrder, PlaceOrderError> {
        let prepay = prepay_request(&order, self.config, self.notify_url);
        let answer = |code_url: Option<String>| PrepayAnswer {
            started_at,
            code_url,
            at: super::now(self.clock),
        };
        let code_url = match self.gateway.native_prepay(&prepay).await {
            Ok(code_url) => code_url,
            Err(GatewayError::Timeout) => {
                // It may still land: the claim holds until its lease runs out.
                tracing::warn!(out_trade_no = %order.order_no, "prepay timed out");
                return Err(PlaceOrderError::PrepayTimeout {
                    order_no: order.order_no.to_string(),
                });
            }
            Err(source) => {
                tracing::warn!(out_trade_no = %order.order_no, error = %source, "prepay failed");
                if matches!(
                    source,
                    GatewayError::Rejected { .. }
                        | GatewayError::NotSent(_)
                        | GatewayError::OrderPaid
                        | GatewayError::OrderClosed
                ) {
                    // A definite answer: this prepay will not land later, release the claim.
                    self.store
                        .answer_prepay(&order.order_no, &answer(None))
                        .await?;
                }
                return Err(PlaceOrderError::PrepayFailed {
                    order_no: order.order_no.to_string(),
                    source,
                });
            }
        };
        match self
            .store
            .answer_prepay(&order.order_no, &answer(Some(code_url.clone())))
            .await?
        {
            AnswerOutcome::Stored(order) => Ok(self.placed(order, code_url)),
            AnswerOutcome::NotPending(current) => {
                Err(PlaceOrderError::NotPayable(current.order_status))
            }
            // A later prepay replaced this link at WeChat Pay: show that one.
            AnswerOutcome::Superseded(current) => Box::pin(self.replay(current)).await,
            AnswerOutcome::NotFound => Err(StoreError::OrderNotFound.into()),
        }
    }
}

//! Placing an order the way most tests need one: prepaid, by a shopper without buyer token.

use wxpay::Clock;
use wxpay::random::OsRandom;

use crate::domain::{Order, OrderNoGenerator};
use crate::ports::{
    BuyerOrderLister, OrderCreator, OrderReader, PaymentGateway, PrepayRecorder, ProductReader,
    RateCounter,
};
use crate::services::{PlaceOrderError, PlaceOrderRequest, place_native_order};
use crate::{NotifyUrl, OrdersConfig};

/// Places and prepays an order of `product_id` (which must be in the catalog), without buyer token
/// or idempotency key, under a random number, notified at `notify_url`; returns it as stored.
pub async fn place_prepaid<S, G, C>(
    store: &S,
    gateway: &G,
    clock: &C,
    config: &OrdersConfig,
    notify_url: &NotifyUrl,
    product_id: &str,
) -> Result<Order, PlaceOrderError>
where
    S: ProductReader + OrderCreator + OrderReader + PrepayRecorder + BuyerOrderLister + RateCounter,
    G: PaymentGateway,
    C: Clock,
{
    let placed = place_native_order(
        store,
        gateway,
        clock,
        &OrderNoGenerator::new(OsRandom),
        config,
        notify_url,
        &PlaceOrderRequest {
            product_id: product_id.to_owned(),
            buyer: None,
            idempotency_key: None,
        },
    )
    .await?;
    Ok(placed.order)
}

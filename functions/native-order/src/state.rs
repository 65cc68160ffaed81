//! What the API needs (only the capabilities it uses) and the router over it.

use crate::handlers;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{get, post};
use orders::domain::OrderNoGenerator;
use orders::ports::{
    BuyerOrderLister, EvidenceRecorder, OrderCloser, OrderCreator, OrderReader, OrderSettler,
    PaymentGateway, PrepayRecorder, ProductReader, RateCounter, RefundRequester,
};
use orders::{NotifyUrl, OrdersConfig};
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use wxpay::Clock;

/// Largest request body accepted (the API reads none today; the limit keeps it that way): a
/// request declaring a longer body is answered 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The storage capabilities the storefront API uses (and its IAM policy grants).
pub trait StorefrontStore:
    ProductReader
    + OrderCreator
    + PrepayRecorder
    + OrderReader
    + OrderSettler
    + OrderCloser
    + EvidenceRecorder
    + RefundRequester
    + BuyerOrderLister
    + RateCounter
    + 'static
{
}

impl<T> StorefrontStore for T where
    T: ProductReader
        + OrderCreator
        + PrepayRecorder
        + OrderReader
        + OrderSettler
        + OrderCloser
        + EvidenceRecorder
        + RefundRequester
        + BuyerOrderLister
        + RateCounter
        + 'static
{
}

/// Everything the handlers share; built once per cold start.
pub struct Deps<S, G, C> {
    /// The order store.
    pub store: S,
    /// WeChat Pay.
    pub gateway: G,
    /// Time.
    pub clock: C,
    /// Merchant settings and flow timing.
    pub config: OrdersConfig,
    /// `WXPAY_NOTIFY_URL`, sent with each prepay.
    pub notify_url: NotifyUrl,
    /// Order numbers.
    pub order_numbers: OrderNoGenerator,
}

/// The API's routes, with the body limit and, when `storefront_origin` is given, CORS for exactly
/// that origin (none when the storefront is served from the same origin).
pub fn router<S, G, C>(state: Arc<Deps<S, G, C>>, storefront_origin: Option<HeaderValue>) -> Router
where
    S: StorefrontStore,
    G: PaymentGateway + 'static,
    C: Clock + 'static,
{
    let routes = Router::new()
        .route("/api/product/list", get(handlers::list_products::<S, G, C>))
        .route(
            "/api/wx-pay/native/{product_id}",
            post(handlers::place_order::<S, G, C>),
        )
        .route(
            "/api/order-info/query-order-status/{order_no}",
            get(handlers::order_status::<S, G, C>),
        )
        .route(
            "/api/order-info/list",
            get(handlers::list_orders::<S, G, C>),
        )
        .route(
            "/api/wx-pay/cancel/{order_no}",
            post(handlers::cancel::<S, G, C>),
        )
        // Not `DefaultBodyLimit`, which only bounds extractors that read the body: no handler
        // reads one, so it would let any body through.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(state);
    match storefront_origin {
        Some(origin) => routes.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(origin))
                .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
                .allow_headers([
                    HeaderName::from_static("content-type"),
                    HeaderName::from_static("x-buyer-token"),
                    HeaderName::from_static("idempotency-key"),
                ])
                // The storefront reads `Date` to correct its countdown for its clock's offset, and
                // `Retry-After` to know how long to back off after a 429.
                .expose_headers([header::DATE, header::RETRY_AFTER])
                .max_age(std::time::Duration::from_secs(600)),
        ),
        None => routes,
    }
}

//! What the admin API needs (only the capabilities it uses) and the router over it.

use crate::{catalog, handlers, principal};
use axum::Router;
use axum::middleware;
use axum::routing::{get, post, put};
use orders::NotifyUrl;
use orders::ports::{
    ListedOrderLister, OrderReader, PaymentRecordReader, ProductReader, ProductWriter,
    RefundGateway, RefundReader, RefundRecorder, RefundRequester,
};
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use wxpay::Clock;

/// Largest request body accepted (a refund's or a product's JSON is well under it): a longer body is answered
/// 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The storage capabilities the admin API uses (and its IAM policy grants).
pub trait AdminStore:
    OrderReader
    + PaymentRecordReader
    + RefundRequester
    + RefundRecorder
    + RefundReader
    + ListedOrderLister
    + ProductReader
    + ProductWriter
    + 'static
{
}

impl<T> AdminStore for T where
    T: OrderReader
        + PaymentRecordReader
        + RefundRequester
        + RefundRecorder
        + RefundReader
        + ListedOrderLister
        + ProductReader
        + ProductWriter
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
    /// `WXPAY_NOTIFY_URL`, sent with each refund (refund notifications come to pay-notify).
    pub notify_url: NotifyUrl,
}

/// The admin routes (all under `/admin`), with the body limit; every route answers 401 unless the
/// host put a [`Principal`](crate::Principal) on the request.
pub fn router<S, G, C>(state: Arc<Deps<S, G, C>>) -> Router
where
    S: AdminStore,
    G: RefundGateway + 'static,
    C: Clock + 'static,
{
    Router::new()
        .route("/admin/orders", get(handlers::list_orders::<S, G, C>))
        .route("/admin/orders/{order_no}", get(handlers::order::<S, G, C>))
        .route(
            "/admin/orders/{order_no}/refunds",
            post(handlers::refund::<S, G, C>),
        )
        .route("/admin/products", get(catalog::list_products::<S, G, C>))
        .route(
            "/admin/products/{id}",
            put(catalog::put_product::<S, G, C>).delete(catalog::remove_product::<S, G, C>),
        )
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(principal::required))
        .with_state(state)
}

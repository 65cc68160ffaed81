//! The catalog routes: list the products, put one, remove one. The storefront reads what these
//! write; orders already placed keep their own title and price whatever happens here.

use crate::envelope::{self, AdminError};
use crate::principal::Principal;
use crate::state::{AdminStore, Deps};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use orders::domain::product::{MAX_PRODUCTS, valid_product_id};
use orders::domain::{Product, ProductInput};
use orders::ports::{RefundGateway, StoreError};
use serde::Serialize;
use std::sync::Arc;
use wxpay::Clock;

type Shared<S, G, C> = State<Arc<Deps<S, G, C>>>;

fn store_failure(error: &StoreError) -> AdminError {
    tracing::error!(error = %error, "catalog store failed");
    AdminError::Unavailable
}

fn product_id(raw: &str) -> Result<&str, AdminError> {
    if valid_product_id(raw) {
        Ok(raw)
    } else {
        Err(AdminError::BadRequest(
            "product id must be 1–64 characters of [0-9A-Za-z_-]".into(),
        ))
    }
}

/// `data` of `GET /admin/products`.
#[derive(Debug, Serialize)]
struct ProductList {
    list: Vec<Product>,
}

/// `GET /admin/products`: every product of the catalog, by id (what the storefront lists).
pub async fn list_products<S: AdminStore, G: RefundGateway, C: Clock>(
    State(state): Shared<S, G, C>,
) -> Result<Response, AdminError> {
    let list = state
        .store
        .list_products()
        .await
        .map_err(|e| store_failure(&e))?;
    Ok(envelope::ok(StatusCode::OK, "ok", ProductList { list }))
}

/// `PUT /admin/products/{id}` with a [`ProductInput`] body (its `id` the path's): adds the
/// product or replaces its title and price. 201 when it is new, 200 when it replaced one. At most
/// [`MAX_PRODUCTS`] products (checked before the write: two concurrent puts of new products can
/// pass it together, so it is a soft bound).
pub async fn put_product<S: AdminStore, G: RefundGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(raw): Path<String>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let id = product_id(&raw)?;
    let input: ProductInput = serde_json::from_slice(&body).map_err(|_| {
        AdminError::BadRequest(
            "the body must be JSON {\"id\", \"title\", \"price\" (fen), \"currency\": \"CNY\"}"
                .into(),
        )
    })?;
    if input.id != id {
        return Err(AdminError::BadRequest(
            "the body's id must be the one in the path".into(),
        ));
    }
    let product = input
        .into_product()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let existing = state
        .store
        .list_products()
        .await
        .map_err(|e| store_failure(&e))?;
    let replaces = existing.iter().any(|p| p.id == product.id);
    if !replaces && existing.len() >= MAX_PRODUCTS {
        return Err(AdminError::Conflict(format!(
            "the catalog is full ({MAX_PRODUCTS} products): remove one first"
        )));
    }
    state
        .store
        .put_product(&product)
        .await
        .map_err(|e| store_failure(&e))?;
    tracing::info!(
        product_id = %product.id,
        price = product.price,
        replaced = replaces,
        requested_by = %principal.0,
        "product saved"
    );
    let (status, message) = if replaces {
        (StatusCode::OK, "product replaced")
    } else {
        (StatusCode::CREATED, "product added")
    };
    Ok(envelope::ok(status, message, product))
}

/// `DELETE /admin/products/{id}`: takes the product off the catalog (no longer listed nor
/// orderable; its orders are unaffected). 404 if there is no such product.
pub async fn remove_product<S: AdminStore, G: RefundGateway, C: Clock>(
    State(state): Shared<S, G, C>,
    Path(raw): Path<String>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, AdminError> {
    let id = product_id(&raw)?;
    let removed = state
        .store
        .remove_product(id)
        .await
        .map_err(|e| store_failure(&e))?;
    if !removed {
        return Err(AdminError::ProductNotFound);
    }
    tracing::info!(product_id = %id, requested_by = %principal.0, "product removed");
    Ok(envelope::ok(
        StatusCode::OK,
        "product removed",
        serde_json::json!({ "id": id }),
    ))
}

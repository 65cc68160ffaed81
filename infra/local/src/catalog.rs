//! The demo catalog a fresh local store starts with.

use orders::domain::Product;
use orders::ports::{ProductReader, ProductWriter, StoreError};

/// Products of the seed tutorial, priced in fen (small amounts: sandbox money is still money-shaped).
const DEMO_PRODUCTS: [(&str, &str, i64); 4] = [
    ("1", "Java课程", 1),
    ("2", "大数据课程", 1),
    ("3", "前端课程", 2),
    ("4", "UI课程", 3),
];

/// Puts the demo products into an empty catalog; leaves a non-empty one alone.
pub async fn seed_if_empty(store: &(impl ProductReader + ProductWriter)) -> Result<(), StoreError> {
    if !store.list_products().await?.is_empty() {
        return Ok(());
    }
    for (id, title, price) in DEMO_PRODUCTS {
        let product =
            Product::new(id, title, price).map_err(|e| StoreError::Invalid(e.to_string()))?;
        store.put_product(&product).await?;
    }
    Ok(())
}

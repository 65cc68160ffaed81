//! Products: prices live on the server, never taken from the client.

use serde::{Deserialize, Serialize};

/// Highest price accepted, in fen (¥1,000,000). WeChat Pay's `amount.total` is a 64-bit integer
/// and no maximum is published; this bound keeps a price far inside it and catches a price typed
/// with extra digits.
pub const MAX_PRICE_FEN: i64 = 100_000_000;

/// The only currency of Native payments.
pub const CURRENCY: &str = "CNY";

/// Most products one catalog holds (the storefront lists them all; DynamoDB's catalog item keeps
/// their ids in one set).
pub const MAX_PRODUCTS: usize = 200;

/// Why a product was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProduct {
    /// The id is not 1–64 characters of `[0-9A-Za-z_-]`.
    #[error("product id must be 1–64 characters of [0-9A-Za-z_-]")]
    Id,
    /// The title is not a valid WeChat Pay `description`: 1–127 characters, no emoji.
    #[error("product title must be 1–127 characters, without emoji (4-byte characters)")]
    Title,
    /// The price is not a whole number of fen from 1 to [`MAX_PRICE_FEN`].
    #[error("product price must be 1–100000000 fen")]
    Price,
    /// The currency is not CNY.
    #[error("product currency must be CNY")]
    Currency,
}

/// Checks a currency named with a product: only [`CURRENCY`].
pub fn check_currency(currency: &str) -> Result<(), InvalidProduct> {
    if currency == CURRENCY {
        Ok(())
    } else {
        Err(InvalidProduct::Currency)
    }
}

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Catalog id (the `{productId}` of the storefront's URLs).
    pub id: String,
    /// Title, used as the WeChat Pay `description`.
    pub title: String,
    /// Price in fen.
    pub price: i64,
}

impl Product {
    /// A checked product.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        price: i64,
    ) -> Result<Self, InvalidProduct> {
        let product = Self {
            id: id.into(),
            title: title.into(),
            price,
        };
        product.validate()?;
        Ok(product)
    }

    /// Checks the id, title and price.
    pub fn validate(&self) -> Result<(), InvalidProduct> {
        if !valid_product_id(&self.id) {
            return Err(InvalidProduct::Id);
        }
        if wxpay::validate::description(&self.title).is_err() {
            return Err(InvalidProduct::Title);
        }
        if !(1..=MAX_PRICE_FEN).contains(&self.price) {
            return Err(InvalidProduct::Price);
        }
        Ok(())
    }
}

/// A product as the admin API takes it and a catalog file lists it:
/// `{"id": "rust-101", "title": "Rust 课程", "price": 2999, "currency": "CNY"}` (`currency` may be
/// left out; it can only be CNY). Unknown fields are refused, so a misspelt field is not ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Catalog id: 1–64 characters of `[0-9A-Za-z_-]`.
    pub id: String,
    /// Title, the WeChat Pay `description`: 1–127 characters, no emoji.
    pub title: String,
    /// Price in fen, 1 to [`MAX_PRICE_FEN`].
    pub price: i64,
    /// [`CURRENCY`], if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl ProductInput {
    /// The checked product.
    pub fn into_product(self) -> Result<Product, InvalidProduct> {
        if let Some(currency) = &self.currency {
            check_currency(currency)?;
        }
        Product::new(self.id, self.title, self.price)
    }
}

/// Whether `id` could be a product id (checked before any lookup).
pub fn valid_product_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_checked() {
        assert!(Product::new("1", "Java课程", 1).is_ok());
        assert_eq!(Product::new("", "t", 1), Err(InvalidProduct::Id));
        assert_eq!(Product::new("a#b", "t", 1), Err(InvalidProduct::Id));
        assert_eq!(Product::new("a", "", 1), Err(InvalidProduct::Title));
        assert_eq!(Product::new("a", "t", 0), Err(InvalidProduct::Price));
        assert_eq!(
            Product::new("a".repeat(65), "t", 1),
            Err(InvalidProduct::Id)
        );
        assert!(Product::new("a", "字".repeat(127), MAX_PRICE_FEN).is_ok());
        assert_eq!(
            Product::new("a", "字".repeat(128), 1),
            Err(InvalidProduct::Title)
        );
        assert_eq!(Product::new("a", "cake 🎂", 1), Err(InvalidProduct::Title));
        assert_eq!(
            Product::new("a", "t", MAX_PRICE_FEN + 1),
            Err(InvalidProduct::Price)
        );
        assert_eq!(check_currency("CNY"), Ok(()));
        let input: ProductInput =
            serde_json::from_str(r#"{"id":"r1","title":"Rust","price":2999}"#).unwrap();
        assert_eq!(input.into_product(), Product::new("r1", "Rust", 2999));
        let usd: ProductInput =
            serde_json::from_str(r#"{"id":"r1","title":"Rust","price":1,"currency":"USD"}"#)
                .unwrap();
        assert_eq!(usd.into_product(), Err(InvalidProduct::Currency));
        assert!(
            serde_json::from_str::<ProductInput>(r#"{"id":"r1","title":"R","price":1,"prize":2}"#)
                .is_err()
        );
        assert_eq!(check_currency("USD"), Err(InvalidProduct::Currency));
    }
}

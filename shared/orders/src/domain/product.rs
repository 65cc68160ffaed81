//! Products: prices live on the server, never taken from the client.

use serde::{Deserialize, Serialize};

/// Why a product was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProduct {
    /// The id is not 1–64 characters of `[0-9A-Za-z_-]`.
    #[error("product id must be 1–64 characters of [0-9A-Za-z_-]")]
    Id,
    /// The title is empty or longer than WeChat Pay's 127-character description.
    #[error("product title must be 1–127 characters")]
    Title,
    /// The price is not a positive number of fen.
    #[error("product price must be at least 1 fen")]
    Price,
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
        let chars = self.title.chars().count();
        if chars == 0 || chars > 127 {
            return Err(InvalidProduct::Title);
        }
        if self.price < 1 {
            return Err(InvalidProduct::Price);
        }
        Ok(())
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
    }
}

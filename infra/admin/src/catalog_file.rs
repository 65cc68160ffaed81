//! The catalog file `wxpay-admin products put` reads: `{"products": [{"id", "title", "price",
//! "currency"}, …]}`, each entry the body of one `PUT /admin/products/{id}`
//! ([`ProductInput`]). The whole file is checked before anything is sent.

use anyhow::{Context, bail};
use orders::domain::ProductInput;
use orders::domain::product::MAX_PRODUCTS;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

/// Largest catalog file read (far above [`MAX_PRODUCTS`] entries of the longest fields).
const MAX_FILE_BYTES: u64 = 256 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    products: Vec<ProductInput>,
}

/// The checked entries of the catalog file at `path`.
pub fn read(path: &Path) -> anyhow::Result<Vec<ProductInput>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        bail!("{} is larger than {MAX_FILE_BYTES} bytes", path.display());
    }
    parse(&text).with_context(|| format!("{} is not a valid catalog file", path.display()))
}

/// The checked entries of a catalog file's text.
pub fn parse(text: &str) -> anyhow::Result<Vec<ProductInput>> {
    let file: CatalogFile = serde_json::from_str(text).context(
        "expected {\"products\": [{\"id\", \"title\", \"price\" (fen), \"currency\": \"CNY\"}, …]}",
    )?;
    if file.products.is_empty() {
        bail!("\"products\" is empty");
    }
    if file.products.len() > MAX_PRODUCTS {
        bail!("more than {MAX_PRODUCTS} products");
    }
    let mut ids = BTreeSet::new();
    for (i, entry) in file.products.iter().enumerate() {
        if !ids.insert(entry.id.as_str()) {
            bail!("product {} (entry {i}) is listed twice", entry.id);
        }
        entry
            .clone()
            .into_product()
            .with_context(|| format!("entry {i} ({:?})", entry.id))?;
    }
    Ok(file.products)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn error(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!("../../catalog.example.json");
        let entries = parse(text).unwrap();
        assert!(entries.len() >= 2);
        assert!(entries.iter().all(|e| e.clone().into_product().is_ok()));
    }

    #[test]
    fn every_entry_is_checked() {
        let ok = r#"{"products": [{"id": "a", "title": "A", "price": 1}]}"#;
        assert_eq!(parse(ok).unwrap().len(), 1);
        assert!(error(r#"{"products": []}"#).contains("empty"));
        assert!(error(r#"{"items": []}"#).contains("expected"));
        assert!(
            error(r#"{"products": [{"id": "a", "title": "A", "price": 1, "cost": 2}]}"#)
                .contains("expected")
        );
        assert!(
            error(r#"{"products": [{"id": "a", "title": "A", "price": 1}, {"id": "a", "title": "B", "price": 2}]}"#)
                .contains("listed twice")
        );
        let bad_price = r#"{"products": [{"id": "a", "title": "A", "price": 1}, {"id": "b", "title": "B", "price": 0}]}"#;
        assert!(error(bad_price).contains("entry 1 (\"b\")"));
        assert!(error(bad_price).contains("price"));
        assert!(
            error(r#"{"products": [{"id": "a", "title": "A", "price": 1, "currency": "HKD"}]}"#)
                .contains("CNY")
        );
        assert!(error(r#"{"products": [{"id": "a b", "title": "A", "price": 1}]}"#).contains("id"));
        let many: Vec<String> = (0..=MAX_PRODUCTS)
            .map(|i| format!(r#"{{"id": "p{i}", "title": "T", "price": 1}}"#))
            .collect();
        assert!(error(&format!(r#"{{"products": [{}]}}"#, many.join(","))).contains("more than"));
    }
}

//! Pagination with opaque cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::store::StoreError;

/// Largest page a store returns, whatever is asked.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// An opaque position in a listing, handed back to get the next page. Only the store that made it
/// understands it; anything else is refused with [`StoreError::InvalidCursor`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a token received from a client.
    pub fn from_token(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token to hand to a client.
    pub fn as_token(&self) -> &str {
        &self.0
    }

    /// Encodes a store's private position (used by store adapters).
    pub fn encode(position: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(position.as_bytes()))
    }

    /// Decodes a store's private position (used by store adapters).
    pub fn decode(&self) -> Result<String, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.0.as_bytes())
            .map_err(|_| StoreError::InvalidCursor)?;
        String::from_utf8(bytes).map_err(|_| StoreError::InvalidCursor)
    }
}

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (clamped to 1..=[`MAX_PAGE_SIZE`]).
    pub limit: u32,
    /// Where the previous page stopped; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// The page after `cursor`.
    pub fn after(limit: u32, cursor: Cursor) -> Self {
        Self {
            limit,
            cursor: Some(cursor),
        }
    }

    /// The limit clamped to 1..=[`MAX_PAGE_SIZE`].
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where to continue; `None` when the listing is exhausted.
    pub next: Option<Cursor>,
}

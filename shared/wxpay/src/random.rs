//! Random strings for `nonce_str`, notification nonces and the like. Injectable for tests.

/// The characters of an APIv3 nonce.
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of the request nonce the official SDKs send.
pub const NONCE_LEN: usize = 32;

/// A source of nonces.
pub trait NonceSource: Send + Sync {
    /// A fresh 32-character `[0-9A-Za-z]` nonce.
    fn nonce(&self) -> String;
}

/// Nonces from the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsNonce;

impl NonceSource for OsNonce {
    fn nonce(&self) -> String {
        random_alphanumeric(NONCE_LEN)
    }
}

/// A nonce source that always answers the same value; for known-answer tests.
#[derive(Debug, Clone)]
pub struct FixedNonce(pub String);

impl NonceSource for FixedNonce {
    fn nonce(&self) -> String {
        self.0.clone()
    }
}

/// `len` characters of `[0-9A-Za-z]` from the OS CSPRNG, without modulo bias.
///
/// If the OS refuses randomness (which Linux does not once booted) the process cannot safely go on
/// signing, so this aborts through the panic handler rather than returning a weak nonce.
pub fn random_alphanumeric(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf);
        for &byte in &buf {
            // 62 * 4 = 248: reject 248..=255 so every character is equally likely.
            if byte < 248 && out.len() < len {
                out.push(char::from(ALPHANUMERIC[usize::from(byte % 62)]));
            }
        }
    }
    out
}

/// Fills `buf` from the OS CSPRNG.
#[allow(clippy::panic)] // Nothing sane can continue without randomness; see `random_alphanumeric`.
pub fn fill_random(buf: &mut [u8]) {
    if let Err(error) = getrandom::fill(buf) {
        panic!("operating system randomness unavailable: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_alphanumeric_characters_and_differ() {
        let a = OsNonce.nonce();
        let b = OsNonce.nonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}

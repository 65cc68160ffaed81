//! Randomness: one injectable source of random bytes ([`RandomSource`]: the operating system's
//! CSPRNG, or fixed bytes for known-answer tests) and the strings built on it without modulo bias
//! (`nonce_str`, notification nonces, identifiers).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The characters of an APIv3 nonce.
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of the request nonce the official SDKs send.
pub const NONCE_LEN: usize = 32;

/// A source of random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
///
/// If the OS refuses randomness (which Linux does not once booted) the process cannot safely go on
/// signing or numbering orders, so this aborts through the panic handler rather than returning
/// weak bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    #[allow(clippy::panic)] // Nothing sane can continue without randomness; see above.
    fn fill(&self, buf: &mut [u8]) {
        if let Err(error) = getrandom::fill(buf) {
            panic!("operating system randomness unavailable: {error}");
        }
    }
}

/// Given bytes, handed out in order and then again from the start; for known-answer tests.
#[derive(Debug)]
pub struct FixedRandom {
    bytes: Vec<u8>,
    next: AtomicUsize,
}

impl FixedRandom {
    /// Cycles through `bytes` (zeros if empty).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            next: AtomicUsize::new(0),
        }
    }

    /// The source whose [`alphanumeric`] string of `text.len()` characters is `text` (e.g. a
    /// known-answer test's `nonce_str`). `None` if `text` is not `[0-9A-Za-z]`.
    pub fn alphanumeric(text: &str) -> Option<Self> {
        text.bytes()
            .map(|c| {
                ALPHANUMERIC
                    .iter()
                    .position(|&a| a == c)
                    .and_then(|index| u8::try_from(index).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .map(Self::new)
    }
}

impl RandomSource for FixedRandom {
    fn fill(&self, buf: &mut [u8]) {
        if self.bytes.is_empty() {
            buf.fill(0);
            return;
        }
        for out in buf {
            let at = self.next.fetch_add(1, Ordering::Relaxed) % self.bytes.len();
            *out = self.bytes[at];
        }
    }
}

/// `len` characters drawn from `alphabet`, each equally likely: bytes at or above the largest
/// multiple of the alphabet's size are skipped.
fn uniform(random: &(impl RandomSource + ?Sized), alphabet: &[u8], len: usize) -> String {
    let size = alphabet.len();
    // 256 - 256 % size, at most 256: the bytes below it map evenly onto the alphabet.
    let limit = 256 - 256 % size;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        // No more bytes than characters still wanted, so a fixed source's bytes map one to one.
        let wanted = &mut buf[..(len - out.len()).min(64)];
        random.fill(wanted);
        for &byte in wanted.iter() {
            let byte = usize::from(byte);
            if byte < limit {
                out.push(char::from(alphabet[byte % size]));
            }
        }
    }
    out
}

/// `len` characters of `[0-9A-Za-z]` (a nonce).
pub fn alphanumeric(random: &(impl RandomSource + ?Sized), len: usize) -> String {
    uniform(random, ALPHANUMERIC, len)
}

/// `len` decimal digits.
pub fn digits(random: &(impl RandomSource + ?Sized), len: usize) -> String {
    uniform(random, b"0123456789", len)
}

/// `len` lower-case hex digits.
pub fn hex(random: &(impl RandomSource + ?Sized), len: usize) -> String {
    uniform(random, b"0123456789abcdef", len)
}

/// `len` upper-case hex digits.
pub fn upper_hex(random: &(impl RandomSource + ?Sized), len: usize) -> String {
    uniform(random, b"0123456789ABCDEF", len)
}

/// A uniformly random number in `[0, 1)`.
pub fn unit(random: &(impl RandomSource + ?Sized)) -> f64 {
    let mut bytes = [0u8; 8];
    random.fill(&mut bytes);
    // 53 random bits give every representable step of an f64 in [0, 1).
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_alphanumeric_characters_and_differ() {
        let a = alphanumeric(&OsRandom, NONCE_LEN);
        let b = alphanumeric(&OsRandom, NONCE_LEN);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_fixed_source_gives_the_chosen_nonce() {
        let nonce = "593BEC0C930BF1AFEB40B4A08C8FB242";
        let fixed = FixedRandom::alphanumeric(nonce).unwrap();
        assert_eq!(alphanumeric(&fixed, NONCE_LEN), nonce);
        assert_eq!(
            alphanumeric(&fixed, NONCE_LEN),
            nonce,
            "the same every time"
        );
        assert!(FixedRandom::alphanumeric("not-alphanumeric").is_none());
    }

    #[test]
    fn bytes_past_the_last_whole_alphabet_are_skipped() {
        // 250..=255 would favour 0..=5 among digits: skipped, so 250 then 7 gives "7".
        assert_eq!(digits(&FixedRandom::new([250, 7]), 1), "7");
        // 62 * 4 = 248: 248 is skipped, 61 is `z`.
        assert_eq!(alphanumeric(&FixedRandom::new([248, 61]), 1), "z");
        // Sixteen divides 256: every byte is used.
        assert_eq!(hex(&FixedRandom::new([255, 16]), 2), "f0");
        assert_eq!(upper_hex(&FixedRandom::new([171]), 1), "B");
    }

    #[test]
    fn strings_have_the_requested_length_and_alphabet() {
        let h = upper_hex(&OsRandom, 40);
        assert_eq!(h.len(), 40);
        assert!(
            h.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
        assert_eq!(hex(&OsRandom, 31).len(), 31);
        let d = digits(&OsRandom, 28);
        assert_eq!(d.len(), 28);
        assert!(d.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(digits(&OsRandom, 28), digits(&OsRandom, 28));
    }

    #[test]
    fn unit_is_in_range() {
        for _ in 0..1000 {
            let x = unit(&OsRandom);
            assert!((0.0..1.0).contains(&x));
        }
    }
}

//! Identifiers WeChat Pay hands out, from the operating system's CSPRNG.

use time::OffsetDateTime;
use wxpay::nonce::{fill_random, random_alphanumeric};

/// `len` random decimal digits, without modulo bias.
pub fn digits(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        fill_random(&mut buf);
        for &byte in &buf {
            // 250 = 25 * 10: reject 250..=255 so every digit is equally likely.
            if byte < 250 && out.len() < len {
                out.push(char::from(b'0' + byte % 10));
            }
        }
    }
    out
}

/// `len` random upper-case hex digits.
pub fn upper_hex(len: usize) -> String {
    hex(len).to_ascii_uppercase()
}

/// `len` random lower-case hex digits.
pub fn hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    fill_random(&mut bytes);
    let mut out: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    out.truncate(len);
    out
}

/// `len` random characters of `[0-9A-Za-z]`.
pub fn alphanumeric(len: usize) -> String {
    random_alphanumeric(len)
}

/// A uniformly random number in `[0, 1)`.
pub fn unit() -> f64 {
    let mut bytes = [0u8; 8];
    fill_random(&mut bytes);
    // 53 random bits give every representable step of an f64 in [0, 1).
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A 28-digit transaction id in the shape WeChat Pay uses: `4200` + the payment date in China
/// Standard Time + 16 random digits.
pub fn transaction_id(paid_at: OffsetDateTime) -> String {
    let day = paid_at.to_offset(wxpay::time::CST);
    format!(
        "4200{:04}{:02}{:02}{}",
        day.year(),
        u8::from(day.month()),
        day.day(),
        digits(16)
    )
}

/// An openid-like payer id: `o` followed by 27 random alphanumerics (28 characters, as real
/// openids have).
pub fn openid() -> String {
    format!("o{}", alphanumeric(27))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_28_digits_dated_in_china_time() {
        // 2024-01-01T20:00:00Z is already 2 January in Beijing.
        let at = OffsetDateTime::from_unix_timestamp(1_704_139_200).unwrap();
        let id = transaction_id(at);
        assert_eq!(id.len(), 28);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
        assert!(id.starts_with("420020240102"), "{id}");
    }

    #[test]
    fn hex_and_digits_have_the_requested_length_and_alphabet() {
        let h = upper_hex(40);
        assert_eq!(h.len(), 40);
        assert!(
            h.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
        assert_eq!(hex(31).len(), 31);
        assert_eq!(digits(28).len(), 28);
        assert_ne!(digits(28), digits(28));
    }

    #[test]
    fn unit_is_in_range() {
        for _ in 0..1000 {
            let x = unit();
            assert!((0.0..1.0).contains(&x));
        }
    }
}

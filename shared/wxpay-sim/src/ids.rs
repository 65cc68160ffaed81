//! Identifiers in the shapes WeChat Pay hands out, from the operating system's CSPRNG (the
//! strings themselves come from [`wxpay::random`]).

use time::OffsetDateTime;
use wxpay::random::{OsRandom, alphanumeric, digits};

/// A 28-digit transaction id in the shape WeChat Pay uses: `4200` + the payment date in China
/// Standard Time + 16 random digits.
pub fn transaction_id(paid_at: OffsetDateTime) -> String {
    let day = paid_at.to_offset(wxpay::time::CST);
    format!(
        "4200{:04}{:02}{:02}{}",
        day.year(),
        u8::from(day.month()),
        day.day(),
        digits(&OsRandom, 16)
    )
}

/// An openid-like payer id: `o` followed by 27 random alphanumerics (28 characters, as real
/// openids have).
pub fn openid() -> String {
    format!("o{}", alphanumeric(&OsRandom, 27))
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
}

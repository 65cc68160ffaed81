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

/// A 29-digit refund id in the shape WeChat Pay uses (`50000000382019052709732678859`): `50` +
/// the refund date in China Standard Time + 19 random digits.
pub fn refund_id(created_at: OffsetDateTime) -> String {
    let day = created_at.to_offset(wxpay::time::CST);
    format!(
        "50{:04}{:02}{:02}{}",
        day.year(),
        u8::from(day.month()),
        day.day(),
        digits(&OsRandom, 19)
    )
}

/// The `out_refund_no` of a refund made by hand in the merchant platform: `MP` + 30 random digits,
/// a number the merchant never issues.
pub fn platform_refund_no() -> String {
    format!("MP{}", digits(&OsRandom, 30))
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
        let refund = refund_id(at);
        assert_eq!(refund.len(), 29);
        assert!(refund.starts_with("5020240102"), "{refund}");
    }
}

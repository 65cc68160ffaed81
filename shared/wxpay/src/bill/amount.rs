//! The bill's numbers, read and written as decimal text, never through floats: amounts in yuan
//! with exactly two decimals (→ fen), fees in yuan with two to five decimals, signed (→ thousandths
//! of a fen), fee rates as a percentage with up to two decimals (→ basis points).
//!
//! Five-decimal fees (`0.05940`, `-0.05940` on a refund) are how the bills quoted by WeChat Pay's
//! SDK tests and merchants' fixtures look; §8 of the protocol reference does not describe the
//! columns (assumption, widely observed).

/// Why a number of the bill could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not of the form the column requires.
    #[error("{0:?} is not {1}")]
    Malformed(String, &'static str),
    /// Too large for 64 bits.
    #[error("{0:?} is out of range")]
    OutOfRange(String),
}

/// Fen per yuan.
const FEN_PER_YUAN: i64 = 100;
/// Thousandths of a fen per yuan (a fee's unit: 10⁻⁵ yuan).
pub const MILLIFEN_PER_YUAN: i64 = 100_000;

/// An amount of the bill, `12.34` yuan → 1234 fen. Exactly two decimals, no sign, no spaces; the
/// whole part has no leading zero (`0.50`, not `00.50`).
pub fn parse_yuan(text: &str) -> Result<i64, AmountError> {
    const SHAPE: &str = "an amount in yuan with two decimals";
    let malformed = || AmountError::Malformed(text.to_owned(), SHAPE);
    let (whole, fraction) = text.split_once('.').ok_or_else(malformed)?;
    if fraction.len() != 2 || !is_whole_number(whole) || !all_digits(fraction) {
        return Err(malformed());
    }
    scaled(text, whole, fraction, FEN_PER_YUAN)
}

/// A fee of the bill, `0.05940` yuan → 5940 thousandths of a fen; negative on refunds. Two to five
/// decimals, an optional leading `-`.
pub fn parse_fee(text: &str) -> Result<i64, AmountError> {
    const SHAPE: &str = "a fee in yuan with two to five decimals";
    let malformed = || AmountError::Malformed(text.to_owned(), SHAPE);
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').ok_or_else(malformed)?;
    if !(2..=5).contains(&fraction.len()) || !is_whole_number(whole) || !all_digits(fraction) {
        return Err(malformed());
    }
    let magnitude = scaled(text, whole, fraction, MILLIFEN_PER_YUAN)?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// A fee rate, `0.60%` → 60 basis points. Up to two decimals.
pub fn parse_rate(text: &str) -> Result<u32, AmountError> {
    const SHAPE: &str = "a percentage with up to two decimals";
    let malformed = || AmountError::Malformed(text.to_owned(), SHAPE);
    let number = text.strip_suffix('%').ok_or_else(malformed)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.len() > 2 || !is_whole_number(whole) || !all_digits(fraction) {
        return Err(malformed());
    }
    let points = scaled(text, whole, fraction, 100)?;
    u32::try_from(points).map_err(|_| AmountError::OutOfRange(text.to_owned()))
}

/// A count of the summary row (`3`).
pub fn parse_count(text: &str) -> Result<u64, AmountError> {
    if !is_whole_number(text) {
        return Err(AmountError::Malformed(text.to_owned(), "a whole number"));
    }
    text.parse()
        .map_err(|_| AmountError::OutOfRange(text.to_owned()))
}

/// `1234` fen → `12.34` (negative amounts get a `-`).
pub fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let magnitude = fen.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

/// `5940` thousandths of a fen → `0.05940`; `-5940` → `-0.05940`.
pub fn format_fee(millifen: i64) -> String {
    let sign = if millifen < 0 { "-" } else { "" };
    let magnitude = millifen.unsigned_abs();
    format!("{sign}{}.{:05}", magnitude / 100_000, magnitude % 100_000)
}

/// `60` basis points → `0.60%`.
pub fn format_rate(basis_points: u32) -> String {
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// Digits without a superfluous leading zero.
fn is_whole_number(text: &str) -> bool {
    !text.is_empty() && all_digits(text) && (text == "0" || !text.starts_with('0'))
}

/// `whole.fraction` times `unit` (`fraction` has at most as many digits as `unit` has zeros).
fn scaled(text: &str, whole: &str, fraction: &str, unit: i64) -> Result<i64, AmountError> {
    let out_of_range = || AmountError::OutOfRange(text.to_owned());
    let whole: i64 = whole.parse().map_err(|_| out_of_range())?;
    let mut fraction_units: i64 = 0;
    let mut place = unit;
    for digit in fraction.bytes() {
        place /= 10;
        fraction_units += i64::from(digit - b'0') * place;
    }
    whole
        .checked_mul(unit)
        .and_then(|w| w.checked_add(fraction_units))
        .ok_or_else(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_become_fen_exactly() {
        assert_eq!(parse_yuan("0.00"), Ok(0));
        assert_eq!(parse_yuan("0.01"), Ok(1));
        assert_eq!(parse_yuan("12.34"), Ok(1234));
        assert_eq!(parse_yuan("1299.02"), Ok(129_902));
        // 0.29 * 100 is 28.999… in binary floating point: the digits are read, not a float.
        assert_eq!(parse_yuan("0.29"), Ok(29));
        assert_eq!(parse_yuan("92233720368547758.07"), Ok(i64::MAX));
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in [
            "1.5", "-0.01", "1", "1.", ".50", "01.00", "1.005", "+1.00", " 1.00", "1,00", "",
            "1.0a", "１.00",
        ] {
            assert!(
                matches!(parse_yuan(bad), Err(AmountError::Malformed(..))),
                "{bad:?} was accepted"
            );
        }
        assert!(matches!(
            parse_yuan("92233720368547758.08"),
            Err(AmountError::OutOfRange(_))
        ));
    }

    #[test]
    fn fees_keep_five_decimals_and_their_sign() {
        assert_eq!(parse_fee("0.05940"), Ok(5940));
        assert_eq!(parse_fee("-0.05940"), Ok(-5940));
        assert_eq!(parse_fee("0.07"), Ok(7000));
        assert_eq!(parse_fee("7.79000"), Ok(779_000));
        assert_eq!(parse_fee("-0.00000"), Ok(0));
        for bad in ["0.0", "0.000001", "--0.01", "- 0.01", "0.01-", "1"] {
            assert!(parse_fee(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn rates_become_basis_points() {
        assert_eq!(parse_rate("0.60%"), Ok(60));
        assert_eq!(parse_rate("1.00%"), Ok(100));
        assert_eq!(parse_rate("0.6%"), Ok(60));
        assert_eq!(parse_rate("1%"), Ok(100));
        for bad in ["0.60", "0.605%", "-1%", "%"] {
            assert!(parse_rate(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn counts_are_whole_numbers() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("20"), Ok(20));
        assert!(parse_count("2.0").is_err());
        assert!(parse_count("-1").is_err());
        assert!(parse_count("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn every_amount_and_fee_reads_back_exactly(fen in 0i64..=i64::MAX, millifen: i64) {
            proptest::prop_assert_eq!(parse_yuan(&format_yuan(fen)), Ok(fen));
            proptest::prop_assume!(millifen != i64::MIN);
            proptest::prop_assert_eq!(parse_fee(&format_fee(millifen)), Ok(millifen));
        }
    }

    #[test]
    fn formatting_reads_back() {
        for fen in [0, 1, 99, 100, 990, 129_902] {
            assert_eq!(parse_yuan(&format_yuan(fen)), Ok(fen));
        }
        assert_eq!(format_yuan(990), "9.90");
        for millifen in [0, 5940, -5940, 779_000, -1] {
            assert_eq!(parse_fee(&format_fee(millifen)), Ok(millifen));
        }
        assert_eq!(format_fee(-5940), "-0.05940");
        assert_eq!(format_rate(60), "0.60%");
        assert_eq!(parse_rate(&format_rate(38)), Ok(38));
    }
}

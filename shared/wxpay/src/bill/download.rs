//! The downloaded bill: decompressed within a bound, its SHA-1 checked against the signed answer,
//! read as text. The download itself is not signed (§8), so the hash is all that ties the file to
//! WeChat Pay.

use super::{BillError, TradeBillAnswer};
use sha1::{Digest, Sha1};
use std::io::Read;

/// Lowercase hex SHA-1.
pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decompresses a gzip download (at most `limit` bytes once decompressed), checks its SHA-1
/// against `answer.hash_value` and returns the text.
///
/// §8 says the hash is that of the uncompressed file; a hash of the compressed bytes is accepted
/// too, in case that detail is wrong: either pins the same content.
pub fn unpack(answer: &TradeBillAnswer, gzip: &[u8], limit: usize) -> Result<String, BillError> {
    let mut plain = Vec::new();
    let bound = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(gzip)
        .take(bound)
        .read_to_end(&mut plain)
        .map_err(|e| BillError::NotGzip(e.to_string()))?;
    if plain.len() > limit {
        return Err(BillError::TooLarge(limit));
    }
    let expected = answer.hash_value.to_ascii_lowercase();
    let actual = sha1_hex(&plain);
    if actual != expected && sha1_hex(gzip) != expected {
        return Err(BillError::HashMismatch { expected, actual });
    }
    String::from_utf8(plain).map_err(|_| BillError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn answer(hash: &str) -> TradeBillAnswer {
        TradeBillAnswer {
            hash_type: "SHA1".to_owned(),
            hash_value: hash.to_owned(),
            download_url: "https://api.mch.weixin.qq.com/v3/billdownload/file?token=t".to_owned(),
        }
    }

    #[test]
    fn sha1_matches_the_known_vector() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn a_matching_bill_is_unpacked() {
        let text = "交易时间,商户号\r\n";
        let body = gzip(text.as_bytes());
        let hash = sha1_hex(text.as_bytes());
        assert_eq!(unpack(&answer(&hash), &body, 1024).unwrap(), text);
        // Upper-case hex and a hash of the compressed bytes are accepted too.
        assert!(unpack(&answer(&hash.to_uppercase()), &body, 1024).is_ok());
        assert!(unpack(&answer(&sha1_hex(&body)), &body, 1024).is_ok());
    }

    #[test]
    fn a_mismatching_hash_is_refused() {
        let body = gzip(b"the file");
        let wrong = sha1_hex(b"another file");
        match unpack(&answer(&wrong), &body, 1024) {
            Err(BillError::HashMismatch { expected, actual }) => {
                assert_eq!(expected, wrong);
                assert_eq!(actual, sha1_hex(b"the file"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bill_over_the_limit_is_refused_whatever_its_hash() {
        let plain = vec![b'a'; 10_000];
        let body = gzip(&plain);
        assert!(body.len() < 1000, "compresses well");
        let result = unpack(&answer(&sha1_hex(&plain)), &body, 9_999);
        assert!(
            matches!(result, Err(BillError::TooLarge(9_999))),
            "{result:?}"
        );
        assert!(unpack(&answer(&sha1_hex(&plain)), &body, 10_000).is_ok());
    }

    #[test]
    fn damaged_gzip_and_non_utf8_are_refused() {
        let result = unpack(&answer(&sha1_hex(b"x")), b"plain text, not gzip", 1024);
        assert!(matches!(result, Err(BillError::NotGzip(_))), "{result:?}");
        let mut body = gzip(b"a bill long enough to be cut in the middle of its stream");
        body.truncate(body.len() - 12);
        assert!(matches!(
            unpack(&answer(&sha1_hex(b"x")), &body, 1024),
            Err(BillError::NotGzip(_))
        ));
        let latin1 = [0xe9u8, 0x74, 0xe9];
        let result = unpack(&answer(&sha1_hex(&latin1)), &gzip(&latin1), 1024);
        assert!(matches!(result, Err(BillError::NotUtf8)), "{result:?}");
    }
}

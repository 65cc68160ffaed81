//! Strict JSON bodies: parse errors name the field as a JSON pointer, like WeChat Pay's
//! `detail.field`.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// A body that is not the expected JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// JSON pointer of the offending member (`/amount/total`), `/` for the whole body.
    pub pointer: String,
    /// What is wrong (serde's wording, which never includes more than the offending value).
    pub issue: String,
}

/// Parses `body` as `T`; unknown members are errors when `T` denies them.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let pointer = pointer(e.path());
        let inner = e.into_inner();
        let issue = if inner.is_eof() && body.iter().all(u8::is_ascii_whitespace) {
            "body must be a JSON object".to_owned()
        } else {
            inner.to_string()
        };
        BodyError { pointer, issue }
    })?;
    deserializer.end().map_err(|e| BodyError {
        pointer: "/".to_owned(),
        issue: e.to_string(),
    })?;
    Ok(value)
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wxpay::models::NativePrepayRequest;

    const GOOD: &str = r#"{"appid":"wx1","mchid":"1","description":"d","out_trade_no":"abcdef","notify_url":"https://e.com/n","amount":{"total":1}}"#;

    #[test]
    fn a_string_where_an_integer_belongs_names_the_field() {
        let body = GOOD.replace(r#""total":1"#, r#""total":"1900000""#);
        let err = parse::<NativePrepayRequest>(body.as_bytes()).unwrap_err();
        assert_eq!(err.pointer, "/amount/total");
        assert!(err.issue.contains("invalid type"), "{}", err.issue);
    }

    #[test]
    fn unknown_and_missing_members_are_reported() {
        let body = GOOD.replace(r#""total":1"#, r#""total":1,"coupon":2"#);
        let err = parse::<NativePrepayRequest>(body.as_bytes()).unwrap_err();
        assert!(err.pointer.starts_with("/amount"), "{}", err.pointer);
        assert!(
            err.issue.contains("unknown field `coupon`"),
            "{}",
            err.issue
        );
        let err = parse::<NativePrepayRequest>(br#"{"appid":"wx1"}"#).unwrap_err();
        assert!(err.issue.contains("missing field"), "{}", err.issue);
        parse::<NativePrepayRequest>(GOOD.as_bytes()).unwrap();
    }

    #[test]
    fn empty_malformed_and_trailing_bodies_are_refused() {
        assert_eq!(
            parse::<NativePrepayRequest>(b"").unwrap_err().issue,
            "body must be a JSON object"
        );
        assert!(parse::<NativePrepayRequest>(b"{").is_err());
        let trailing = format!("{GOOD} x");
        assert!(parse::<NativePrepayRequest>(trailing.as_bytes()).is_err());
    }
}

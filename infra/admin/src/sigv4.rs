//! SigV4 signing of admin API requests with `aws-sigv4` (service `execute-api`): never by hand.

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::time::SystemTime;

/// The service name API Gateway checks signatures for.
pub const SERVICE: &str = "execute-api";

/// Signs `request` (whose body is `body`) for `region` at `at`, adding `authorization`,
/// `x-amz-date` and, with temporary credentials, `x-amz-security-token`.
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    at: SystemTime,
) -> anyhow::Result<()> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .context("SigV4 parameters")?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .context("request cannot be signed")?;
    let (instructions, _signature) = sign(signable, &params)
        .context("SigV4 signing failed")?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn requests_carry_a_sigv4_authorization_for_execute_api() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token".into()),
            None,
            "test",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_521_600); // 2024-05-01
        let make = || {
            http::Request::builder()
                .method("POST")
                .uri("https://abc123.execute-api.ap-east-1.amazonaws.com/admin/orders/X1/refunds")
                .header("host", "abc123.execute-api.ap-east-1.amazonaws.com")
                .header("content-type", "application/json")
                .header("idempotency-key", "k1")
                .body(br#"{"amount":1}"#.to_vec())
                .unwrap()
        };
        let mut request = make();
        sign_request(&mut request, &credentials, "ap-east-1", at).unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/ap-east-1/execute-api/aws4_request, SignedHeaders=";
        assert!(authorization.starts_with(prefix), "{authorization}");
        let (signed, signature) = authorization[prefix.len()..]
            .split_once(", Signature=")
            .unwrap();
        for header in [
            "host",
            "idempotency-key",
            "x-amz-date",
            "x-amz-security-token",
        ] {
            assert!(signed.split(';').any(|h| h == header), "{signed}");
        }
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(request.headers()["x-amz-date"], "20240501T000000Z");
        assert_eq!(request.headers()["x-amz-security-token"], "session-token");

        // The same request signs the same; another body signs differently.
        let mut same = make();
        sign_request(&mut same, &credentials, "ap-east-1", at).unwrap();
        assert_eq!(same.headers()["authorization"], authorization);
        let mut other = make();
        *other.body_mut() = br#"{"amount":2}"#.to_vec();
        sign_request(&mut other, &credentials, "ap-east-1", at).unwrap();
        assert_ne!(other.headers()["authorization"], authorization);
    }
}

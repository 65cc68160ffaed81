//! The notify URL, as WeChat Pay will see it: HTTPS to a public address (after DNS resolution),
//! a certificate a public CA vouches for, and an endpoint that refuses a notification nobody
//! signed, answering within WeChat Pay's 5 seconds.

use super::Finding;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};
use url::Url;

/// Check: the URL is HTTPS to public addresses only.
pub const PUBLIC: &str = "notify URL is public HTTPS";
/// Check: an unsigned notification is refused in time.
pub const REFUSES_UNSIGNED: &str = "notify URL refuses unsigned notifications";
/// WeChat Pay waits this long for an answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Which addresses the notify URL may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Public addresses over HTTPS only: what WeChat Pay can reach. The command always uses this.
    PublicOnly,
    /// Also plain HTTP to loopback addresses: for tests of the endpoint probe with a local server.
    AllowLoopback,
}

/// Runs both checks; the probe only once the URL is known to be safe to call.
pub async fn check(url: &Url, policy: AddressPolicy) -> Vec<Finding> {
    match public_addresses(url, policy).await {
        Ok(addresses) => vec![
            Finding::pass(
                PUBLIC,
                format!(
                    "{} resolves to {}",
                    url.host_str().unwrap_or_default(),
                    list(&addresses)
                ),
            ),
            refuses_unsigned(url, &addresses).await,
        ],
        Err(finding) => vec![
            finding,
            Finding::skip(REFUSES_UNSIGNED, "not called: the URL is not public HTTPS"),
        ],
    }
}

fn list(addresses: &[SocketAddr]) -> String {
    addresses
        .iter()
        .map(|a| a.ip().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

const REGISTER_FIX: &str = "set WXPAY_NOTIFY_URL (template: the NotifyUrl output, or \
                            NotifyBaseUrl) to pay-notify's public HTTPS URL";

/// The URL's addresses, once each is allowed by `policy`.
pub async fn public_addresses(
    url: &Url,
    policy: AddressPolicy,
) -> Result<Vec<SocketAddr>, Finding> {
    let Some(host) = url.host_str() else {
        return Err(Finding::fail(
            PUBLIC,
            format!("{url} has no host"),
            REGISTER_FIX,
        ));
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(found) => found.collect(),
        Err(e) => {
            return Err(Finding::fail(
                PUBLIC,
                format!("{host} does not resolve: {e}"),
                "publish the host in public DNS (or use the NotifyUrl output as it is)",
            ));
        }
    };
    if addresses.is_empty() {
        return Err(Finding::fail(
            PUBLIC,
            format!("{host} resolves to no address"),
            "publish the host in public DNS",
        ));
    }
    let loopback_allowed = |ip: IpAddr| policy == AddressPolicy::AllowLoopback && ip.is_loopback();
    if let Some(address) = addresses
        .iter()
        .find(|a| !is_public(a.ip()) && !loopback_allowed(a.ip()))
    {
        return Err(Finding::fail(
            PUBLIC,
            format!(
                "{host} resolves to {}, a {} address WeChat Pay cannot reach",
                address.ip(),
                kind(address.ip())
            ),
            REGISTER_FIX,
        ));
    }
    let all_loopback_allowed = addresses.iter().all(|a| loopback_allowed(a.ip()));
    if url.scheme() != "https" && !(url.scheme() == "http" && all_loopback_allowed) {
        return Err(Finding::fail(
            PUBLIC,
            format!("{url} is not HTTPS: WeChat Pay only notifies over HTTPS"),
            REGISTER_FIX,
        ));
    }
    Ok(addresses)
}

/// Whether WeChat Pay, on the internet, can reach `ip`: not loopback, private, link-local,
/// shared (CGNAT), unspecified, multicast, documentation, benchmarking or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// A word for why an address is not public.
fn kind(ip: IpAddr) -> &'static str {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => "loopback",
        IpAddr::V4(v4) if v4.is_private() => "private",
        IpAddr::V4(v4) if v4.is_link_local() => "link-local",
        IpAddr::V6(v6) if v6.is_loopback() => "loopback",
        IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00 => "private",
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => "link-local",
        _ => "non-public",
    }
}

/// POSTs a notification-shaped body without any `Wechatpay-*` headers to `url`, pinned to the
/// checked `addresses`: a 2xx means the endpoint would accept a forged notification.
pub async fn refuses_unsigned(url: &Url, addresses: &[SocketAddr]) -> Finding {
    let mut builder = super::https_client()
        .timeout(ANSWER_WITHIN)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(host) = url.host_str() {
        builder = builder.resolve_to_addrs(host, addresses);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => return Finding::skip(REFUSES_UNSIGNED, format!("HTTP client: {e}")),
    };
    let body = r#"{"id":"wxpay-admin-doctor","create_time":"2024-01-01T00:00:00+08:00","event_type":"TRANSACTION.SUCCESS","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"","nonce":"","associated_data":"transaction"},"summary":"unsigned probe"}"#;
    let started = Instant::now();
    let answer = client
        .post(url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let elapsed = started.elapsed().as_millis();
    match answer {
        Ok(response) if response.status().is_success() => Finding::fail(
            REFUSES_UNSIGNED,
            format!(
                "an unsigned POST was answered {}: the endpoint accepts notifications nobody \
                 signed",
                response.status()
            ),
            "point WXPAY_NOTIFY_URL at pay-notify, which verifies every notification and \
             answers 401 to an unsigned one",
        ),
        Ok(response) => Finding::pass(
            REFUSES_UNSIGNED,
            format!(
                "an unsigned POST was answered {} in {elapsed} ms",
                response.status()
            ),
        ),
        Err(e) if e.is_timeout() => Finding::fail(
            REFUSES_UNSIGNED,
            format!(
                "no answer within {} s: WeChat Pay gives up and retries",
                ANSWER_WITHIN.as_secs()
            ),
            "make the endpoint answer quickly (check pay-notify's timeout and cold start)",
        ),
        Err(e) => {
            let chain = super::error_chain(&e);
            let lower = chain.to_lowercase();
            if ["certificate", "tls", "handshake"]
                .iter()
                .any(|word| lower.contains(word))
            {
                Finding::fail(
                    REFUSES_UNSIGNED,
                    format!("TLS failed, the certificate is not valid for the host: {chain}"),
                    "serve a certificate from a public CA for this host name (API Gateway's \
                     own host has one; a custom domain needs an ACM certificate)",
                )
            } else {
                Finding::fail(
                    REFUSES_UNSIGNED,
                    format!("cannot reach the endpoint: {chain}"),
                    "deploy pay-notify behind this URL and allow requests from the internet",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_internet_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "203.0.114.1", "100.128.0.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_loopback_url_fails_whatever_its_scheme_and_the_probe_is_not_sent() {
        for url in [
            "https://127.0.0.1/api/wx-pay/native/notify",
            "https://localhost:8443/notify",
            "http://[::1]:3000/notify",
        ] {
            let findings = check(&Url::parse(url).unwrap(), AddressPolicy::PublicOnly).await;
            assert_eq!(findings[0].status, super::super::Status::Fail, "{url}");
            assert!(
                findings[0].cause.contains("loopback"),
                "{url}: {:?}",
                findings[0]
            );
            assert_eq!(findings[1].status, super::super::Status::Skip, "{url}");
        }
    }

    #[tokio::test]
    async fn plain_http_fails_even_to_a_public_address() {
        let error = public_addresses(
            &Url::parse("http://1.1.1.1/notify").unwrap(),
            AddressPolicy::PublicOnly,
        )
        .await
        .unwrap_err();
        assert!(error.cause.contains("not HTTPS"), "{error:?}");
    }
}

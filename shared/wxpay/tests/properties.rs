//! Properties of signing and verification over arbitrary inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use std::sync::OnceLock;
use time::OffsetDateTime;
use wxpay::Verifier;
use wxpay::keys::PrivateKey;

const ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const TS: i64 = 1_750_000_000;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().unwrap())
}

fn verify(headers: &http::HeaderMap, body: &[u8]) -> bool {
    let verifier = Verifier::with_public_key(ID, key().public_key().unwrap());
    let now = OffsetDateTime::from_unix_timestamp(TS).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(verifier.verify(headers, body, now))
        .is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn signed_bodies_verify(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let headers = common::signed_headers(key(), ID, TS, "nonce0123456789", &body);
        prop_assert!(verify(&headers, &body));
    }

    #[test]
    fn any_single_byte_change_of_the_body_fails(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        index in any::<proptest::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let headers = common::signed_headers(key(), ID, TS, "nonce0123456789", &body);
        let mut changed = body.clone();
        let at = index.index(changed.len());
        changed[at] ^= flip;
        prop_assert!(!verify(&headers, &changed));
    }

    #[test]
    fn a_changed_timestamp_or_nonce_fails(
        delta in -200i64..200,
        nonce in "[0-9A-Za-z]{32}",
        index in any::<proptest::sample::Index>(),
    ) {
        prop_assume!(delta != 0);
        let body = b"{}";
        let headers = common::signed_headers(key(), ID, TS, &nonce, body);
        let mut moved = headers.clone();
        moved.insert("wechatpay-timestamp", (TS + delta).to_string().parse().unwrap());
        prop_assert!(!verify(&moved, body));
        let mut renonced = headers.clone();
        let mut other: Vec<u8> = nonce.clone().into_bytes();
        let at = index.index(other.len());
        other[at] = if other[at] == b'a' { b'b' } else { b'a' };
        renonced.insert("wechatpay-nonce", String::from_utf8(other).unwrap().parse().unwrap());
        prop_assert!(!verify(&renonced, body));
    }
}

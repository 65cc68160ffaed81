//! Certificate mode: platform certificates decrypted, kept per serial, refreshed lazily and
//! rate-limited; expired ones dropped; combined with the public key during migration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{platform_certificate, signed_headers};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};
use wxpay::certificate::{CERTIFICATE_AAD, CertificateError, PlatformCertificate};
use wxpay::keys::PrivateKey;
use wxpay::models::CertificateEntry;
use wxpay::verify::{CertificateSource, CertificateStore};
use wxpay::{ApiV3Key, Verifier, VerifyError, aead};

const SERIAL_A: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const SERIAL_B: &str = "7132D72A03E93CDDF8C03BBD1F37EEDF8BF73F6D";
const NONCE: &str = "d824f2e086d3c1df967785d13fcd22ef";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
}

fn cert(
    key: &PrivateKey,
    serial: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> PlatformCertificate {
    PlatformCertificate::from_pem(&platform_certificate(key, serial, from, to)).unwrap()
}

/// A certificate list that tests can change, counting downloads.
#[derive(Default)]
struct Listing {
    certs: Mutex<Vec<PlatformCertificate>>,
    fetches: AtomicUsize,
}

impl CertificateSource for Listing {
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<PlatformCertificate>, String>> + Send + '_>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let certs = self.certs.lock().unwrap().clone();
        Box::pin(async move { Ok(certs) })
    }
}

#[test]
fn listed_certificate_decrypts_and_keeps_its_serial_and_validity() {
    let key = PrivateKey::generate().unwrap();
    let apiv3: ApiV3Key = "0123456789ABCDEFabcdef0123456789".parse().unwrap();
    let pem = platform_certificate(&key, SERIAL_A, now(), now() + Duration::days(365));
    let entry = CertificateEntry {
        serial_no: SERIAL_A.to_lowercase(),
        effective_time: "2025-06-15T23:06:40+08:00".into(),
        expire_time: "2026-06-15T23:06:40+08:00".into(),
        encrypt_certificate: aead::encrypt(&apiv3, "61f9c719728a", CERTIFICATE_AAD, pem.as_bytes())
            .unwrap(),
    };
    let cert = PlatformCertificate::from_entry(&apiv3, &entry).unwrap();
    assert_eq!(cert.serial_no, SERIAL_A);
    assert_eq!(cert.not_after, now() + Duration::days(365));

    let mut wrong_serial = entry.clone();
    wrong_serial.serial_no = SERIAL_B.into();
    assert!(matches!(
        PlatformCertificate::from_entry(&apiv3, &wrong_serial),
        Err(CertificateError::SerialMismatch { .. })
    ));
    let other_key: ApiV3Key = "0123456789ABCDEFabcdef012345678X".parse().unwrap();
    assert!(matches!(
        PlatformCertificate::from_entry(&other_key, &entry),
        Err(CertificateError::Decrypt { .. })
    ));
}

#[tokio::test]
async fn certificates_are_downloaded_once_and_reused() {
    let key = PrivateKey::generate().unwrap();
    let listing = Arc::new(Listing::default());
    listing.certs.lock().unwrap().push(cert(
        &key,
        SERIAL_A,
        now() - Duration::days(1),
        now() + Duration::days(300),
    ));
    let verifier = Verifier::with_certificates(CertificateStore::new(listing.clone()));
    for i in 0..3 {
        let headers = signed_headers(&key, SERIAL_A, now().unix_timestamp(), NONCE, b"{}");
        verifier
            .verify(&headers, b"{}", now() + Duration::seconds(i))
            .await
            .unwrap();
    }
    assert_eq!(listing.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_serial_triggers_one_refresh_then_fails_and_is_rate_limited() {
    let key = PrivateKey::generate().unwrap();
    let listing = Arc::new(Listing::default());
    listing.certs.lock().unwrap().push(cert(
        &key,
        SERIAL_A,
        now() - Duration::days(1),
        now() + Duration::days(300),
    ));
    let verifier = Verifier::with_certificates(CertificateStore::new(listing.clone()));
    let known = signed_headers(&key, SERIAL_A, now().unix_timestamp(), NONCE, b"{}");
    verifier.verify(&known, b"{}", now()).await.unwrap();

    let unknown = signed_headers(&key, SERIAL_B, now().unix_timestamp(), NONCE, b"{}");
    let later = now() + Duration::minutes(2);
    assert_eq!(
        verifier.verify(&unknown, b"{}", later).await,
        Err(VerifyError::UnknownSerial(SERIAL_B.into()))
    );
    assert_eq!(
        listing.fetches.load(Ordering::SeqCst),
        2,
        "one refresh for the unknown serial"
    );
    // Within the rate limit, a flood of unknown serials downloads nothing more.
    for _ in 0..10 {
        assert!(
            verifier
                .verify(&unknown, b"{}", later + Duration::seconds(5))
                .await
                .is_err()
        );
    }
    assert_eq!(listing.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn rotated_certificate_is_picked_up_on_its_first_use() {
    let old = PrivateKey::generate().unwrap();
    let new = PrivateKey::generate().unwrap();
    let listing = Arc::new(Listing::default());
    listing.certs.lock().unwrap().push(cert(
        &old,
        SERIAL_A,
        now() - Duration::days(1),
        now() + Duration::days(300),
    ));
    let verifier = Verifier::with_certificates(CertificateStore::new(listing.clone()));
    verifier
        .verify(
            &signed_headers(&old, SERIAL_A, now().unix_timestamp(), NONCE, b"{}"),
            b"{}",
            now(),
        )
        .await
        .unwrap();
    // WeChat Pay lists the new certificate 24 h before using it.
    listing
        .certs
        .lock()
        .unwrap()
        .push(cert(&new, SERIAL_B, now(), now() + Duration::days(1800)));
    let later = now() + Duration::hours(2);
    verifier
        .verify(
            &signed_headers(&new, SERIAL_B, later.unix_timestamp(), NONCE, b"{}"),
            b"{}",
            later,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_certificates_are_dropped() {
    let key = PrivateKey::generate().unwrap();
    let listing = Arc::new(Listing::default());
    let expiry = now() + Duration::hours(1);
    listing
        .certs
        .lock()
        .unwrap()
        .push(cert(&key, SERIAL_A, now() - Duration::days(1), expiry));
    let verifier = Verifier::with_certificates(CertificateStore::new(listing.clone()));
    verifier
        .verify(
            &signed_headers(&key, SERIAL_A, now().unix_timestamp(), NONCE, b"{}"),
            b"{}",
            now(),
        )
        .await
        .unwrap();
    let after = expiry + Duration::minutes(1);
    let headers = signed_headers(&key, SERIAL_A, after.unix_timestamp(), NONCE, b"{}");
    assert!(verifier.verify(&headers, b"{}", after).await.is_err());
}

#[tokio::test]
async fn list_older_than_max_age_is_refreshed_before_use() {
    let key = PrivateKey::generate().unwrap();
    let listing = Arc::new(Listing::default());
    listing.certs.lock().unwrap().push(cert(
        &key,
        SERIAL_A,
        now() - Duration::days(1),
        now() + Duration::days(300),
    ));
    let store = CertificateStore::new(listing.clone()).with_max_age(Duration::hours(12));
    let verifier = Verifier::with_certificates(store);
    for at in [
        now(),
        now() + Duration::hours(11),
        now() + Duration::hours(13),
    ] {
        let headers = signed_headers(&key, SERIAL_A, at.unix_timestamp(), NONCE, b"{}");
        verifier.verify(&headers, b"{}", at).await.unwrap();
    }
    assert_eq!(listing.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn combined_mode_accepts_either_key_during_migration() {
    let platform = PrivateKey::generate().unwrap();
    let public = PrivateKey::generate().unwrap();
    let id = "PUB_KEY_ID_0114232134912410000000000000";
    let listing = Arc::new(Listing::default());
    listing.certs.lock().unwrap().push(cert(
        &platform,
        SERIAL_A,
        now() - Duration::days(1),
        now() + Duration::days(300),
    ));
    let verifier = Verifier::combined(
        id,
        public.public_key().unwrap(),
        CertificateStore::new(listing.clone()),
    );
    let ts = now().unix_timestamp();
    verifier
        .verify(&signed_headers(&public, id, ts, NONCE, b"{}"), b"{}", now())
        .await
        .unwrap();
    verifier
        .verify(
            &signed_headers(&platform, SERIAL_A, ts, NONCE, b"{}"),
            b"{}",
            now(),
        )
        .await
        .unwrap();
    // A signature by one key announced under the other's serial is still refused.
    assert_eq!(
        verifier
            .verify(
                &signed_headers(&platform, id, ts, NONCE, b"{}"),
                b"{}",
                now()
            )
            .await,
        Err(VerifyError::SignatureMismatch)
    );
    assert_eq!(verifier.preferred_serial(now()).as_deref(), Some(id));
}

#[tokio::test]
async fn failed_download_with_nothing_held_is_reported() {
    struct Down;
    impl CertificateSource for Down {
        fn fetch(
            &self,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<PlatformCertificate>, String>> + Send + '_>>
        {
            Box::pin(async { Err("404 RESOURCE_NOT_EXISTS".to_owned()) })
        }
    }
    let key = PrivateKey::generate().unwrap();
    let verifier = Verifier::with_certificates(CertificateStore::new(Arc::new(Down)));
    let headers = signed_headers(&key, SERIAL_A, now().unix_timestamp(), NONCE, b"{}");
    assert!(matches!(
        verifier.verify(&headers, b"{}", now()).await,
        Err(VerifyError::CertificatesUnavailable(_))
    ));
}

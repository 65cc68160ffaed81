//! Configuration from variables: fail fast naming the variable; secrets from files or from a
//! Secrets Manager API (moto on loopback, `AWS_ENDPOINT_URL_SECRETS_MANAGER`; those tests are
//! skipped, saying so, when it is unset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use env_config::{
    ConfigError, FlowSettings, MapEnv, MerchantSecrets, PublicKeySource, SecretSource,
    WxPaySettings,
};
use orders::testing::aws_suite_can_run;
use std::collections::HashMap;
use wxpay::{PrivateKey, Verification};

const APIV3: &str = "0123456789ABCDEFabcdef0123456789";

fn env(pairs: &[(&str, &str)]) -> MapEnv {
    MapEnv(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    )
}

fn sandbox(dir: &std::path::Path) -> Vec<(String, String)> {
    let key = PrivateKey::generate().unwrap();
    std::fs::write(
        dir.join("apiclient_key.pem"),
        key.to_pkcs8_pem().unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(
        dir.join("pub_key.pem"),
        key.public_key().unwrap().to_spki_pem().unwrap(),
    )
    .unwrap();
    vec![
        ("WXPAY_MCHID".into(), "1900007291".into()),
        ("WXPAY_APPID".into(), "wxd678efh567hg6787".into()),
        (
            "WXPAY_MERCHANT_SERIAL".into(),
            "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB".into(),
        ),
        (
            "WXPAY_MERCHANT_KEY_FILE".into(),
            dir.join("apiclient_key.pem").display().to_string(),
        ),
        ("WXPAY_APIV3_KEY".into(), APIV3.into()),
        (
            "WXPAY_PUBLIC_KEY_ID".into(),
            "PUB_KEY_ID_0114232134912410000000000000".into(),
        ),
        (
            "WXPAY_PUBLIC_KEY_FILE".into(),
            dir.join("pub_key.pem").display().to_string(),
        ),
        ("WXPAY_BASE_URL".into(), "http://127.0.0.1:9".into()),
    ]
}

fn map(pairs: Vec<(String, String)>) -> MapEnv {
    MapEnv(pairs.into_iter().collect())
}

#[tokio::test]
async fn local_sandbox_builds_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let vars = map(sandbox(dir.path()));
    let settings = WxPaySettings::from_env(&vars).unwrap();
    let secrets = MerchantSecrets::load(&settings.secrets, None)
        .await
        .unwrap();
    assert!(matches!(
        settings.verification.resolve(&secrets).unwrap(),
        Verification::PublicKey { .. }
    ));
    let client = env_config::wxpay_client(&settings, secrets).unwrap();
    assert_eq!(client.mchid(), "1900007291");
}

#[test]
fn each_missing_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "WXPAY_MCHID",
        "WXPAY_APPID",
        "WXPAY_MERCHANT_SERIAL",
        "WXPAY_MERCHANT_KEY_FILE",
        "WXPAY_APIV3_KEY",
    ] {
        let vars = map(sandbox(dir.path())
            .into_iter()
            .filter(|(k, _)| k != name)
            .collect());
        let err = WxPaySettings::from_env(&vars).unwrap_err();
        assert!(
            matches!(err, ConfigError::Missing(n) if n == name),
            "{name}: {err}"
        );
    }
    let vars = map(sandbox(dir.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with("WXPAY_PUBLIC_KEY"))
        .collect());
    assert!(
        WxPaySettings::from_env(&vars)
            .unwrap_err()
            .to_string()
            .contains("WXPAY_PUBLIC_KEY_ID")
    );
}

/// The verification a sandbox with these variables ends up with.
async fn resolved(vars: &MapEnv) -> Verification {
    let settings = WxPaySettings::from_env(vars).unwrap();
    let secrets = MerchantSecrets::load(&settings.secrets, None)
        .await
        .unwrap();
    settings.verification.resolve(&secrets).unwrap()
}

#[tokio::test]
async fn key_modes_follow_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = sandbox(dir.path());
    pairs.push(("WXPAY_PLATFORM_CERTS".into(), "auto".into()));
    assert!(matches!(
        resolved(&map(pairs.clone())).await,
        Verification::Combined { .. }
    ));
    let certs_only = map(pairs
        .into_iter()
        .filter(|(k, _)| !k.starts_with("WXPAY_PUBLIC_KEY"))
        .collect());
    assert!(matches!(
        resolved(&certs_only).await,
        Verification::PlatformCertificates
    ));
}

#[test]
fn without_a_key_file_the_key_is_expected_in_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let without_file: Vec<_> = sandbox(dir.path())
        .into_iter()
        .filter(|(k, _)| k != "WXPAY_PUBLIC_KEY_FILE")
        .collect();
    // Local secrets: the file is required, by name.
    let err = WxPaySettings::from_env(&map(without_file.clone())).unwrap_err();
    assert!(
        matches!(err, ConfigError::Missing("WXPAY_PUBLIC_KEY_FILE")),
        "{err}"
    );
    // A Secrets Manager secret: the key is read from it once loaded.
    let mut with_secret = without_file;
    with_secret.push(("WXPAY_SECRET_ID".into(), "wxpay-secret".into()));
    let settings = WxPaySettings::from_env(&map(with_secret)).unwrap();
    let (id, source) = settings.verification.public_key.unwrap();
    assert_eq!(id, "PUB_KEY_ID_0114232134912410000000000000");
    assert!(
        matches!(source, PublicKeySource::Secret { ref secret_id } if secret_id == "wxpay-secret"),
        "{source:?}"
    );
}

#[test]
fn a_short_apiv3_key_is_refused_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut pairs = sandbox(dir.path());
    pairs.retain(|(k, _)| k != "WXPAY_APIV3_KEY");
    pairs.push(("WXPAY_APIV3_KEY".into(), "too-short-secret".into()));
    let err = WxPaySettings::from_env(&map(pairs))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("WXPAY_APIV3_KEY") && !err.contains("too-short-secret"),
        "{err}"
    );
}

#[test]
fn secret_source_debug_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let settings = WxPaySettings::from_env(&map(sandbox(dir.path()))).unwrap();
    assert!(!format!("{settings:?}").contains(APIV3));
}

#[test]
fn flow_settings_have_defaults_and_bounds() {
    let defaults = FlowSettings::from_env(&env(&[])).unwrap();
    assert_eq!(
        (
            defaults.order_ttl_secs,
            defaults.sweep_after_secs,
            defaults.sweep_concurrency
        ),
        (300, 60, 8)
    );
    assert_eq!(
        (
            defaults.max_open_orders_per_buyer,
            defaults.anonymous_orders_per_minute
        ),
        (5, 60)
    );
    let off = FlowSettings::from_env(&env(&[
        ("MAX_OPEN_ORDERS_PER_BUYER", "0"),
        ("ANONYMOUS_ORDERS_PER_MINUTE", "120"),
    ]))
    .unwrap();
    assert_eq!(
        (
            off.max_open_orders_per_buyer,
            off.anonymous_orders_per_minute
        ),
        (0, 120)
    );
    assert!(FlowSettings::from_env(&env(&[("MAX_OPEN_ORDERS_PER_BUYER", "-1")])).is_err());
    assert!(matches!(
        FlowSettings::from_env(&env(&[("ORDER_TTL_SECS", "ten")])).unwrap_err(),
        ConfigError::Invalid {
            name: "ORDER_TTL_SECS",
            ..
        }
    ));
    assert!(FlowSettings::from_env(&env(&[("RECONCILE_CONCURRENCY", "0")])).is_err());
}

#[test]
fn the_late_payment_policy_is_honor_unless_set_to_refund() {
    use orders::LatePaymentPolicy;
    let policy =
        |vars: &[(&str, &str)]| FlowSettings::from_env(&env(vars)).map(|f| f.late_payment_policy);
    assert_eq!(policy(&[]).unwrap(), LatePaymentPolicy::Honor);
    assert_eq!(
        policy(&[("LATE_PAYMENT_POLICY", "refund")]).unwrap(),
        LatePaymentPolicy::Refund
    );
    assert_eq!(
        policy(&[("LATE_PAYMENT_POLICY", "honor")]).unwrap(),
        LatePaymentPolicy::Honor
    );
    assert!(matches!(
        policy(&[("LATE_PAYMENT_POLICY", "Refund")]).unwrap_err(),
        ConfigError::Invalid {
            name: "LATE_PAYMENT_POLICY",
            ..
        }
    ));
}

#[test]
fn notify_url_is_required_and_checked_naming_its_variable() {
    let url = env_config::notify_url(&env(&[(
        "WXPAY_NOTIFY_URL",
        "https://shop.example/api/wx-pay/native/notify",
    )]))
    .unwrap();
    assert_eq!(
        url.as_str(),
        "https://shop.example/api/wx-pay/native/notify"
    );
    assert!(matches!(
        env_config::notify_url(&env(&[])).unwrap_err(),
        ConfigError::Missing("WXPAY_NOTIFY_URL")
    ));
    let err = env_config::notify_url(&env(&[(
        "WXPAY_NOTIFY_URL",
        "http://shop.example/notify?x=1",
    )]))
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                name: "WXPAY_NOTIFY_URL",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("query string"), "{err}");
}

#[test]
fn dotenv_files_parse() {
    let vars = MapEnv::parse_dotenv("# sandbox\nWXPAY_MCHID=1900007291\n\nWXPAY_APPID=\"wx1\"\n");
    assert_eq!(vars.0.get("WXPAY_APPID").map(String::as_str), Some("wx1"));
    assert_eq!(vars.0.len(), 2);
}

/// A client for the Secrets Manager API named by `AWS_ENDPOINT_URL_SECRETS_MANAGER`, or `None`
/// (the test is skipped, saying so) when it is unset.
async fn secrets_manager() -> Option<aws_sdk_secretsmanager::Client> {
    if !aws_suite_can_run(
        "env-config-secrets-manager",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ) {
        return None;
    }
    let config = env_config::aws_config().await.unwrap();
    Some(env_config::secrets_manager_client(&config))
}

#[tokio::test]
async fn secrets_come_from_secrets_manager_when_a_secret_id_is_set() {
    let Some(client) = secrets_manager().await else {
        return;
    };
    let key = PrivateKey::generate().unwrap();
    let wechat_key = PrivateKey::generate().unwrap();
    let name = format!("wxpay-test-{}", std::process::id());
    let secret = serde_json::json!({
        "merchant_private_key": key.to_pkcs8_pem().unwrap().as_str(),
        "apiv3_key": APIV3,
        "wechatpay_public_key": wechat_key.public_key().unwrap().to_spki_pem().unwrap(),
    });
    client
        .create_secret()
        .name(&name)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();

    let vars = env(&[
        ("WXPAY_MCHID", "1900007291"),
        ("WXPAY_APPID", "wxd678efh567hg6787"),
        (
            "WXPAY_MERCHANT_SERIAL",
            "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        ),
        ("WXPAY_SECRET_ID", &name),
        (
            "WXPAY_PUBLIC_KEY_ID",
            "PUB_KEY_ID_0114232134912410000000000000",
        ),
    ]);
    let settings = WxPaySettings::from_env(&vars).unwrap();
    let loaded = MerchantSecrets::load(&settings.secrets, Some(&client))
        .await
        .unwrap();
    let message = b"GET\n/v3/certificates\n1\nn\n\n";
    assert_eq!(
        loaded.merchant_key.sign_sha256(message).unwrap(),
        key.sign_sha256(message).unwrap()
    );
    // The public key comes from the secret: it verifies WeChat Pay's signature, not another's.
    let Verification::PublicKey { id, key: public } =
        settings.verification.resolve(&loaded).unwrap()
    else {
        panic!("public-key mode expected");
    };
    assert_eq!(id, "PUB_KEY_ID_0114232134912410000000000000");
    let signature = wechat_key.sign_sha256(message).unwrap();
    assert!(public.verify_sha256(message, &signature));
    assert!(!public.verify_sha256(message, &key.sign_sha256(message).unwrap()));

    // A secret without the field: the client is refused, naming the field and the secret.
    let bare = format!("wxpay-bare-{}", std::process::id());
    let secret = serde_json::json!({"merchant_private_key": key.to_pkcs8_pem().unwrap().as_str(), "apiv3_key": APIV3});
    client
        .create_secret()
        .name(&bare)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let source = SecretSource::SecretsManager {
        secret_id: bare.clone(),
    };
    let loaded = MerchantSecrets::load(&source, Some(&client)).await.unwrap();
    assert!(loaded.wechatpay_public_key.is_none());
    let mut settings = settings;
    settings.secrets = source;
    settings.verification.public_key = Some((
        "PUB_KEY_ID_0114232134912410000000000000".into(),
        PublicKeySource::Secret {
            secret_id: bare.clone(),
        },
    ));
    let err = env_config::wxpay_client(&settings, loaded)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wechatpay_public_key") && err.contains(&bare),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_or_missing_secret_fails_without_leaking_it() {
    let Some(client) = secrets_manager().await else {
        return;
    };
    let name = format!("wxpay-bad-{}", std::process::id());
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"merchant_private_key":"SECRET-MATERIAL","apiv3_key":"short"}"#)
        .send()
        .await
        .unwrap();
    let source = SecretSource::SecretsManager { secret_id: name };
    let err = MerchantSecrets::load(&source, Some(&client))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("SECRET-MATERIAL"), "{err}");

    let missing = SecretSource::SecretsManager {
        secret_id: "does-not-exist".into(),
    };
    let err = MerchantSecrets::load(&missing, Some(&client))
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::Secret { .. }), "{err}");
}

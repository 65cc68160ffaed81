//! Configuration of the functions and the local stack, from the environment (12-factor; the same
//! variables in Lambda and locally, ARCHITECTURE §5). Everything that matters is required and a
//! missing or malformed variable is reported by name; secrets come from AWS Secrets Manager when
//! `WXPAY_SECRET_ID` is set, else from local files and variables, and never appear in errors.

pub mod clients;
pub mod env;
pub mod error;
pub mod secrets;
pub mod settings;
pub mod verification;

pub use clients::{aws_config, dynamodb_client, secrets_manager_client, wxpay_client};
pub use env::{Env, MapEnv, ProcessEnv};
pub use error::ConfigError;
pub use secrets::{MerchantSecrets, SecretSource};
pub use settings::{FlowSettings, WxPaySettings, notify_url, orders_config};
pub use verification::{PublicKeySource, VerificationSettings};

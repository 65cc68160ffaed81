//! WeChat Pay's notification URL (`POST /api/wx-pay/native/notify`), as an axum `Router` that the
//! Lambda and the local stack both run: raw body bytes in, signature and time window checked, then
//! decrypted, then settled through the same path as the sweep. `200 {"code":"SUCCESS"}` only after
//! the settle is durable; every failure is a non-2xx `{"code":"FAIL"}` so that WeChat Pay retries.

pub mod error;
pub mod handler;
pub mod metrics;

pub use error::NotifyError;
pub use handler::{Deps, NOTIFY_PATH, NotifyStore, router};

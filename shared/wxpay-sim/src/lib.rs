//! A WeChat Pay APIv3 simulator for Native (QR-code) payments: the sandbox WeChat Pay never shipped.
//!
//! It plays WeChat Pay as a merchant sees it. The merchant API under `/v3/…` checks the
//! `Authorization` signature, the headers and every field like production, keeps orders through
//! `NOTPAY` → `SUCCESS` | `CLOSED` with the re-submission and expiry rules, and signs every 2xx
//! answer with the WeChat Pay public key or the platform certificate. Paying happens on the
//! shopper's side (`POST /sim/scan`, or the page at `GET /sim`); the merchant then receives a
//! signed, AES-256-GCM-encrypted `TRANSACTION.SUCCESS` notification, retried on WeChat Pay's
//! ladder until acknowledged. Refunds (`/v3/refund/domestic/refunds`, or by hand through
//! `POST /sim/refund`) go `PROCESSING` → `SUCCESS` | `ABNORMAL` | `CLOSED` and are notified the same
//! way. Fault switches (`/sim/faults`) reproduce what goes wrong in production.
//!
//! Embed it with [`Simulator::open`] and [`Simulator::router`], or run the `wxpay-sim` binary.
//! The protocol pieces (signing, verification, AEAD, models, field rules) come from `wxpay`.

pub mod api;
pub mod auth;
pub mod bill;
pub mod clock;
pub mod config;
pub mod error;
pub mod faults;
mod fsutil;
pub mod ids;
pub mod json;
pub mod notify;
pub mod order;
pub mod page;
pub mod platform;
pub mod refund;
pub mod refund_timer;
pub mod sandbox;
pub mod shopper;
pub mod signing;
pub mod simulator;
pub mod state;
pub mod store;

pub use config::{SigningMode, SimConfig};
pub use error::SimError;
pub use faults::{ApiFault, ApiFaultKind, ClosePaidAnswer, CloseUnknownAnswer, Faults};
pub use simulator::Simulator;

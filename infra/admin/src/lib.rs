//! `wxpay-admin`: the merchant staff's command for the admin API (issue 13). It refunds an order,
//! shows one, lists orders by status, and manages the product catalog (`products`), against the
//! local stack (its URL and the bearer token in `.data/admin.token`) or the deployed API (`--aws`: each request SigV4-signed for
//! `execute-api` with the caller's AWS credentials). Tables by default, `--json` for scripts.
//! `wxpay-admin doctor` checks a merchant's configuration against WeChat Pay before go-live.

pub mod catalog_file;
pub mod cli;
pub mod doctor;
pub mod output;
pub mod sigv4;
pub mod target;

pub use cli::{Cli, Command, Printed, run};

//! `wxpay-admin`: see the library.

use clap::Parser;
use std::process::ExitCode;
use wxpay_admin::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(out) => {
            print!("{}", out.text);
            if out.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("wxpay-admin: {error:#}");
            ExitCode::FAILURE
        }
    }
}

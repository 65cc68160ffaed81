//! The command line and what each command does.

use crate::doctor;
use crate::target::{Answer, Target};
use crate::{catalog_file, output};
use anyhow::bail;
use clap::{Parser, Subcommand};
use env_config::{Env, ProcessEnv};
use serde_json::{Value, json};
use std::path::PathBuf;
use url::Url;
use wxpay::random::{OsRandom, alphanumeric};

/// The local stack's default address (`wxpay-local`'s `--listen`).
pub const LOCAL_URL: &str = "http://127.0.0.1:3000";
/// The local stack's default token file.
pub const LOCAL_TOKEN_FILE: &str = ".data/admin.token";

/// Refund WeChat Pay orders, look at them, and manage the catalog, through the merchant admin API.
#[derive(Debug, Parser)]
#[command(name = "wxpay-admin", version)]
pub struct Cli {
    /// The admin API's base URL (default: the local stack, http://127.0.0.1:3000; with --aws,
    /// the stack's MerchantAdminApiUrl output).
    #[arg(long, global = true, env = "WXPAY_ADMIN_URL")]
    pub url: Option<Url>,
    /// The local stack's admin token file.
    #[arg(long, global = true, default_value = LOCAL_TOKEN_FILE)]
    pub token_file: PathBuf,
    /// Talk to the deployed API, signing with your AWS credentials (SigV4).
    #[arg(long, global = true)]
    pub aws: bool,
    /// The deployed API's region (default: your AWS configuration's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Print the API's JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Refund part or all of a paid order.
    Refund {
        /// The order number (out_trade_no).
        order_no: String,
        /// Fen to refund.
        #[arg(long)]
        amount: i64,
        /// Shown to the payer (at most 80 characters).
        #[arg(long)]
        reason: String,
        /// Reuse the key of an earlier attempt to retry it without refunding twice (default: a
        /// new key, printed).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show an order with its payment and refunds.
    Order {
        /// The order number.
        order_no: String,
    },
    /// List orders by status: REFUND_PROCESSING, PARTIALLY_REFUNDED, REFUNDED, REFUND_ABNORMAL,
    /// PAID_AFTER_CLOSE.
    Orders {
        /// The listing.
        #[arg(long)]
        status: String,
        /// Orders per page.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Continue after this cursor (printed under the previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Check the merchant's configuration against WeChat Pay before going live: locally with the
    /// WXPAY_* variables (as the functions read them), or a deployed stack (--stack). One line
    /// per check; exit status 1 if any fails.
    Doctor {
        /// The deployed stack to check (its order function's environment, secret, table,
        /// schedule and storefront) instead of the local WXPAY_* variables.
        #[arg(long)]
        stack: Option<String>,
    },
    /// Manage the product catalog the storefront shows.
    Products {
        /// What to do with it.
        #[command(subcommand)]
        action: ProductsAction,
    },
}

/// What `products` does.
#[derive(Debug, Subcommand)]
pub enum ProductsAction {
    /// List the catalog.
    List,
    /// Add or replace the products of a catalog file: {"products": [{"id", "title", "price"
    /// (fen), "currency": "CNY"}, …]}. Every entry is checked before anything is written; products
    /// not in the file are left alone.
    Put {
        /// The catalog file (see infra/catalog.example.json).
        file: PathBuf,
    },
    /// Take a product off the catalog (orders already placed are unaffected).
    Remove {
        /// The product id.
        id: String,
    },
}

/// What to print, and whether the command succeeded (the doctor fails when a check fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// The text for standard output.
    pub text: String,
    /// The exit status to report.
    pub success: bool,
}

/// The target the options name.
pub async fn target(cli: &Cli) -> anyhow::Result<Target> {
    if cli.aws {
        let Some(url) = cli.url.clone() else {
            bail!("--aws needs --url (the stack's MerchantAdminApiUrl output)");
        };
        Target::aws(url, cli.region.clone()).await
    } else {
        let url = match &cli.url {
            Some(url) => url.clone(),
            None => Url::parse(LOCAL_URL)?,
        };
        Target::local(url, &cli.token_file)
    }
}

/// Runs the command; returns what to print. A refusal by the API is an error with its message.
pub async fn run(cli: &Cli) -> anyhow::Result<Printed> {
    if let Command::Doctor { stack } = &cli.command {
        let report = match stack {
            Some(name) => doctor::deployed(&doctor::AwsClients::new(&aws(cli).await?), name).await,
            None => doctor_local(cli).await?,
        };
        let text = if cli.json {
            format!("{}\n", serde_json::to_string_pretty(&report.json())?)
        } else {
            report.text()
        };
        return Ok(Printed {
            text,
            success: report.passed(),
        });
    }
    let target = target(cli).await?;
    Ok(Printed {
        text: run_on(&target, cli).await?,
        success: true,
    })
}

/// The doctor on the process environment (a Secrets Manager client only if it names a secret).
async fn doctor_local(cli: &Cli) -> anyhow::Result<doctor::Report> {
    let env = ProcessEnv;
    let secrets_manager = match env.var("WXPAY_SECRET_ID") {
        Some(_) => Some(aws_sdk_secretsmanager::Client::new(&aws(cli).await?)),
        None => None,
    };
    Ok(doctor::merchant(
        &env,
        secrets_manager.as_ref(),
        doctor::AddressPolicy::PublicOnly,
    )
    .await)
}

/// The caller's AWS configuration (profiles, SSO), in `--region` if given, over the HTTPS client
/// the functions use.
async fn aws(cli: &Cli) -> anyhow::Result<aws_config::SdkConfig> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(env_config::clients::aws_https_client()?);
    if let Some(region) = &cli.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    Ok(loader.load().await)
}

/// Runs the command against `target`.
pub async fn run_on(target: &Target, cli: &Cli) -> anyhow::Result<String> {
    let mut preface = String::new();
    // The answer, and how its `data` is shown as a table.
    let (answer, table): (_, fn(u16, &Value) -> String) = match &cli.command {
        Command::Refund {
            order_no,
            amount,
            reason,
            idempotency_key,
        } => {
            let key = match idempotency_key {
                Some(key) => key.clone(),
                None => {
                    let key = alphanumeric(&OsRandom, 32);
                    preface =
                        format!("Idempotency-Key: {key}  (retry with --idempotency-key {key})\n");
                    key
                }
            };
            let request = target.request(
                http::Method::POST,
                &format!("/admin/orders/{}/refunds", path_segment(order_no)?),
                Some(&json!({"amount": amount, "reason": reason})),
                &[("idempotency-key", key.as_str())],
            )?;
            (target.send(request).await?, output::refund)
        }
        Command::Order { order_no } => {
            let request = target.request(
                http::Method::GET,
                &format!("/admin/orders/{}", path_segment(order_no)?),
                None,
                &[],
            )?;
            (target.send(request).await?, |_, data| output::order(data))
        }
        Command::Orders {
            status,
            limit,
            cursor,
        } => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("status", status);
            query.append_pair("limit", &limit.to_string());
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            let request = target.request(
                http::Method::GET,
                &format!("/admin/orders?{}", query.finish()),
                None,
                &[],
            )?;
            (target.send(request).await?, |_, data| output::orders(data))
        }
        Command::Doctor { .. } => bail!("the doctor does not call the admin API"),
        Command::Products { action } => {
            return products(target, action, cli.json).await;
        }
    };
    refused(&answer, &preface)?;
    if cli.json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(&answer.body)?));
    }
    let table = table(answer.status, &answer.body["data"]);
    Ok(format!("{preface}{table}"))
}

/// An error with the API's message unless the answer is a success.
fn refused(answer: &Answer, preface: &str) -> anyhow::Result<()> {
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    let message = answer.body["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.body.to_string());
    bail!("{preface}HTTP {}: {message}", answer.status);
}

/// `products list | put FILE | remove ID`.
async fn products(target: &Target, action: &ProductsAction, json: bool) -> anyhow::Result<String> {
    match action {
        ProductsAction::List => {
            let request = target.request(http::Method::GET, "/admin/products", None, &[])?;
            let answer = target.send(request).await?;
            refused(&answer, "")?;
            if json {
                return Ok(format!("{}\n", serde_json::to_string_pretty(&answer.body)?));
            }
            Ok(output::products(&answer.body["data"]))
        }
        ProductsAction::Put { file } => {
            let entries = catalog_file::read(file)?;
            let mut out = String::new();
            for entry in &entries {
                let body = serde_json::to_value(entry)?;
                let request = target.request(
                    http::Method::PUT,
                    &format!("/admin/products/{}", entry.id),
                    Some(&body),
                    &[],
                )?;
                let answer = target.send(request).await?;
                refused(&answer, &out)?;
                let what = if answer.status == 201 {
                    "added"
                } else {
                    "replaced"
                };
                out.push_str(&format!(
                    "{what} {} ({} fen): {}\n",
                    entry.id, entry.price, entry.title
                ));
            }
            Ok(out)
        }
        ProductsAction::Remove { id } => {
            let request = target.request(
                http::Method::DELETE,
                &format!("/admin/products/{}", product_segment(id)?),
                None,
                &[],
            )?;
            let answer = target.send(request).await?;
            refused(&answer, "")?;
            Ok(format!("removed {id}\n"))
        }
    }
}

/// A product id as one path segment.
fn product_segment(id: &str) -> anyhow::Result<&str> {
    if !orders::domain::product::valid_product_id(id) {
        bail!("{id:?} is not a product id (1–64 characters of [0-9A-Za-z_-])");
    }
    Ok(id)
}

/// An order number as one path segment: only the characters order numbers have.
fn path_segment(order_no: &str) -> anyhow::Result<&str> {
    if order_no.is_empty()
        || order_no.len() > 64
        || !order_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        bail!("{order_no:?} is not an order number");
    }
    Ok(order_no)
}

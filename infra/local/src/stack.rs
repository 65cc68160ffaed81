//! Starting and stopping the local stack.

use crate::admin::{AdminToken, guard};
use crate::catalog::seed_if_empty;
use crate::merchant::{real_merchant_configured, write_sandbox_env};
use axum::Router;
use env_config::{
    ConfigError, FlowSettings, MerchantSecrets, ProcessEnv, WxPaySettings, aws_config,
    dynamodb_client, notify_url, orders_config, secrets_manager_client, wxpay_client,
};
use order_reconcile::{SweepRun, run_sweep};
use orders::adapters::{DynamoOrderStore, EmbeddedOrderStore};
use orders::domain::OrderNoGenerator;
use orders::domain::{OrderNo, PaymentRecord};
use orders::ports::{PaymentRecordReader, ProductWriter, StoreError, SweepStore};
use orders::services::refund_sweep::RefundSweepStore;
use pay_notify::NOTIFY_PATH;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::services::{ServeDir, ServeFile};
use url::Url;
use wxpay::Clock;
use wxpay_sim::{SimConfig, Simulator};

/// How to run the stack.
pub struct StackConfig {
    /// Where to listen (port 0 picks one).
    pub listen: SocketAddr,
    /// Local state: the embedded store, the simulator's sandbox, `sandbox.env`, `admin.token`.
    pub data_dir: PathBuf,
    /// The static storefront (`infra/storefront`).
    pub storefront_dir: PathBuf,
    /// The simulator's `--time-scale` (notification retry delays divided by it).
    pub sim_time_scale: f64,
    /// Period of the sweep.
    pub sweep_every: Duration,
    /// `ORDER_TTL_SECS`, `RECONCILE_AFTER_SECS`, `RECONCILE_CONCURRENCY`.
    pub flow: FlowSettings,
    /// `ORDERS_TABLE`: DynamoDB instead of the embedded store.
    pub orders_table: Option<String>,
    /// The merchant side's clock (orders, expiry, sweep, notification window).
    pub clock: Arc<dyn Clock>,
}

/// Why the stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// Listening failed.
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    /// The data directory or `sandbox.env` could not be written.
    #[error("data directory: {0}")]
    DataDir(std::io::Error),
    /// The simulator failed to start.
    #[error("simulator: {0}")]
    Simulator(#[from] wxpay_sim::SimError),
    /// The merchant configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The order store failed.
    #[error("order store: {0}")]
    Store(#[from] StoreError),
    /// A URL could not be formed.
    #[error("url: {0}")]
    Url(#[from] url::ParseError),
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type SweepFn = dyn Fn() -> BoxFuture<Result<SweepRun, StoreError>> + Send + Sync;
type RecordsFn = dyn Fn(OrderNo) -> BoxFuture<Result<Vec<PaymentRecord>, StoreError>> + Send + Sync;

/// A running stack.
pub struct Stack {
    base_url: Url,
    admin_token: AdminToken,
    simulator: Option<Arc<Simulator>>,
    sweep: Arc<SweepFn>,
    records: Arc<RecordsFn>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Stack {
    /// Starts everything and returns once the listener accepts connections.
    pub async fn start(config: StackConfig) -> Result<Self, StackError> {
        std::fs::create_dir_all(&config.data_dir).map_err(StackError::DataDir)?;
        let admin_token =
            AdminToken::load_or_create(&config.data_dir).map_err(StackError::DataDir)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| StackError::Listen(config.listen, e))?;
        let address = listener
            .local_addr()
            .map_err(|e| StackError::Listen(config.listen, e))?;
        let base_url = Url::parse(&format!("http://{address}"))?;
        let own_notify_url = format!("http://{address}{NOTIFY_PATH}");

        // WeChat Pay: the embedded simulator unless a real merchant is configured.
        let (simulator, settings, notify_url) = if real_merchant_configured() {
            let settings = WxPaySettings::from_env(&ProcessEnv)?;
            (None, settings, notify_url(&ProcessEnv)?)
        } else {
            let sim = Simulator::open(
                SimConfig::new(config.data_dir.join("sim"), base_url.clone())
                    .with_time_scale(config.sim_time_scale),
            )
            .await?;
            let vars = write_sandbox_env(
                &sim.env_file(),
                &own_notify_url,
                &config.data_dir.join("sandbox.env"),
            )
            .map_err(StackError::DataDir)?;
            (
                Some(Arc::new(sim)),
                WxPaySettings::from_env(&vars)?,
                notify_url(&vars)?,
            )
        };
        let aws = match (&config.orders_table, &settings.secrets) {
            (None, env_config::SecretSource::Local { .. }) => None,
            _ => Some(aws_config().await?),
        };
        let secrets_manager = aws.as_ref().map(secrets_manager_client);
        let secrets = MerchantSecrets::load(&settings.secrets, secrets_manager.as_ref()).await?;
        let gateway = wxpay_client(&settings, secrets)?;
        let setup = Setup {
            gateway,
            orders: orders_config(&settings, &config.flow),
            notify_url,
            clock: config.clock.clone(),
            simulator: simulator.clone(),
            storefront_dir: config.storefront_dir.clone(),
            admin_token: admin_token.clone(),
        };
        let (stop, stopped) = watch::channel(false);
        let (app, sweep, records) = match (&config.orders_table, &aws) {
            (Some(table), Some(aws)) => {
                let client = dynamodb_client(aws);
                if client
                    .describe_table()
                    .table_name(table)
                    .send()
                    .await
                    .is_err()
                {
                    orders::adapters::dynamo::create_table(&client, table).await?;
                }
                setup
                    .build(DynamoOrderStore::new(client, table.clone()))
                    .await?
            }
            _ => {
                let store = EmbeddedOrderStore::open(config.data_dir.join("orders")).await?;
                setup.build(store).await?
            }
        };
        let mut server_stop = stopped.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "local stack server failed");
            }
        });
        let timer = tokio::spawn(sweep_timer(sweep.clone(), config.sweep_every, stopped));
        Ok(Self {
            base_url,
            admin_token,
            simulator,
            sweep,
            records,
            stop,
            tasks: vec![server, timer],
        })
    }

    /// `http://127.0.0.1:PORT`: the storefront, the API, the notify URL and the simulator.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The bearer token of the admin API under `/admin/…` (kept in `admin.token`).
    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    /// The embedded simulator (absent with a real merchant).
    pub fn simulator(&self) -> Option<&Simulator> {
        self.simulator.as_deref()
    }

    /// Runs one sweep now (the timer runs them too).
    pub async fn sweep_now(&self) -> Result<SweepRun, StoreError> {
        (self.sweep)().await
    }

    /// The payment records stored for an order (what settling wrote; one at most).
    pub async fn payment_records(
        &self,
        order_no: &OrderNo,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        (self.records)(order_no.clone()).await
    }

    /// Stops serving, the sweep timer and the simulator's deliveries.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(simulator) = &self.simulator {
            simulator.shutdown().await;
        }
    }
}

async fn sweep_timer(sweep: Arc<SweepFn>, every: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        if let Err(error) = sweep().await {
            tracing::warn!(%error, "sweep failed; the next one retries");
        }
    }
}

/// The stack's setup: everything the functions' [`native_order::Deps`], [`pay_notify::Deps`],
/// [`order_reconcile::Deps`] and [`merchant_admin::Deps`] are built from, but the store, which
/// decides the concrete types.
struct Setup {
    gateway: wxpay::Client,
    orders: orders::OrdersConfig,
    notify_url: orders::NotifyUrl,
    clock: Arc<dyn Clock>,
    simulator: Option<Arc<Simulator>>,
    storefront_dir: PathBuf,
    admin_token: AdminToken,
}

impl Setup {
    async fn build<S>(self, store: S) -> Result<(Router, Arc<SweepFn>, Arc<RecordsFn>), StackError>
    where
        S: native_order::state::StorefrontStore
            + ProductWriter
            + SweepStore
            + RefundSweepStore
            + PaymentRecordReader
            + merchant_admin::AdminStore
            + Clone
            + Send
            + Sync,
    {
        seed_if_empty(&store).await?;
        let api = native_order::router(
            Arc::new(native_order::Deps {
                store: store.clone(),
                gateway: self.gateway.clone(),
                clock: self.clock.clone(),
                config: self.orders.clone(),
                notify_url: self.notify_url.clone(),
                order_numbers: OrderNoGenerator::default(),
            }),
            None,
        );
        let notify = pay_notify::router(Arc::new(pay_notify::Deps {
            parser: self.gateway.notification_parser(),
            store: store.clone(),
            clock: self.clock.clone(),
            config: self.orders.clone(),
            deadline: pay_notify::handler::DEFAULT_DEADLINE,
        }));
        // The merchant admin API: the token, and nothing else, lets a request through.
        let admin = merchant_admin::router(Arc::new(merchant_admin::Deps {
            store: store.clone(),
            gateway: self.gateway.clone(),
            clock: self.clock.clone(),
            notify_url: self.notify_url.clone(),
        }))
        .layer(axum::middleware::from_fn_with_state(
            self.admin_token,
            guard,
        ));
        let reader = store.clone();
        let records: Arc<RecordsFn> = Arc::new(move |order_no| {
            let reader = reader.clone();
            Box::pin(async move { reader.payment_records(&order_no).await })
        });
        let deps = Arc::new(order_reconcile::Deps {
            store,
            gateway: self.gateway,
            clock: self.clock.clone(),
            config: self.orders,
            notify_url: self.notify_url,
        });
        let clock = self.clock;
        let sweep: Arc<SweepFn> = Arc::new(move || {
            let deps = deps.clone();
            let deadline = clock.now() + time::Duration::seconds(30);
            Box::pin(async move { run_sweep(&deps, deadline).await })
        });
        let storefront = ServeDir::new(&self.storefront_dir)
            .fallback(ServeFile::new(self.storefront_dir.join("index.html")));
        let mut app = Router::new().merge(api).merge(notify).merge(admin);
        if let Some(simulator) = &self.simulator {
            app = app.merge(simulator.router());
        }
        Ok((app.fallback_service(storefront), sweep, records))
    }
}

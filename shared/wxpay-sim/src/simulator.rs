//! The embeddable simulator: open it on a state directory, mount its router, shut it down.

use crate::api;
use crate::bill::BillDesk;
use crate::clock::SkewedClock;
use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::{FaultSwitches, Faults};
use crate::notify::{Notifier, run_delivery};
use crate::platform;
use crate::refund_timer;
use crate::sandbox::{ENV_FILE, Sandbox};
use crate::shopper;
use crate::signing::ResponseSigner;
use crate::state::SimState;
use crate::store::OrderStore;
use axum::Router;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

/// A running WeChat Pay simulator: its state, its router, and its notification delivery task.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use wxpay_sim::{SimConfig, Simulator};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let base_url = url::Url::parse(&format!("http://{}", listener.local_addr()?))?;
/// let sim = Simulator::open(SimConfig::new(".data/wxpay-sim", base_url)).await?;
/// // Mount next to other routers: its paths are /v3/… and /sim….
/// let app = axum::Router::new().merge(sim.router());
/// axum::serve(listener, app).await?;
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Simulator {
    state: Arc<SimState>,
    base_url: Url,
    shutdown: watch::Sender<bool>,
    worker: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("base_url", &self.base_url.as_str())
            .field("sandbox", &self.state.sandbox)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Opens (or creates) the sandbox in `config.state_dir`, writes `sandbox.env` with
    /// `config.base_url`, replays the order log, and starts the notification delivery task on the
    /// current Tokio runtime. Serving HTTP is up to the caller: mount [`Simulator::router`].
    pub async fn open(config: SimConfig) -> Result<Self, SimError> {
        config.validate()?;
        let dir = config.state_dir.clone();
        let base_url = config.base_url.clone();
        let (sandbox, store) = tokio::task::spawn_blocking(move || {
            let sandbox = Sandbox::open_or_create(&dir, &base_url)?;
            let store = OrderStore::open(&sandbox.dir)?;
            Ok::<_, SimError>((sandbox, store))
        })
        .await
        .map_err(|e| SimError::Config(format!("start-up task failed: {e}")))??;
        let sandbox = Arc::new(sandbox);
        let clock = Arc::new(SkewedClock::new(config.clock.clone()));
        let (notifier, tasks) = Notifier::new(config.time_scale, config.notify_timeout)
            .map_err(|e| SimError::Config(format!("notification HTTP client: {e}")))?;
        let state = Arc::new(SimState {
            signer: ResponseSigner::new(sandbox.clone(), config.signing_mode),
            sandbox,
            store,
            faults: FaultSwitches::new(clock.clone()),
            clock,
            notifier,
            bills: BillDesk::new(config.base_url.clone(), config.fee_rate_bp),
        });
        refund_timer::resume(&state);
        let (shutdown, signal) = watch::channel(false);
        let worker = tokio::spawn(run_delivery(state.clone(), tasks, signal));
        Ok(Self {
            state,
            base_url: config.base_url,
            shutdown,
            worker: Arc::new(Mutex::new(Some(worker))),
        })
    }

    /// The routes: the merchant API under `/v3/…` and the sandbox's own pages under `/sim…`.
    /// Merge it into an application at the root (`Router::merge`), not under a prefix, so the
    /// paths merchants sign are the paths WeChat Pay uses. It sets no fallback.
    pub fn router(&self) -> Router {
        api::router(self.state.clone())
            .merge(shopper::router(self.state.clone()))
            .merge(platform::router(self.state.clone()))
    }

    /// The URL written to `sandbox.env` as `WXPAY_BASE_URL`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The sandbox merchant and WeChat Pay's keys.
    pub fn sandbox(&self) -> &Sandbox {
        &self.state.sandbox
    }

    /// Absolute path of `sandbox.env`.
    pub fn env_file(&self) -> PathBuf {
        self.state.sandbox.file(ENV_FILE)
    }

    /// The fault switches in force (as `GET /sim/faults`).
    pub fn faults(&self) -> Faults {
        self.state.faults.current()
    }

    /// Replaces the fault switches (as `POST /sim/faults`); the message names a bad member.
    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        self.state.faults.set(faults)
    }

    /// Turns every fault off (as `DELETE /sim/faults`).
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Stops notification delivery (pending retries are abandoned), waits for it, and releases
    /// the state directory's lock. Orders are already on disk. Stop serving the router first:
    /// requests still handled afterwards would write to a log another simulator may now own.
    /// Calling it again does nothing.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        self.state.store.release();
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
    }
}

//! What every handler and the delivery worker share.

use crate::bill::BillDesk;
use crate::clock::SkewedClock;
use crate::faults::FaultSwitches;
use crate::notify::Notifier;
use crate::sandbox::Sandbox;
use crate::signing::ResponseSigner;
use crate::store::OrderStore;
use std::sync::Arc;
use time::OffsetDateTime;
use wxpay::clock::Clock as _;

/// The simulator's state.
pub struct SimState {
    /// The sandbox merchant and WeChat Pay's keys.
    pub sandbox: Arc<Sandbox>,
    /// Orders.
    pub store: OrderStore,
    /// Fault switches.
    pub faults: FaultSwitches,
    /// The clock, skew included.
    pub clock: Arc<SkewedClock>,
    /// Response and notification signing.
    pub signer: ResponseSigner,
    /// Notification scheduling and log.
    pub notifier: Notifier,
    /// Trade bills: fee rate and download tokens.
    pub bills: BillDesk,
}

impl SimState {
    /// The simulator's current time (skew included).
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

//! What a Lambda function does before its runtime loop: load its setup from the environment
//! (settings, secrets, clients; [`env_config`]), install its log subscriber, and report a failed
//! start to the Runtime API.

pub mod init_error;
pub mod logging;
pub mod setup;
#[cfg(feature = "testing")]
pub mod testing;

pub use init_error::init_or_report;
pub use logging::init_logging;
pub use setup::Setup;

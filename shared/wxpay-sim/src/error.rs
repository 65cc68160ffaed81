//! Why the simulator could not start or keep its state. Never carries key material.

use std::path::PathBuf;

/// A failure to open, create or persist the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// A file under the state directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The state directory holds a sandbox that cannot be used as it is.
    #[error("sandbox in {dir}: {reason}")]
    Sandbox {
        /// The state directory.
        dir: PathBuf,
        /// What is wrong (names a file or a variable, never a secret).
        reason: String,
    },
    /// A key or certificate could not be generated or loaded.
    #[error("key material: {0}")]
    Keys(String),
    /// The order log could not be read back.
    #[error("order log {path}: {reason}")]
    OrderLog {
        /// The log file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl SimError {
    /// An I/O error about `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

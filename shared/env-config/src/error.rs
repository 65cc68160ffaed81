//! Configuration errors: they name the variable and never carry a secret.

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong (never the value of a secret).
        reason: String,
    },
    /// A file named by a variable cannot be read.
    #[error("cannot read {name} file {path}: {reason}")]
    File {
        /// The variable naming the file.
        name: &'static str,
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The Secrets Manager secret cannot be read or lacks a field.
    #[error("secret {secret_id}: {reason}")]
    Secret {
        /// The secret's id.
        secret_id: String,
        /// What went wrong (never the secret's content).
        reason: String,
    },
    /// The WeChat Pay client could not be built.
    #[error("WeChat Pay client: {0}")]
    Client(String),
}

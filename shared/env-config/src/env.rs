//! Where variables come from: the process environment, or a map in tests.

use crate::error::ConfigError;
use std::collections::HashMap;
use std::str::FromStr;

/// A source of configuration variables.
pub trait Env {
    /// The value of `name`, if set (empty counts as unset).
    fn var(&self, name: &str) -> Option<String>;

    /// The value of a required variable.
    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.var(name).ok_or(ConfigError::Missing(name))
    }

    /// A parsed optional variable, `default` when unset.
    fn parsed_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.var(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
        }
    }
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// Variables from a map (tests, `sandbox.env` files).
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    /// Parses a `sandbox.env`-style file (the format of the `envfile` crate: `KEY=value` lines,
    /// blank lines and `#` comments skipped, optional double quotes removed).
    pub fn parse_dotenv(text: &str) -> Self {
        Self(envfile::parse(text).into_iter().collect())
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

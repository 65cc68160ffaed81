//! The functions' log output, as Lambda's advanced logging controls configure it.
//!
//! Same behaviour as `lambda_runtime`'s `tracing::init_default_subscriber` for a level:
//! `AWS_LAMBDA_LOG_LEVEL` (the function's `LoggingConfig.ApplicationLogLevel`) wins over
//! `RUST_LOG`, an unset or unknown level means `INFO`, and `AWS_LAMBDA_LOG_FORMAT=JSON` writes one
//! JSON object per line. Without per-module `RUST_LOG` directives: parsing them needs
//! `tracing-subscriber`'s `env-filter` and with it a regex engine, a quarter of a megabyte in each
//! bootstrap for a feature Lambda's own controls do not have.

use env_config::Env;
use tracing_subscriber::filter::LevelFilter;

/// How a function logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// The most verbose level written.
    pub level: LevelFilter,
    /// One JSON object per line (else tracing's plain text).
    pub json: bool,
}

impl LogSettings {
    /// Reads `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG` and `AWS_LAMBDA_LOG_FORMAT`.
    pub fn from_env(env: &impl Env) -> Self {
        let level = env
            .var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|| env.var("RUST_LOG"))
            .and_then(|raw| raw.trim().parse().ok())
            .unwrap_or(LevelFilter::INFO);
        let json = env
            .var("AWS_LAMBDA_LOG_FORMAT")
            .is_some_and(|format| format.trim().eq_ignore_ascii_case("json"));
        Self { level, json }
    }
}

/// Installs the process-wide subscriber writing to stdout (Lambda forwards it to CloudWatch Logs),
/// without timestamps (CloudWatch adds them) or targets. Does nothing if one is already installed.
///
/// Also turns on the metric lines ([`emf`]) on the same stdout, whatever the log level, under the
/// namespace `METRICS_NAMESPACE` (the template sets `WxPayNative/<stack name>`; unset:
/// [`emf::DEFAULT_NAMESPACE`]).
pub fn init_logging(env: &impl Env) {
    if let Some(namespace) = env.var("METRICS_NAMESPACE") {
        emf::set_namespace(&namespace);
    }
    emf::write_to_stdout();
    let settings = LogSettings::from_env(env);
    let builder = tracing_subscriber::fmt()
        .with_max_level(settings.level)
        .with_target(false)
        .without_time();
    // `try_init` fails only when a subscriber is already set, which then keeps logging.
    let _ = if settings.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use env_config::MapEnv;

    fn settings(vars: &[(&str, &str)]) -> LogSettings {
        let env = MapEnv(
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        LogSettings::from_env(&env)
    }

    #[test]
    fn defaults_to_info_in_plain_text() {
        assert_eq!(
            settings(&[]),
            LogSettings {
                level: LevelFilter::INFO,
                json: false
            }
        );
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "trace")]);
        assert_eq!(s.level, LevelFilter::WARN);
        assert_eq!(settings(&[("RUST_LOG", "debug")]).level, LevelFilter::DEBUG);
    }

    #[test]
    fn unknown_level_falls_back_to_info() {
        assert_eq!(
            settings(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]).level,
            LevelFilter::INFO
        );
        // A per-module directive is not a level: INFO rather than silently something else.
        assert_eq!(
            settings(&[("RUST_LOG", "orders=debug")]).level,
            LevelFilter::INFO
        );
    }

    #[test]
    fn json_format_is_case_insensitive() {
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).json);
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "json")]).json);
        assert!(!settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).json);
    }
}

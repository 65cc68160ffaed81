//! Suites that need an AWS API server (moto, as `tests/run-all.sh` starts it): skipped with a
//! message when their endpoint is not set, so that `cargo test --workspace` passes on a fresh
//! clone, and recorded when they ran, so that the test command can check they did.

use std::path::Path;

/// Variable naming the directory where each suite records (an empty file named after the suite)
/// that it ran against its endpoint. `tests/run-all.sh` sets it and fails if a record is missing.
pub const RAN_DIR_VAR: &str = "AWS_SUITES_RAN_DIR";

/// Whether `suite` can run: `endpoint_var` (e.g. `AWS_ENDPOINT_URL_DYNAMODB`) names an endpoint.
/// If so, records under `$AWS_SUITES_RAN_DIR` (when set) that the suite ran; if not, prints that
/// it is skipped. A test calls it first and returns at once on `false`.
pub fn aws_suite_can_run(suite: &str, endpoint_var: &str) -> bool {
    if std::env::var(endpoint_var).unwrap_or_default().is_empty() {
        eprintln!(
            "skipping the {suite} suite: {endpoint_var} is not set (tests/run-all.sh starts moto)"
        );
        return false;
    }
    if let Some(dir) = std::env::var_os(RAN_DIR_VAR) {
        let dir = Path::new(&dir);
        if let Err(error) =
            std::fs::create_dir_all(dir).and_then(|()| std::fs::write(dir.join(suite), b""))
        {
            // The test command then reports the suite as not run.
            eprintln!(
                "cannot record that the {suite} suite ran in {}: {error}",
                dir.display()
            );
        }
    }
    true
}

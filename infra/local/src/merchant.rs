//! Which WeChat Pay the stack talks to: the embedded simulator's sandbox merchant, or a real merchant
//! from `WXPAY_*` variables.

use env_config::{Env, MapEnv, ProcessEnv};
use std::path::Path;

/// Whether the process environment names a real merchant (`WXPAY_MCHID` is set).
pub fn real_merchant_configured() -> bool {
    ProcessEnv.var("WXPAY_MCHID").is_some()
}

/// Writes `target` (the stack's `sandbox.env`): the simulator's sandbox merchant plus
/// `WXPAY_NOTIFY_URL` pointing back at this stack, in the `envfile` format, and returns it as
/// variables.
pub fn write_sandbox_env(
    sim_env_file: &Path,
    notify_url: &str,
    target: &Path,
) -> std::io::Result<MapEnv> {
    let mut text = std::fs::read_to_string(sim_env_file)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let line = envfile::line("WXPAY_NOTIFY_URL", notify_url)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    text.push_str(&line);
    std::fs::write(target, &text)?;
    Ok(MapEnv::parse_dotenv(&text))
}

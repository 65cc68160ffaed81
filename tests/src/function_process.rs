//! A function binary run as Lambda runs it: a child process with a clean environment holding
//! Lambda's variables (`AWS_LAMBDA_RUNTIME_API` pointing at a [`crate::runtime_api::RuntimeApi`],
//! `AWS_LAMBDA_FUNCTION_NAME`, …, `AWS_LAMBDA_LOG_FORMAT=JSON`) and the function's configuration.
//! Its stdout and stderr are captured; it is killed when dropped.

use crate::runtime_api::RuntimeApi;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The variable that names the folder of the function binaries, overriding the default (the
/// profile folder of the running test or bench, e.g. `target/debug`).
pub const BIN_DIR_VAR: &str = "SYSTEM_TESTS_BIN_DIR";
/// The function packages, whose binaries have the same names.
pub const FUNCTIONS: [&str; 4] = [
    "native-order",
    "pay-notify",
    "order-reconcile",
    "merchant-admin",
];

/// Where a function binary is: `$SYSTEM_TESTS_BIN_DIR/<name>` (or `<name>/bootstrap`, the layout
/// of `cargo lambda build`), else `<name>` in the profile folder the running executable was built
/// into (`target/<profile>` under `CARGO_TARGET_DIR` or the workspace's `target`). Fails with the
/// command that builds it when it is missing, and when a source file of the workspace is newer
/// than the binary (it would test stale code).
pub fn locate_binary(name: &str) -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os(BIN_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => profile_dir()?,
    };
    let candidates = [dir.join(name), dir.join(name).join("bootstrap")];
    let Some(found) = candidates.iter().find(|p| p.is_file()) else {
        bail!(
            "function binary `{name}` not found in {}: build the functions first, e.g. \
             `cargo build -p native-order -p pay-notify -p order-reconcile -p merchant-admin` (same profile as the \
             tests; tests/run-all.sh does it), or set {BIN_DIR_VAR}",
            dir.display()
        );
    };
    if std::env::var_os(BIN_DIR_VAR).is_none() {
        check_fresh(name, found)?;
    }
    Ok(found.clone())
}

/// `target/<profile>`: the parent of the `deps` folder holding the running test or bench.
fn profile_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("path of the running executable")?;
    let deps = exe.parent().context("executable has no folder")?;
    let profile = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().context("deps folder has no parent")?
    } else {
        deps
    };
    Ok(profile.to_path_buf())
}

/// The crates of the workspace a function binary is built from (besides its own).
const FUNCTION_DEPENDENCIES: [&str; 5] = [
    "shared/wxpay",
    "shared/orders",
    "shared/env-config",
    "shared/envfile",
    "shared/lambda-init",
];

/// Fails if a `.rs` or `Cargo.toml` of the function or of the crates it is built from is newer
/// than `binary` (their tests and benches excepted).
fn check_fresh(name: &str, binary: &Path) -> anyhow::Result<()> {
    let built = std::fs::metadata(binary)?.modified()?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    let own = format!("functions/{name}");
    for root in FUNCTION_DEPENDENCIES.iter().copied().chain([own.as_str()]) {
        newest_source(&workspace.join(root), &mut newest);
    }
    if let Some((modified, path)) = newest
        && modified > built
    {
        bail!(
            "function binary `{name}` ({}) is older than {}: rebuild it with \
             `cargo build -p native-order -p pay-notify -p order-reconcile -p merchant-admin`",
            binary.display(),
            path.display()
        );
    }
    Ok(())
}

fn newest_source(dir: &Path, newest: &mut Option<(SystemTime, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            let skip = path.file_name().is_some_and(|n| {
                ["target", "tests", "benches", "examples"]
                    .iter()
                    .any(|s| n == *s)
            });
            if !skip {
                newest_source(&path, newest);
            }
            continue;
        }
        let relevant = path.extension().is_some_and(|e| e == "rs")
            || path.file_name().is_some_and(|n| n == "Cargo.toml");
        if let (true, Ok(modified)) = (relevant, meta.modified())
            && newest.as_ref().is_none_or(|(t, _)| modified > *t)
        {
            *newest = Some((modified, path));
        }
    }
}

/// How to start a function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The binary.
    pub binary: PathBuf,
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// The function's own configuration (and AWS credentials, region, endpoints), on top of
    /// Lambda's variables.
    pub env: Vec<(String, String)>,
}

impl FunctionSpec {
    /// A spec for `binary` named `function_name`, 256 MB, no configuration yet.
    pub fn new(binary: impl Into<PathBuf>, function_name: impl Into<String>) -> Self {
        Self {
            binary: binary.into(),
            function_name: function_name.into(),
            memory_mb: 256,
            env: Vec::new(),
        }
    }

    /// Adds (or replaces) a variable.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }

    /// Adds (or replaces) variables.
    pub fn vars<I, K, V>(self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        vars.into_iter().fold(self, |spec, (k, v)| spec.var(k, v))
    }

    /// Removes a variable.
    pub fn without(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// Lambda's own variables for this function against `api`.
    fn lambda_env(&self, api: &RuntimeApi) -> Vec<(String, String)> {
        let name = &self.function_name;
        [
            ("AWS_LAMBDA_RUNTIME_API", api.endpoint()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]00000000000000000000000000000000".to_owned(),
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
            ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// A running function process. Killed (and reaped) on drop.
pub struct FunctionProcess {
    name: String,
    child: Child,
    started: Instant,
    output: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for FunctionProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionProcess")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl FunctionProcess {
    /// Starts `spec` against `api` with a clean environment: Lambda's variables, then the spec's.
    /// [`FunctionProcess::started`] is taken just before the spawn.
    pub fn spawn(spec: &FunctionSpec, api: &RuntimeApi) -> anyhow::Result<Self> {
        let mut command = Command::new(&spec.binary);
        command
            .env_clear()
            .envs(spec.lambda_env(api))
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", spec.binary.display()))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            capture(stdout, "stdout", output.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            capture(stderr, "stderr", output.clone());
        }
        Ok(Self {
            name: spec.function_name.clone(),
            child,
            started,
            output,
        })
    }

    /// When the process was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Everything it wrote so far, one line per entry, each prefixed with `stdout: ` or `stderr: `.
    pub fn output(&self) -> Vec<String> {
        self.output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Its output as one text (for assertion messages).
    pub fn output_text(&self) -> String {
        self.output().join("\n")
    }

    /// Its peak resident memory so far in KiB (`VmHWM` of `/proc/<pid>/status`), the figure
    /// Lambda reports as "Max Memory Used"; `None` where `/proc` does not tell (not Linux, exited).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Its exit status, if it has exited.
    pub fn try_exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Waits up to `timeout` for it to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                // Let the reader threads drain what it wrote last.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Ok(Some(status));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capture(stream: impl Read + Send + 'static, label: &'static str, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            into.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("{label}: {line}"));
        }
    });
}

/// A function process together with its own Runtime API emulator: one Lambda execution
/// environment.
#[derive(Debug)]
pub struct LambdaFunction {
    /// The emulator the process polls.
    pub api: RuntimeApi,
    /// The process.
    pub process: FunctionProcess,
}

impl LambdaFunction {
    /// Starts an emulator and `spec` against it, and waits up to `ready_within` for the first
    /// `…/invocation/next` poll; fails with the process's output if it exits or does not poll.
    pub async fn start(spec: &FunctionSpec, ready_within: Duration) -> anyhow::Result<Self> {
        let api = RuntimeApi::start(&spec.function_name).await?;
        let mut process = FunctionProcess::spawn(spec, &api)?;
        if api.wait_first_poll(ready_within).await.is_none() {
            let status = process.try_exit_status()?;
            bail!(
                "{} did not poll for events within {ready_within:?} (exit status: {status:?}); \
                 output:\n{}",
                spec.function_name,
                process.output_text()
            );
        }
        Ok(Self { api, process })
    }
}

//! The `moto` emulator: its server under a watchdog, optionally keeping the
//! DynamoDB and KMS state in a file across runs.

use crate::error::EmulatorError;
use crate::server::ServerProcess;
use crate::venv::Venv;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Options for [`MotoServer::start`].
#[derive(Debug, Clone, Default)]
pub struct MotoOptions {
    /// Port to listen on; a free one when `None`.
    pub port: Option<u16>,
    /// Where moto's log goes; discarded when `None`.
    pub log_file: Option<PathBuf>,
    /// The venv to run moto from; the project's `.venv/` when `None`.
    pub venv: Option<Venv>,
    /// Serve requests on threads without the dispatch lock, as `moto_server`
    /// does: conditional writes are then not atomic across requests. Only for
    /// showing that the load test catches a store that loses writes.
    pub unlocked: bool,
}

/// The Python launcher: moto's server under a watchdog (exits when stdin
/// closes, i.e. when the parent exits for any reason), dispatching one request
/// at a time (so a conditional write is atomic, as on DynamoDB:
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html),
/// ignoring the terminal's
/// SIGINT (the parent decides when to stop), and, when `MOTO_DEV_STATE` names
/// a file, loading the DynamoDB and KMS backends from it at start and saving
/// them to it (atomically) when told to stop (stdin closed or SIGTERM).
const WATCHDOG: &str = include_str!("moto_server.py");

/// A running moto server. Killed (and reaped) on drop, so a test that fails
/// or panics leaves no process behind.
#[derive(Debug)]
pub struct MotoServer {
    server: ServerProcess,
    /// Started with a state file: dropping it saves the state first.
    persistent: bool,
}

impl MotoServer {
    /// Installs moto if needed, starts it on loopback and waits until it answers.
    pub fn start(opts: MotoOptions) -> Result<Self, EmulatorError> {
        Self::spawn(opts, None)
    }

    /// Like [`MotoServer::start`], but the DynamoDB and KMS state (tables,
    /// items, keys with their key material, aliases) is loaded from
    /// `state_file` when it exists, and saved to it when the server is told to
    /// stop: by [`MotoServer::shutdown`], by SIGTERM, or when this process
    /// exits (its stdin closes), so even a killed parent keeps the data. moto's
    /// server mode has no persistence of its own; this pickles its backends.
    /// A state file moto cannot read (another moto version) is renamed to
    /// `<file>.bad` and the server starts empty.
    pub fn start_persistent(opts: MotoOptions, state_file: &Path) -> Result<Self, EmulatorError> {
        Self::spawn(opts, Some(state_file))
    }

    fn spawn(opts: MotoOptions, state_file: Option<&Path>) -> Result<Self, EmulatorError> {
        let venv = opts.venv.clone().unwrap_or_default();
        venv.ensure(&mut |line| eprintln!("{line}"))?;
        // 0: moto binds a free port itself and reports it (see WATCHDOG).
        let requested = opts.port.unwrap_or(0);
        let mut cmd = Command::new(venv.bin("python"));
        cmd.args([
            "-c",
            WATCHDOG,
            "-H",
            "127.0.0.1",
            "-p",
            &requested.to_string(),
        ])
        .args(opts.unlocked.then_some("--unlocked"))
        .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        .env_remove("MOTO_DEV_STATE");
        if let Some(state) = state_file {
            cmd.env("MOTO_DEV_STATE", state);
        }
        let mut server = ServerProcess::spawn("moto", cmd, opts.log_file.as_deref(), requested)?;
        server.wait_listening(Duration::from_secs(30))?;
        Ok(MotoServer {
            server,
            persistent: state_file.is_some(),
        })
    }

    /// Stops the server in order: closes its stdin (it saves its state first
    /// when started with [`MotoServer::start_persistent`]) and waits up to
    /// `timeout` for it to exit, then kills it. True when it exited by itself.
    pub fn shutdown(&mut self, timeout: Duration) -> bool {
        self.server.shutdown(timeout)
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` / `--endpoint-url`.
    pub fn endpoint_url(&self) -> String {
        self.server.endpoint_url()
    }

    /// Environment for an AWS SDK client (or a child process) pointed at this server.
    pub fn client_env(&self) -> Vec<(&'static str, String)> {
        self.server.client_env()
    }

    /// Stops the server now (also done on drop).
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if self.persistent {
            // An error path that never called `shutdown` must not lose data.
            self.shutdown(Duration::from_secs(10));
        } else {
            self.stop();
        }
    }
}

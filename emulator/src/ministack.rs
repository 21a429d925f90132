//! MiniStack, run as a child process on a free loopback port: the emulator
//! the deploy-then-call test uses, because it runs what moto does not — the
//! stack's CloudFormation including API Gateway v2 routes with JWT
//! authorizers, `provided.al2023` bootstrap binaries as Lambda functions
//! (without Docker), and Cognito user pools whose tokens its gateway accepts.
//!
//! Installed on first use into its own venv, `.venv-ministack/`, from the
//! pinned `requirements-ministack.txt` and `.lock` ([`Venv::ministack`]).
//!
//! How it is run:
//! - the launcher binds 127.0.0.1 on a port the OS picks and hands that
//!   socket to MiniStack's server, so no other process can take the port in
//!   between; MiniStack learns its port from `GATEWAY_PORT`;
//! - `AWS_ENDPOINT_URL` points at the server itself, so the functions it runs
//!   call it for DynamoDB and KMS;
//! - everything it writes (extracted function code, the Cognito signing key,
//!   state) goes to a private data directory, removed when it stops (by the
//!   launcher itself when its parent was killed); the
//!   listeners it would open on fixed ports (IoT MQTT, SFTP) are off, and it
//!   is kept away from any Docker daemon, so several instances run side by
//!   side;
//! - the functions it starts are its child processes, in its process group:
//!   stopping it (drop, or the watchdog when this process exits) kills the
//!   whole group.
//!
//! Deployed HTTP APIs are served under
//! `http://127.0.0.1:PORT/_aws/execute-api/{apiId}/{stage}/...`
//! ([`MiniStack::execute_api_url`]).

use crate::error::{io, EmulatorError};
use crate::server::{ServerProcess, TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY};
use crate::venv::Venv;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Options for [`MiniStack::start`].
#[derive(Debug, Clone, Default)]
pub struct MiniStackOptions {
    /// Where MiniStack's log goes (its own log and the functions' output);
    /// discarded when `None`.
    pub log_file: Option<PathBuf>,
    /// The venv to run it from; [`Venv::ministack`] when `None`.
    pub venv: Option<Venv>,
    /// Its data directory, kept after it stops; a fresh temporary one,
    /// removed when it stops, when `None`.
    pub data_dir: Option<PathBuf>,
}

/// The Python launcher. Ignores the terminal's SIGINT (the parent decides
/// when to stop); stdin closing or SIGTERM kills the whole process group.
const LAUNCHER: &str = include_str!("ministack_launcher.py");

/// A running MiniStack. Dropping it stops it and every function process it
/// started, and removes its temporary data directory.
#[derive(Debug)]
pub struct MiniStack {
    server: ServerProcess,
    data_dir: PathBuf,
    /// The data directory is ours (temporary): removed on drop.
    owns_data_dir: bool,
}

impl MiniStack {
    /// Installs MiniStack if needed, starts it on loopback and waits until it
    /// reports ready.
    pub fn start(opts: MiniStackOptions) -> Result<Self, EmulatorError> {
        let venv = opts.venv.clone().unwrap_or_else(Venv::ministack);
        venv.ensure(&mut |line| eprintln!("{line}"))?;
        let (data_dir, owns_data_dir) = match &opts.data_dir {
            Some(d) => (d.clone(), false),
            None => (fresh_data_dir(), true),
        };
        std::fs::create_dir_all(&data_dir)
            .map_err(io(format!("creating {}", data_dir.display())))?;
        let mut cmd = Command::new(venv.bin("python"));
        cmd.args(["-c", LAUNCHER, "0"]);
        configure_env(&mut cmd, &data_dir);
        if owns_data_dir {
            cmd.env("MINISTACK_REMOVE_ON_EXIT", &data_dir);
        } else {
            cmd.env_remove("MINISTACK_REMOVE_ON_EXIT");
        }
        let server = match ServerProcess::spawn("MiniStack", cmd, opts.log_file.as_deref(), 0) {
            Ok(s) => s,
            Err(e) => {
                if owns_data_dir {
                    let _ = std::fs::remove_dir_all(&data_dir);
                }
                return Err(e);
            }
        };
        let mut ministack = MiniStack {
            server,
            data_dir,
            owns_data_dir,
        };
        // The socket is bound before MiniStack is imported, so a connection
        // succeeds early: ask MiniStack itself whether it is ready.
        ministack
            .server
            .wait_until(Duration::from_secs(60), answers_ready)?;
        Ok(ministack)
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The launcher's pid, which is also the id of the process group holding
    /// MiniStack and the functions it runs.
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

    /// Where a deployed HTTP API's `stage` is served, e.g.
    /// `http://127.0.0.1:PORT/_aws/execute-api/abc123/$default`.
    pub fn execute_api_url(&self, api_id: &str, stage: &str) -> String {
        format!("{}/_aws/execute-api/{api_id}/{stage}", self.endpoint_url())
    }

    /// Where MiniStack keeps its files (extracted function code, state).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops MiniStack and every process it started (also done on drop).
    pub fn stop(&mut self) {
        // Closing stdin lets the launcher kill its own group; a launcher that
        // does not react is killed with its group from here.
        if !self.server.close_stdin_and_wait(Duration::from_secs(5)) {
            self.server.stop_group();
        }
    }
}

impl Drop for MiniStack {
    fn drop(&mut self) {
        self.stop();
        if self.owns_data_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A new directory under the system temp dir, unique to this process and call.
fn fresh_data_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "ministack-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

/// MiniStack's settings: a private data directory, loopback only, nothing
/// on fixed ports, no Docker, no persistence, no IAM enforcement, the test
/// account's region and credentials (the functions inherit this environment).
fn configure_env(cmd: &mut Command, data_dir: &Path) {
    for var in [
        // Settings a developer's shell may carry for another MiniStack or
        // LocalStack, or their real AWS identity, none of which apply here.
        "AUTH",
        "SERVICES",
        "PERSIST_STATE",
        "LOCALSTACK_PERSISTENCE",
        "S3_PERSIST",
        "LAMBDA_STRICT",
        "LOCALSTACK_HOSTNAME",
        "USE_SSL",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("TMPDIR", data_dir)
        .env("STATE_DIR", data_dir.join("state"))
        .env("S3_DATA_DIR", data_dir.join("s3"))
        // The host the gateway fetches a Cognito pool's JWKS from (itself):
        // `localhost` may resolve to ::1, where nothing listens.
        .env("MINISTACK_HOST", "127.0.0.1")
        .env("MINISTACK_REGION", TEST_REGION)
        .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY)
        .env("AWS_REGION", TEST_REGION)
        .env("AWS_DEFAULT_REGION", TEST_REGION)
        .env("LAMBDA_EXECUTOR", "local")
        .env("IOT_MTLS_ENABLED", "0")
        .env("SFTP_ENABLED", "0")
        .env(
            "DOCKER_HOST",
            format!("unix://{}", data_dir.join("no-docker.sock").display()),
        );
}

/// True when `GET /_ministack/ready` answers 200.
fn answers_ready(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /_ministack/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut status_line = String::new();
    if BufReader::new(s).read_line(&mut status_line).is_err() {
        return false;
    }
    status_line.split_whitespace().nth(1) == Some("200")
}

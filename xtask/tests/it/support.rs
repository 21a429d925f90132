//! Running the `xtask` binary as a user would: with only an emulator's
//! environment, and what a run printed and returned.

use emulator::MotoServer;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::account::Account;

pub use testkit::account::{CLIENT_ID, CONTEXT_FN, POOL_ID, SESSION_FN, STACK};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn failed(self) -> Self {
        assert_ne!(
            self.code, 0,
            "expected failure\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// The xtask binary with a clean environment: no AWS configuration of the
/// user's, no colour, no terminal, and `env` (an emulator's).
pub fn xtask(home: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs `c` to the end.
pub fn run_cmd(mut c: Command) -> Run {
    let t = Instant::now();
    let out = c.output().expect("xtask runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: t.elapsed(),
    }
}

/// A moto server, an account in it and a scratch directory, for CLI runs.
pub struct Harness {
    pub moto: MotoServer,
    pub account: Account,
    pub dir: PathBuf,
}

impl Harness {
    pub fn start(name: &str) -> Self {
        let moto = MotoServer::start(Default::default()).expect("moto starts");
        let dir = std::env::temp_dir().join(format!(
            "xtask-{name}-{}-{}",
            std::process::id(),
            moto.port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let account = Account::new(&moto.endpoint_url());
        Harness { moto, account, dir }
    }

    /// A command for the xtask binary with only the emulator's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        xtask(&self.dir, &self.moto.client_env(), args)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.command(args))
    }

    /// Both function zips in `<dir>/<name>`.
    pub fn zips(&self, name: &str, session: &str, context: &str) -> PathBuf {
        testkit::account::zips(&self.dir.join(name), session, context)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_hex(path: &std::path::Path) -> String {
    lambda_package::sha256_hex(&std::fs::read(path).unwrap())
}

/// The local module in process (the real functions, moto, the gateway and
/// its JWT authorizer) serving its HTTP API on a free loopback port: what
/// `cargo xtask dev` runs, for tests that drive it as a client would.
pub struct LocalApi {
    pub rt: tokio::runtime::Runtime,
    pub running: local::Running,
    pub addr: std::net::SocketAddr,
    pub dir: PathBuf,
}

impl LocalApi {
    /// Starts it in a scratch directory `name`; `adjust` changes the
    /// options (fresh data, debug functions, 2 processes per function,
    /// logs kept in memory) before the start.
    pub fn start(name: &str, adjust: impl FnOnce(&mut local::StartOptions)) -> LocalApi {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = testkit::scratch_dir(name);
        let (log, _lines) = local::Log::memory();
        let mut opts = local::StartOptions {
            stage: None,
            functions: local::Functions::Build { release: false },
            fresh: true,
            function_timeout_ms: None,
            data_dir: dir.clone(),
            access_log: false,
            forward_logs: false,
            log,
            concurrency: 2,
            aws_proxy: false,
            unlocked_emulator: false,
            cors_origins: vec![],
            route_scopes: vec![],
        };
        adjust(&mut opts);
        let running = rt.block_on(local::start(&opts)).expect("dev starts");
        let (addr, _server) = rt.block_on(running.serve_api()).expect("a loopback port");
        LocalApi {
            rt,
            running,
            addr,
            dir,
        }
    }

    /// Stops the functions and moto, and removes the scratch directory.
    pub fn stop(self) {
        self.rt.block_on(self.running.stop());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

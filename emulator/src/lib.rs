//! AWS emulators run as child processes on free loopback ports.
//!
//! - [`MotoServer`]: the `moto` emulator, used by the test suites (functions,
//!   xtask) and by `cargo xtask dev`. Installed into the project-local venv
//!   `.venv/` from the pinned `requirements.txt` on first use.
//! - [`ministack::MiniStack`]: MiniStack, which runs CloudFormation, the
//!   functions and API Gateway for the deploy-then-call test. Its pins
//!   conflict with checkov's, so it has its own venv, `.venv-ministack/`
//!   ([`Venv::ministack`]).
//!
//! A file lock keeps concurrent test binaries from installing a venv twice at
//! the same time. Every server runs in its own process group under a
//! watchdog that ends it when its stdin closes, i.e. when the process that
//! started it exits for any reason.

pub mod ministack;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Errors a user can hit while starting the emulator; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("Python 3 was not found (tried `python3`). Install Python 3.9 or newer (e.g. `apt install python3 python3-venv`) and run again.")]
    PythonMissing,
    #[error("{venv} needs Python {needed} or newer, but it was made with Python {found}. Install a newer `python3` (e.g. from your package manager or python.org), delete {venv} and run again.")]
    PythonTooOld {
        venv: PathBuf,
        needed: String,
        found: String,
    },
    #[error("creating the venv at {path} failed: {detail}. Check that the `venv` module is installed (`apt install python3-venv`).")]
    VenvFailed { path: PathBuf, detail: String },
    #[error("installing the pinned Python tools from {requirements} failed (pip said: {detail}). Check your network access to PyPI and run again.")]
    PipFailed {
        requirements: PathBuf,
        detail: String,
    },
    #[error("the {server} server did not start within {after:?}: {detail}")]
    StartTimeout {
        server: &'static str,
        after: Duration,
        detail: String,
    },
    #[error("I/O error while {doing}: {source}")]
    Io {
        doing: String,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io(doing: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let doing = doing.into();
    move |source| EmulatorError::Io { doing, source }
}

/// The workspace root: the directory holding `requirements.txt`.
pub fn workspace_root() -> PathBuf {
    // CARGO_MANIFEST_DIR of this crate is <root>/emulator.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("emulator crate lives inside the workspace")
        .to_path_buf()
}

/// The project-local venv and the pinned requirements it is built from.
#[derive(Debug, Clone)]
pub struct Venv {
    pub dir: PathBuf,
    pub requirements: PathBuf,
    /// Pins of every transitive package (`pip install -c`), when present.
    pub constraints: PathBuf,
    /// The oldest Python (major, minor) the pinned tools support.
    pub min_python: (u32, u32),
    /// The interpreter that creates the venv (`python3` on the PATH).
    pub python3: PathBuf,
}

impl Default for Venv {
    fn default() -> Self {
        let root = workspace_root();
        Venv {
            dir: root.join(".venv"),
            requirements: root.join("requirements.txt"),
            constraints: root.join("requirements.lock"),
            min_python: (3, 9),
            python3: PathBuf::from("python3"),
        }
    }
}

impl Venv {
    /// MiniStack's own venv, `.venv-ministack/`, from `requirements-ministack.txt`
    /// and `.lock`: MiniStack pins botocore exactly, to a version checkov's
    /// pinned boto3 excludes, so the two cannot share `.venv/`.
    pub fn ministack() -> Self {
        let root = workspace_root();
        Venv {
            dir: root.join(".venv-ministack"),
            requirements: root.join("requirements-ministack.txt"),
            constraints: root.join("requirements-ministack.lock"),
            min_python: (3, 10),
            python3: PathBuf::from("python3"),
        }
    }

    pub fn bin(&self, tool: &str) -> PathBuf {
        self.dir.join("bin").join(tool)
    }

    /// What the venv must have been installed from: the requirements and,
    /// when present, the lock of their transitive pins.
    fn wanted(&self) -> Result<Vec<u8>, EmulatorError> {
        let mut wanted =
            std::fs::read(&self.requirements).map_err(io("reading requirements.txt"))?;
        if let Ok(lock) = std::fs::read(&self.constraints) {
            wanted.extend(lock);
        }
        Ok(wanted)
    }

    /// True when the venv holds a complete install of the current requirements.
    pub fn is_current(&self) -> bool {
        let stamp = self.dir.join(".requirements.stamp");
        match (std::fs::read(&stamp), self.wanted()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// Creates the venv and installs the pinned requirements unless they are
    /// already installed. `progress` receives one line per step (pip's own
    /// output is shown through it too, so a slow first install is visible).
    pub fn ensure(&self, progress: &mut dyn FnMut(&str)) -> Result<(), EmulatorError> {
        if self.is_current() {
            return Ok(());
        }
        std::fs::create_dir_all(self.dir.parent().unwrap_or(Path::new(".")))
            .map_err(io("creating the venv parent directory"))?;
        let lock_path = self.dir.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(format!("opening {}", lock_path.display())))?;
        lock.lock().map_err(io("locking the venv"))?;
        let result = self.install_locked(progress);
        let _ = lock.unlock();
        result
    }

    fn install_locked(&self, progress: &mut dyn FnMut(&str)) -> Result<(), EmulatorError> {
        if self.is_current() {
            return Ok(()); // another process installed it while we waited
        }
        if !self.bin("python").exists() {
            progress(&format!("creating Python venv at {}", self.dir.display()));
            let out = Command::new(&self.python3)
                .args(["-m", "venv"])
                .arg(&self.dir)
                .output()
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => EmulatorError::PythonMissing,
                    _ => EmulatorError::Io {
                        doing: "running python3".into(),
                        source: e,
                    },
                })?;
            if !out.status.success() {
                return Err(EmulatorError::VenvFailed {
                    path: self.dir.clone(),
                    detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
        }
        self.check_python_version()?;
        progress(&format!(
            "installing pinned tools from {} (first use only; takes a minute or two)",
            self.requirements.display()
        ));
        let mut pip = Command::new(self.bin("pip"));
        pip.args([
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-r",
        ])
        .arg(&self.requirements);
        if self.constraints.exists() {
            pip.arg("-c").arg(&self.constraints);
        }
        let mut child = pip
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io("running pip"))?;
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Collecting")
                || line.starts_with("Installing")
                || line.starts_with("Successfully")
            {
                progress(&format!("  pip: {line}"));
            }
        }
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = child.wait().map_err(io("waiting for pip"))?;
        if !status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            return Err(EmulatorError::PipFailed {
                requirements: self.requirements.clone(),
                detail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
            });
        }
        std::fs::write(self.dir.join(".requirements.stamp"), self.wanted()?)
            .map_err(io("writing the venv stamp"))?;
        Ok(())
    }

    /// An old Python would make pip fail with a resolver message that does
    /// not say what to install; say it here instead.
    fn check_python_version(&self) -> Result<(), EmulatorError> {
        let out = Command::new(self.bin("python"))
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
            .map_err(io("running the venv's python"))?;
        let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let version = found
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
        match version {
            Some(v) if v >= self.min_python => Ok(()),
            _ => Err(EmulatorError::PythonTooOld {
                venv: self.dir.clone(),
                needed: format!("{}.{}", self.min_python.0, self.min_python.1),
                found,
            }),
        }
    }
}

/// True while a process with this pid exists and is not a zombie (Linux `/proc`).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start());
        !state.is_some_and(|s| s.starts_with('Z') || s.starts_with('X'))
    })
}

/// Pids of the processes whose parent is `pid` (Linux `/proc`).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(1))
                    .and_then(|s| s.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// Picks a free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16, EmulatorError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io("finding a free port"))?;
    Ok(l.local_addr().map_err(io("reading the port"))?.port())
}

/// Options for [`MotoServer::start`].
#[derive(Debug, Clone, Default)]
pub struct MotoOptions {
    /// Port to listen on; a free one when `None`.
    pub port: Option<u16>,
    /// Where moto's log goes; discarded when `None`.
    pub log_file: Option<PathBuf>,
    /// The venv to run moto from; the project's `.venv/` when `None`.
    pub venv: Option<Venv>,
}

/// The Python launcher: moto's server under a watchdog (exits when stdin
/// closes, i.e. when the parent exits for any reason), ignoring the terminal's
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

/// Credentials the emulator accepts; any non-empty values work.
pub const TEST_ACCESS_KEY_ID: &str = "testing";
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
pub const TEST_REGION: &str = "us-east-1";

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
        self.server.port
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

/// A Python server process shared by the emulators: started in its own
/// process group with stdin piped (its watchdog exits when stdin closes),
/// reporting the port it bound as `PORT <n>` on the first line of stdout.
/// Its owner decides how to stop it (in order, or the whole group); dropping
/// it kills it, so a failed start leaves nothing behind.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    port: u16,
    /// For messages: "moto", "MiniStack".
    name: &'static str,
}

impl ServerProcess {
    /// Spawns `cmd` and waits (up to a minute) for the port it reports.
    /// `requested` is the port asked for (0: any), for error messages.
    pub(crate) fn spawn(
        name: &'static str,
        mut cmd: Command,
        log_file: Option<&Path>,
        requested: u16,
    ) -> Result<Self, EmulatorError> {
        let log = match log_file {
            Some(p) => {
                Stdio::from(File::create(p).map_err(io(format!("creating {}", p.display())))?)
            }
            None => Stdio::null(),
        };
        // The watchdog ends the server as soon as its stdin closes, i.e. when
        // this process exits for any reason (even a panic or SIGKILL), so no
        // emulator is ever left behind. Its own process group means a Ctrl-C
        // in the terminal reaches only the parent, which then stops it in
        // order, and lets everything the server started be stopped with it.
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EmulatorError::PythonMissing,
            _ => EmulatorError::Io {
                doing: format!("starting the {name} server"),
                source: e,
            },
        })?;
        let mut server = ServerProcess {
            child,
            port: requested,
            name,
        };
        server.port = server.read_port(Duration::from_secs(60))?;
        Ok(server)
    }

    fn start_error(&self, after: Duration, detail: impl Into<String>) -> EmulatorError {
        EmulatorError::StartTimeout {
            server: self.name,
            after,
            detail: detail.into(),
        }
    }

    /// The port the server reports once it is bound (`PORT <n>` on its stdout).
    fn read_port(&mut self, timeout: Duration) -> Result<u16, EmulatorError> {
        let stdout = self.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(line)) => {
                    return line
                        .strip_prefix("PORT ")
                        .and_then(|p| p.trim().parse().ok())
                        .ok_or_else(|| {
                            self.start_error(
                                start.elapsed(),
                                format!("unexpected first line from {}: {line:?}", self.name),
                            )
                        })
                }
                Ok(None) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map_err(io("waiting for the server"))?;
                    let port = match self.port {
                        0 => String::new(),
                        p => format!("is port {p} free? "),
                    };
                    return Err(self.start_error(
                        start.elapsed(),
                        format!(
                            "{} exited with {status} before listening ({port}see its log)",
                            self.name
                        ),
                    ));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if start.elapsed() > timeout => {
                    self.stop();
                    return Err(
                        self.start_error(timeout, format!("{} did not report its port", self.name))
                    );
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Waits until the port accepts connections (for a server that binds
    /// only when it is ready to serve).
    pub(crate) fn wait_listening(&mut self, timeout: Duration) -> Result<(), EmulatorError> {
        self.wait_until(timeout, |addr| {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        })
    }

    /// Polls `ready` (with the server's address) until it is true, failing
    /// early when the server exits.
    pub(crate) fn wait_until(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut(SocketAddr) -> bool,
    ) -> Result<(), EmulatorError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.start_error(
                    start.elapsed(),
                    format!("{} exited with {status} (see its log)", self.name),
                ));
            }
            if ready(addr) {
                return Ok(());
            }
            if start.elapsed() > timeout {
                self.stop();
                return Err(self.start_error(timeout, "it did not become ready on its port"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Closes the server's stdin (its watchdog then stops it in order) and
    /// waits up to `timeout` for it to exit, then kills it. True when it
    /// exited by itself.
    pub(crate) fn shutdown(&mut self, timeout: Duration) -> bool {
        let exited = self.close_stdin_and_wait(timeout);
        if !exited {
            self.stop();
        }
        exited
    }

    /// Closes the server's stdin and waits up to `timeout` for it to exit.
    /// True when it did.
    pub(crate) fn close_stdin_and_wait(&mut self, timeout: Duration) -> bool {
        drop(self.child.stdin.take());
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return true,
                Ok(None) if start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return false,
            }
        }
    }

    /// Kills the server now and reaps it.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills every process in the server's process group (what it started
    /// too), then the server itself. Safe only before the server is reaped:
    /// until then its pid, which is the group's id, cannot be reused.
    pub(crate) fn stop_group(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // std has no killpg and this workspace forbids unsafe code: the
            // kill(1) utility does it.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.stop();
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn client_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint_url()),
            ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY.into()),
            ("AWS_REGION", TEST_REGION.into()),
        ]
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

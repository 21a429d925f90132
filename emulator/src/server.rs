//! A Python server process shared by the emulators, and the credentials and
//! region a client of one uses.

use crate::error::{io, EmulatorError};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Credentials the emulator accepts; any non-empty values work.
pub const TEST_ACCESS_KEY_ID: &str = "testing";
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
pub const TEST_REGION: &str = "us-east-1";

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

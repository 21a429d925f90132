//! A local implementation of the Lambda Runtime API (2018-06-01) for one
//! function: it runs the function's binary, hands each process one
//! invocation at a time (`GET …/invocation/next`), and takes its answer
//! (`…/response`, `…/error`) or its init failure (`…/init/error`).
//!
//! - Like Lambda, it scales out: when an invocation arrives and no process is
//!   waiting for work, another process (execution environment) is started,
//!   up to a limit; processes are kept warm until dev stops.
//! - Each process gets its own listener (`AWS_LAMBDA_RUNTIME_API`); when the
//!   process exits, its listener and connections are dropped, so a dead
//!   process can never take the next invocation.
//! - A process that exits during an invocation is restarted and that
//!   invocation fails (the gateway answers 502). One that exits before ever
//!   asking for work failed its init: the queued invocations fail, and it is
//!   restarted with a backoff.
//! - An invocation past the function's timeout fails (504) and the process is
//!   killed and restarted, as Lambda discards a timed-out sandbox.
//!
//! Long: the queue, the processes and their restarts are one state machine.
use crate::error::bail;
use crate::ids;
use crate::log::{say, Log};
use crate::model::FunctionSpec;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

const PREFIX: &str = "/2018-06-01/runtime";
/// Lambda's limit on a synchronous response.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// How an invocation ended.
#[derive(Debug)]
pub enum Outcome {
    /// The function's response payload.
    Response(Bytes),
    /// The function reported an error (`…/error`; logged by the runtime).
    FunctionError,
    /// The process exited during the invocation, or could not take it.
    Crashed(String),
    /// The function did not answer within its timeout.
    TimedOut,
}

struct Invocation {
    id: String,
    event: Bytes,
    deadline: Instant,
    deadline_ms: u64,
    reply: oneshot::Sender<Outcome>,
}

struct Inflight {
    id: String,
    reply: oneshot::Sender<Outcome>,
}

/// Counts a process waiting in `next` while it waits.
struct IdleGuard<'a>(&'a AtomicUsize);

impl<'a> IdleGuard<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        IdleGuard(n)
    }
}

impl Drop for IdleGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The state `dev` waits on before printing `ready:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Starting,
    /// The process asked for its first invocation: init is done.
    Ready,
    Failed(String),
}

/// How to start the function's process.
#[derive(Debug, Clone)]
pub struct Command {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

pub struct Runtime {
    pub spec: FunctionSpec,
    pub arn: String,
    pub timeout: Duration,
    command: Command,
    forward_logs: bool,
    log: Log,
    max_instances: usize,
    shutdown: watch::Receiver<bool>,
    queue_tx: mpsc::UnboundedSender<Invocation>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    /// Invocations queued and not yet taken.
    pending: AtomicUsize,
    /// Processes waiting in `next`.
    idle: AtomicUsize,
    /// Instances (supervised process slots) started.
    instances: AtomicUsize,
    supervisors: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// By process generation (unique per process started).
    inflight: Mutex<HashMap<u64, Inflight>>,
    kills: Mutex<HashMap<u64, Arc<Notify>>>,
    generation: AtomicU64,
    /// Start times of the processes that have not asked for work yet.
    spawned_at: Mutex<HashMap<u64, Instant>>,
    state: watch::Sender<State>,
    /// Invocations handed to the function.
    pub invocations: AtomicU64,
    /// Processes started again after one exited or was stopped.
    pub restarts: AtomicU64,
    /// The running process of each instance slot.
    pids: Mutex<BTreeMap<usize, u32>>,
    /// Process start to its first `next`, for every process started.
    pub init_times: Mutex<Vec<Duration>>,
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}

impl Runtime {
    /// A function with at most `max_instances` processes; none runs until
    /// [`Runtime::start`]; all stop when `shutdown` turns true.
    #[allow(clippy::too_many_arguments)] // each is one setting of the function's sandbox
    pub fn new(
        spec: FunctionSpec,
        arn: String,
        timeout: Duration,
        command: Command,
        forward_logs: bool,
        log: Log,
        max_instances: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        Arc::new(Runtime {
            spec,
            arn,
            timeout,
            command,
            forward_logs,
            log,
            max_instances: max_instances.max(1),
            shutdown,
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            pending: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            instances: AtomicUsize::new(0),
            supervisors: Mutex::new(vec![]),
            inflight: Mutex::new(HashMap::new()),
            kills: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            spawned_at: Mutex::new(HashMap::new()),
            state: watch::channel(State::Starting).0,
            invocations: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            pids: Mutex::new(BTreeMap::new()),
            init_times: Mutex::new(vec![]),
        })
    }

    /// Starts the first process (the others start on demand).
    pub fn start(self: &Arc<Self>) {
        self.scale_out(true);
    }

    /// Starts another instance when below the limit and (unless `force`)
    /// more invocations wait than processes do.
    fn scale_out(self: &Arc<Self>, force: bool) {
        let mut supervisors = self.supervisors.lock().expect("lock");
        if *self.shutdown.borrow() {
            return;
        }
        let running = self.instances.load(Ordering::SeqCst);
        let starting = self.spawned_at.lock().expect("lock").len();
        let waiting = self.pending.load(Ordering::SeqCst);
        if running >= self.max_instances
            || (!force && waiting <= self.idle.load(Ordering::SeqCst) + starting)
        {
            return;
        }
        let slot = self.instances.fetch_add(1, Ordering::SeqCst);
        supervisors.push(tokio::spawn(self.clone().supervise(slot)));
    }

    /// The pids of the running processes.
    pub fn pids(&self) -> Vec<u32> {
        self.pids.lock().expect("lock").values().copied().collect()
    }

    /// Waits until every process has stopped (after `shutdown` turned true).
    pub async fn stopped(&self) {
        loop {
            let handles: Vec<_> = self.supervisors.lock().expect("lock").drain(..).collect();
            if handles.is_empty() {
                return;
            }
            for h in handles {
                let _ = h.await;
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The program and environment each process of the function starts with.
    pub fn command(&self) -> &Command {
        &self.command
    }

    /// Waits until the first process finished its init (or failed it).
    pub async fn wait_ready(&self, timeout: Duration) -> crate::error::Result<()> {
        let mut rx = self.state.subscribe();
        let res = tokio::time::timeout(timeout, rx.wait_for(|s| *s != State::Starting)).await;
        match res {
            Ok(Ok(s)) => match &*s {
                State::Ready => Ok(()),
                State::Failed(m) => bail!("{} failed to start: {m}", self.spec.name),
                State::Starting => unreachable!("waited for another state"),
            },
            Ok(Err(_)) => bail!("{} stopped", self.spec.name),
            Err(_) => bail!("{} did not ask for work within {timeout:?}", self.spec.name),
        }
    }

    /// Invokes the function with `event` and waits for the outcome, at most
    /// `timeout` (the shorter of the function's and the integration's).
    pub async fn invoke(self: &Arc<Self>, event: Bytes, timeout: Duration) -> Outcome {
        let id = ids::uuid();
        let (reply, rx) = oneshot::channel();
        let deadline = Instant::now() + timeout;
        let inv = Invocation {
            id: id.clone(),
            event,
            deadline,
            deadline_ms: ids::now_millis() + timeout.as_millis() as u64,
            reply,
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.queue_tx.send(inv).is_err() {
            return Outcome::Crashed("the runtime is stopped".into());
        }
        // Every process busy: one more, as Lambda would.
        self.scale_out(false);
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Outcome::Crashed("the invocation was dropped".into()),
            Err(_) => {
                if let Some((generation, _)) = self.take_inflight(&id) {
                    say!(
                        self.log,
                        "[{}] request {id} timed out after {} ms; restarting the function",
                        self.spec.bin,
                        timeout.as_millis()
                    );
                    self.kill(generation);
                }
                Outcome::TimedOut
            }
        }
    }

    fn take_inflight(&self, id: &str) -> Option<(u64, Inflight)> {
        let mut g = self.inflight.lock().expect("inflight lock");
        let generation = g.iter().find(|(_, i)| i.id == id).map(|(g, _)| *g)?;
        g.remove(&generation).map(|i| (generation, i))
    }

    fn kill(&self, generation: u64) {
        if let Some(n) = self.kills.lock().expect("lock").get(&generation) {
            n.notify_one();
        }
    }

    /// Stops every process (each is started again, as after a crash).
    pub fn restart(&self) {
        for n in self.kills.lock().expect("lock").values() {
            n.notify_one();
        }
    }

    async fn next(&self, generation: u64) -> Response<Full<Bytes>> {
        let first = self.spawned_at.lock().expect("lock").remove(&generation);
        if let Some(t) = first {
            // The first `next` of this process: its init is done.
            self.init_times.lock().expect("lock").push(t.elapsed());
            self.state.send_replace(State::Ready);
        }
        let idle = IdleGuard::new(&self.idle);
        loop {
            let inv = {
                let mut rx = self.queue_rx.lock().await;
                rx.recv().await
            };
            let Some(inv) = inv else {
                return std::future::pending().await;
            };
            self.pending.fetch_sub(1, Ordering::SeqCst);
            if inv.reply.is_closed() || Instant::now() >= inv.deadline {
                continue; // its caller gave up already
            }
            drop(idle);
            let mut resp = Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", &inv.id)
                .header("lambda-runtime-deadline-ms", inv.deadline_ms.to_string())
                .header("lambda-runtime-invoked-function-arn", &self.arn)
                .header("lambda-runtime-trace-id", ids::trace_id())
                .body(Full::new(inv.event))
                .expect("valid response");
            resp.headers_mut()
                .insert("cache-control", "no-store".parse().expect("header"));
            self.inflight.lock().expect("inflight lock").insert(
                generation,
                Inflight {
                    id: inv.id,
                    reply: inv.reply,
                },
            );
            self.invocations.fetch_add(1, Ordering::SeqCst);
            return resp;
        }
    }

    fn complete(&self, id: &str, outcome: impl FnOnce() -> Outcome) -> Response<Full<Bytes>> {
        match self.take_inflight(id) {
            Some((_, inf)) => {
                let _ = inf.reply.send(outcome());
                json_response(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}))
            }
            None => json_response(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"errorMessage": format!("no invocation {id} is in progress"), "errorType": "InvalidRequestID"}),
            ),
        }
    }

    async fn route(&self, req: Request<Incoming>, generation: u64) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return json_response(
                StatusCode::NOT_FOUND,
                serde_json::json!({"errorMessage": "not found"}),
            );
        };
        if method == Method::GET && rest == "/invocation/next" {
            return self.next(generation).await;
        }
        if method != Method::POST {
            return json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                serde_json::json!({"errorMessage": "method not allowed"}),
            );
        }
        let error_type = req
            .headers()
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match http_body_util::Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                // Too large (or a broken connection): the invocation fails.
                if let Some(id) = rest
                    .strip_prefix("/invocation/")
                    .and_then(|r| r.strip_suffix("/response"))
                {
                    let _ = self.complete(id, || Outcome::FunctionError);
                }
                return json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    serde_json::json!({"errorMessage": "response too large", "errorType": "RequestEntityTooLarge"}),
                );
            }
        };
        if rest == "/init/error" {
            let msg = format!(
                "init error {}: {}",
                error_type.unwrap_or_default(),
                String::from_utf8_lossy(&body)
            );
            say!(self.log, "[{}] {msg}", self.spec.bin);
            self.state.send_replace(State::Failed(msg));
            return json_response(StatusCode::ACCEPTED, serde_json::json!({"status": "OK"}));
        }
        if let Some(r) = rest.strip_prefix("/invocation/") {
            if let Some(id) = r.strip_suffix("/response") {
                return self.complete(id, || Outcome::Response(body));
            }
            if let Some(id) = r.strip_suffix("/error") {
                say!(
                    self.log,
                    "[{}] request {id} failed: {} {}",
                    self.spec.bin,
                    error_type.unwrap_or_default(),
                    String::from_utf8_lossy(&body)
                );
                return self.complete(id, || Outcome::FunctionError);
            }
        }
        json_response(
            StatusCode::NOT_FOUND,
            serde_json::json!({"errorMessage": "not found"}),
        )
    }

    async fn serve(self: Arc<Self>, listener: TcpListener, generation: u64) {
        let shutdown = self.shutdown.clone();
        crate::http::serve(listener, shutdown, move |req, _| {
            let rt = self.clone();
            async move { rt.route(req, generation).await }
        })
        .await;
    }

    async fn fail_queued(&self, why: &str) {
        let mut rx = self.queue_rx.lock().await;
        while let Ok(inv) = rx.try_recv() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            let _ = inv.reply.send(Outcome::Crashed(why.to_string()));
        }
    }

    fn fail_inflight(&self, generation: u64, why: &str) -> bool {
        let taken = self
            .inflight
            .lock()
            .expect("inflight lock")
            .remove(&generation);
        match taken {
            Some(inf) => {
                let _ = inf.reply.send(Outcome::Crashed(why.to_string()));
                true
            }
            None => false,
        }
    }

    fn spawn_process(&self, port: u16, generation: u64) -> std::io::Result<tokio::process::Child> {
        let mut cmd = tokio::process::Command::new(&self.command.program);
        cmd.args(&self.command.args)
            .env_clear()
            .envs(
                self.command
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            // Its own process group: a Ctrl-C in the terminal reaches only
            // `dev`, which stops the functions itself.
            .process_group(0);
        if self.forward_logs {
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
        } else {
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        self.spawned_at
            .lock()
            .expect("lock")
            .insert(generation, Instant::now());
        let mut child = cmd.spawn()?;
        let tag = self.spec.bin;
        if let Some(out) = child.stdout.take() {
            let log = self.log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    say!(log, "[{tag}] {l}");
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let log = self.log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    say!(log, "[{tag}] {l}");
                }
            });
        }
        Ok(child)
    }

    /// Runs one instance: a process of the function until `shutdown` turns
    /// true, started again whenever it exits; kills it (and waits for it)
    /// before returning.
    async fn supervise(self: Arc<Self>, slot: usize) {
        let mut shutdown = self.shutdown.clone();
        let mut backoff = Duration::from_millis(200);
        let mut first = true;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let listener = match TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    self.state
                        .send_replace(State::Failed(format!("no port for the runtime API: {e}")));
                    break;
                }
            };
            let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
            let server = tokio::spawn(self.clone().serve(listener, generation));
            if !first {
                self.restarts.fetch_add(1, Ordering::SeqCst);
            }
            first = false;
            let kill = Arc::new(Notify::new());
            self.kills
                .lock()
                .expect("lock")
                .insert(generation, kill.clone());
            let started = Instant::now();
            let mut child = match self.spawn_process(port, generation) {
                Ok(c) => c,
                Err(e) => {
                    server.abort();
                    self.kills.lock().expect("lock").remove(&generation);
                    self.spawned_at.lock().expect("lock").remove(&generation);
                    let msg = format!("cannot run {}: {e}", self.command.program.display());
                    say!(self.log, "[{}] {msg}", self.spec.bin);
                    self.state.send_replace(State::Failed(msg.clone()));
                    self.fail_queued(&msg).await;
                    break;
                }
            };
            self.pids
                .lock()
                .expect("lock")
                .insert(slot, child.id().unwrap_or(0));
            enum Exit {
                Exited(String),
                Killed,
                Shutdown,
            }
            let exit = tokio::select! {
                st = child.wait() => Exit::Exited(match st {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                }),
                _ = kill.notified() => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    Exit::Killed
                }
                _ = crate::http::stopped(&mut shutdown) => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    Exit::Shutdown
                }
            };
            // A function whose Runtime API connection closed because dev is
            // stopping exits by itself (status 1) before it is killed.
            let exit = match exit {
                Exit::Exited(_) if *shutdown.borrow() => Exit::Shutdown,
                other => other,
            };
            self.pids.lock().expect("lock").remove(&slot);
            self.kills.lock().expect("lock").remove(&generation);
            server.abort();
            let _ = server.await;
            let reached_next = self
                .spawned_at
                .lock()
                .expect("lock")
                .remove(&generation)
                .is_none();
            match exit {
                Exit::Shutdown => {
                    self.fail_inflight(generation, "dev is stopping");
                    self.fail_queued("dev is stopping").await;
                    break;
                }
                Exit::Killed => {
                    self.fail_inflight(generation, "the function was stopped");
                    backoff = Duration::from_millis(200);
                }
                Exit::Exited(status) => {
                    if self.fail_inflight(generation, &format!("the function exited ({status})")) {
                        say!(
                            self.log,
                            "[{}] the function exited ({status}) during a request (502); restarting",
                            self.spec.bin
                        );
                    } else if reached_next {
                        say!(
                            self.log,
                            "[{}] the function exited ({status}); restarting",
                            self.spec.bin
                        );
                    }
                    if !reached_next {
                        let msg = format!(
                            "the function exited ({status}) before asking for work (init failed)"
                        );
                        say!(
                            self.log,
                            "[{}] {msg}; restarting in {} ms",
                            self.spec.bin,
                            backoff.as_millis()
                        );
                        if *self.state.borrow() == State::Starting {
                            self.state.send_replace(State::Failed(msg.clone()));
                        }
                        self.fail_queued(&msg).await;
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = crate::http::stopped(&mut shutdown) => break,
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    } else if started.elapsed() > Duration::from_secs(1) {
                        backoff = Duration::from_millis(200);
                    }
                }
            }
        }
        self.pids.lock().expect("lock").remove(&slot);
    }
}

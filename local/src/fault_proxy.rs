//! A loopback HTTP proxy between the functions and the emulator. It holds
//! each request for a set delay (`bench functions` then measures round trips,
//! a fixed cost per AWS call like the network between Lambda and DynamoDB,
//! rather than how fast the emulator answers), and injects the faults a real
//! dependency has: throttling, internal errors, a connection dropped after
//! the store applied the request, and stalls (the load test's faults).
//!
//! Each connection from a function gets its own connection to the emulator,
//! so requests keep their order per connection, as on the real network.

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A fault the proxy can inject in place of a normal exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 with the service's throttling error
    /// (`ProvisionedThroughputExceededException` for DynamoDB,
    /// `ThrottlingException` for KMS); the request never reaches the store.
    Throttling,
    /// 500 with the service's internal error (`InternalServerError`,
    /// `KMSInternalException`); the request never reaches the store.
    InternalError,
    /// The request reaches the store and is applied, then the connection is
    /// closed without an answer: the caller cannot tell whether it happened.
    DroppedResponse,
}

/// How many of each fault were injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    pub throttling: u64,
    pub internal_error: u64,
    pub dropped_response: u64,
    /// Requests held by a stall.
    pub stalled: u64,
}

#[derive(Default)]
struct State {
    delay_us: AtomicU64,
    requests: AtomicU64,
    /// Every `every`-th request gets the next fault of `faults`, in turn.
    schedule: Mutex<(u64, Vec<Fault>)>,
    stall_until: Mutex<Option<Instant>>,
    injected: Mutex<Injected>,
    /// Strip the condition from every DynamoDB PutItem (see
    /// [`FaultProxy::ignore_conditions`]).
    ignore_conditions: std::sync::atomic::AtomicBool,
}

pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`, with no
    /// delay and no faults.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                let state = shared.clone();
                tokio::spawn(serve(client, upstream, state));
            }
        });
        Ok(FaultProxy { addr, state, task })
    }

    /// The delay added to every request from now on.
    pub fn set_delay(&self, d: Duration) {
        self.state
            .delay_us
            .store(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// From now on every `every`-th request (0: none) gets the next of
    /// `faults`, in turn.
    pub fn inject(&self, every: u64, faults: &[Fault]) {
        *self.state.schedule.lock().unwrap() = (every, faults.to_vec());
    }

    /// Holds every request that arrives in the next `d` until `d` is over
    /// (the dependency stops answering, then recovers).
    pub fn stall(&self, d: Duration) {
        *self.state.stall_until.lock().unwrap() = Some(Instant::now() + d);
    }

    /// From now on, removes `ConditionExpression` from every DynamoDB
    /// `PutItem`: a store whose conditional writes are not conditional, a
    /// fault no real table has. Only for showing that the load test's check
    /// catches what that loses.
    pub fn ignore_conditions(&self, on: bool) {
        self.state.ignore_conditions.store(on, Ordering::Relaxed);
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// The faults injected so far.
    pub fn injected(&self) -> Injected {
        *self.state.injected.lock().unwrap()
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(client: TcpStream, upstream: SocketAddr, state: Arc<State>) {
    let upstream_conn: Arc<tokio::sync::Mutex<Option<SendRequest<ProxyBody>>>> = Arc::default();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (state, conn) = (state.clone(), upstream_conn.clone());
        async move { exchange(req, upstream, &state, &conn).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(client), service)
        .await;
}

async fn exchange(
    req: Request<Incoming>,
    upstream: SocketAddr,
    state: &State,
    conn: &tokio::sync::Mutex<Option<SendRequest<ProxyBody>>>,
) -> Result<Response<ProxyBody>, std::io::Error> {
    let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let stall_until = *state.stall_until.lock().unwrap();
    if let Some(until) = stall_until.filter(|u| *u > Instant::now()) {
        state.injected.lock().unwrap().stalled += 1;
        tokio::time::sleep_until(until).await;
    }
    let us = state.delay_us.load(Ordering::Relaxed);
    if us > 0 {
        tokio::time::sleep(Duration::from_micros(us)).await;
    }
    let fault = {
        let (every, faults) = &*state.schedule.lock().unwrap();
        (*every > 0 && n.is_multiple_of(*every) && !faults.is_empty())
            .then(|| faults[((n / every - 1) % faults.len() as u64) as usize])
    };
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let req = if target == "DynamoDB_20120810.PutItem"
        && state.ignore_conditions.load(Ordering::Relaxed)
    {
        let (parts, body) = req.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        let mut json: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        if let Some(m) = json.as_object_mut() {
            m.remove("ConditionExpression");
        }
        let mut parts = parts;
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
        Request::from_parts(
            parts,
            Full::new(Bytes::from(json.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
    } else {
        req.map(BodyExt::boxed)
    };
    let kms = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("TrentService."));
    match fault {
        Some(f @ (Fault::Throttling | Fault::InternalError)) => {
            let mut injected = state.injected.lock().unwrap();
            if f == Fault::Throttling {
                injected.throttling += 1;
            } else {
                injected.internal_error += 1;
            }
            Ok(error_response(f, kms))
        }
        Some(Fault::DroppedResponse) => {
            let response = forward(req, upstream, conn).await?;
            // The store has answered (so it applied the request); the answer
            // is lost with the connection.
            let _ = response.into_body().collect().await;
            state.injected.lock().unwrap().dropped_response += 1;
            Err(std::io::Error::other("response dropped"))
        }
        None => Ok(forward(req, upstream, conn).await?.map(BodyExt::boxed)),
    }
}

async fn forward(
    req: Request<ProxyBody>,
    upstream: SocketAddr,
    conn: &tokio::sync::Mutex<Option<SendRequest<ProxyBody>>>,
) -> std::io::Result<Response<Incoming>> {
    let mut conn = conn.lock().await;
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        let stream = TcpStream::connect(upstream).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        *conn = Some(sender);
    }
    let sender = conn.as_mut().expect("connected above");
    sender.ready().await.map_err(std::io::Error::other)?;
    sender
        .send_request(req)
        .await
        .map_err(std::io::Error::other)
}

/// The error a service answers for `fault`, in its JSON protocol's shape
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
fn error_response(fault: Fault, kms: bool) -> Response<ProxyBody> {
    let (status, code) = match (fault, kms) {
        (Fault::Throttling, false) => (
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        ),
        (Fault::Throttling, true) => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        (_, false) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
        ),
        (_, true) => (StatusCode::INTERNAL_SERVER_ERROR, "KMSInternalException"),
    };
    let body = serde_json::json!({"__type": code, "message": "injected by the fault proxy"});
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(
            Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("a valid response")
}

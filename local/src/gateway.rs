//! The local HTTP API: API Gateway v2 (HTTP API) behaviour for the routes of
//! the stack model. JWT-authorized routes answer 401 themselves; the function
//! gets a payload-2.0 event with the claims in
//! `requestContext.authorizer.jwt.claims`, and its answer is mapped back.
//!
//! Two extra paths, outside the API's routes: `GET /.well-known/jwks.json`
//! (the local pool's keys) and `GET /_dev/stats` (invocations, restarts,
//! 401s and the pids of the run, for tests and curious users).
use crate::ids;
use crate::jwt::Authorizer;
use crate::log::{say, Log};
use crate::runtime_api::{Outcome, Runtime};
use apigw_event::request::claims_for_event;
use apigw_event::{parse_response, Parsed, RequestContext};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// API Gateway's request payload limit.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Lambda's synchronous invocation payload limit.
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

pub struct GwRoute {
    pub method: String,
    pub path: String,
    pub route_key: String,
    pub runtime: Arc<Runtime>,
    pub timeout: Duration,
    pub authorizer: Option<Arc<Authorizer>>,
    /// The route's authorization scopes: the token's `scope` claim must
    /// hold one of them (none: no check).
    pub scopes: Vec<String>,
}

/// Whether `claims` satisfy a route's scopes: with scopes, the `scope`
/// claim (space-separated, as OAuth and Cognito access tokens carry it)
/// holds at least one; id tokens have no `scope` claim
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
pub fn scopes_satisfied(required: &[String], claims: &serde_json::Map<String, Value>) -> bool {
    required.is_empty()
        || claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|s| s.split(' ').any(|have| required.iter().any(|r| r == have)))
}

pub struct Gateway {
    pub routes: Vec<GwRoute>,
    /// The API's CORS configuration, when the stage allows origins.
    pub cors: Option<crate::model::CorsSpec>,
    pub runtimes: Vec<Arc<Runtime>>,
    pub jwks: Value,
    pub moto_pid: u32,
    pub access_log: bool,
    pub log: Log,
    pub unauthorized: AtomicU64,
    pub requests: AtomicU64,
}

fn message(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({ "message": msg }).to_string(),
        )))
        .expect("valid response")
}

/// API Gateway's answer to a CORS preflight once the API has a CORS
/// configuration: 204, with the allowed methods, headers and max age only
/// for an allowed origin asking for an allowed method and headers; an origin
/// not allowed gets no CORS headers and the browser blocks the request
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
fn cors_preflight(
    cors: &crate::model::CorsSpec,
    req: &Request<Incoming>,
    origin: Option<&str>,
) -> Response<Full<Bytes>> {
    let mut resp = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Full::new(Bytes::new()))
        .expect("valid response");
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let method_ok = cors
        .allow_methods
        .iter()
        .any(|m| m.eq_ignore_ascii_case(header("access-control-request-method")));
    let headers_ok = header("access-control-request-headers")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .all(|h| cors.allow_headers.contains(&h));
    let Some(origin) = origin.filter(|o| cors.allow_origins.iter().any(|a| a == o)) else {
        return resp;
    };
    if !(method_ok && headers_ok) {
        return resp;
    }
    let h = resp.headers_mut();
    for (name, value) in [
        ("access-control-allow-origin", origin.to_string()),
        ("access-control-allow-methods", cors.allow_methods.join(",")),
        ("access-control-allow-headers", cors.allow_headers.join(",")),
        ("access-control-max-age", cors.max_age.to_string()),
        ("vary", "origin".to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

/// The CORS headers API Gateway adds to an answer for an allowed origin.
fn add_cors_headers(cors: &crate::model::CorsSpec, origin: &str, resp: &mut Response<Full<Bytes>>) {
    if !cors.allow_origins.iter().any(|a| a == origin) {
        return;
    }
    let h = resp.headers_mut();
    for (name, value) in [
        ("access-control-allow-origin", origin.to_string()),
        (
            "access-control-expose-headers",
            cors.expose_headers.join(","),
        ),
        ("vary", "origin".to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

/// Decodes `%XX` and `+` in a query string part.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Gateway {
    pub fn stats(&self) -> Value {
        let mut invocations = Map::new();
        let mut restarts = Map::new();
        let mut pids = Map::new();
        for r in &self.runtimes {
            invocations.insert(r.name().into(), r.invocations.load(Ordering::SeqCst).into());
            restarts.insert(r.name().into(), r.restarts.load(Ordering::SeqCst).into());
            pids.insert(r.name().into(), r.pids().into());
        }
        json!({
            "requests": self.requests.load(Ordering::SeqCst),
            "unauthorized": self.unauthorized.load(Ordering::SeqCst),
            "invocations": invocations,
            "restarts": restarts,
            "pids": {"dev": std::process::id(), "moto": self.moto_pid, "functions": pids},
        })
    }

    /// Serves the API on `listener` until `shutdown` turns true.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: watch::Receiver<bool>) {
        crate::http::serve(listener, shutdown, move |req, peer| {
            let gw = self.clone();
            async move { gw.handle(req, peer).await }
        })
        .await;
    }

    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let request_id = ids::uuid();
        let origin = req
            .headers()
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let preflight = req.method() == hyper::Method::OPTIONS
            && req.headers().contains_key("access-control-request-method");
        let mut resp = match (&self.cors, preflight) {
            (Some(cors), true) => cors_preflight(cors, &req, origin.as_deref()),
            _ => self.dispatch(req, peer, &request_id).await,
        };
        if let (Some(cors), Some(origin), false) = (&self.cors, origin.as_deref(), preflight) {
            add_cors_headers(cors, origin, &mut resp);
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("apigw-requestid", v);
        }
        if self.access_log && path != "/_dev/stats" {
            say!(
                self.log,
                "{method} {path} {} {:.1} ms",
                resp.status().as_u16(),
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
        resp
    }

    async fn dispatch(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        request_id: &str,
    ) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        if req.method() == hyper::Method::GET && path == "/.well-known/jwks.json" {
            return Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(self.jwks.to_string())))
                .expect("valid response");
        }
        if req.method() == hyper::Method::GET && path == "/_dev/stats" {
            return Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(self.stats().to_string())))
                .expect("valid response");
        }
        let Some(route) = self
            .routes
            .iter()
            .find(|r| r.method == req.method().as_str() && r.path == path)
        else {
            return message(StatusCode::NOT_FOUND, "Not Found");
        };
        self.requests.fetch_add(1, Ordering::SeqCst);
        let claims = match &route.authorizer {
            None => None,
            Some(auth) => {
                let value = req
                    .headers()
                    .get(auth.header.as_str())
                    .and_then(|v| v.to_str().ok());
                match auth.authorize(value) {
                    Ok(c) if !scopes_satisfied(&route.scopes, &c) => {
                        self.unauthorized.fetch_add(1, Ordering::SeqCst);
                        let mut r = message(StatusCode::FORBIDDEN, "Forbidden");
                        let challenge = format!(
                            "Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"the token carries none of the route's scopes\"",
                            route.scopes.join(" ")
                        );
                        if let Ok(v) = HeaderValue::from_str(&challenge) {
                            r.headers_mut().insert("www-authenticate", v);
                        }
                        return r;
                    }
                    Ok(c) => Some(c),
                    Err(why) => {
                        self.unauthorized.fetch_add(1, Ordering::SeqCst);
                        let mut r = message(StatusCode::UNAUTHORIZED, "Unauthorized");
                        let challenge = format!(
                            "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{}\"",
                            why.0.replace('"', "'")
                        );
                        if let Ok(v) = HeaderValue::from_str(&challenge) {
                            r.headers_mut().insert("www-authenticate", v);
                        }
                        return r;
                    }
                }
            }
        };
        let (parts, body) = req.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
        };
        let event = build_event(route, &parts, &body, claims.as_ref(), peer, request_id);
        let event = Bytes::from(event.to_string());
        if event.len() > MAX_EVENT_BYTES {
            return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        let timeout = route.timeout.min(route.runtime.timeout);
        match route.runtime.invoke(event, timeout).await {
            Outcome::Response(payload) => map_response(&payload),
            Outcome::FunctionError => message(StatusCode::BAD_GATEWAY, "Internal Server Error"),
            Outcome::Crashed(why) => {
                say!(self.log, "{} {request_id}: 502 ({why})", route.route_key);
                message(StatusCode::BAD_GATEWAY, "Internal Server Error")
            }
            Outcome::TimedOut => message(StatusCode::GATEWAY_TIMEOUT, "Service Unavailable"),
        }
    }
}

/// The payload-2.0 event API Gateway sends for this request.
fn build_event(
    route: &GwRoute,
    parts: &hyper::http::request::Parts,
    body: &[u8],
    claims: Option<&Map<String, Value>>,
    peer: SocketAddr,
    request_id: &str,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = vec![];
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == hyper::header::COOKIE {
            cookies.extend(
                v.split(';')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        join_into(&mut headers, name.as_str().to_string(), v);
    }
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let mut query = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        join_into(&mut query, percent_decode(k), percent_decode(v));
    }
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_string();
    apigw_event::Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        route_key: route.route_key.clone(),
        raw_query,
        headers,
        cookies,
        query,
        body: body.to_vec(),
        claims: claims.map(claims_for_event),
        context: RequestContext {
            account_id: crate::model::ACCOUNT_ID.into(),
            api_id: "local".into(),
            domain_name: host,
            protocol: format!("{:?}", parts.version),
            source_ip: peer.ip().to_string(),
            request_id: request_id.to_string(),
            time_epoch_ms: apigw_event::time::now_ms(),
        },
    }
    .to_event()
}

/// Adds `value` under `key`, after a comma when the key is there already.
fn join_into(map: &mut Map<String, Value>, key: String, value: String) {
    match map.get_mut(&key) {
        Some(Value::String(existing)) => {
            existing.push(',');
            existing.push_str(&value);
        }
        _ => {
            map.insert(key, Value::String(value));
        }
    }
}

/// Maps a payload-2.0 function response to HTTP, as API Gateway does.
pub fn map_response(payload: &[u8]) -> Response<Full<Bytes>> {
    let bad = || message(StatusCode::BAD_GATEWAY, "Internal Server Error");
    let r = match parse_response(payload) {
        Parsed::Structured(r) => r,
        Parsed::Json => {
            return Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::copy_from_slice(payload)))
                .expect("valid response")
        }
        Parsed::Invalid => return bad(),
    };
    let Ok(status) = StatusCode::from_u16(r.status) else {
        return bad();
    };
    let mut resp = Response::builder().status(status);
    for (k, v) in &r.headers {
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            (Ok(n), Ok(v)) => resp = resp.header(n, v),
            _ => return bad(),
        }
    }
    for c in &r.cookies {
        match HeaderValue::from_str(c) {
            Ok(v) => resp = resp.header(hyper::header::SET_COOKIE, v),
            Err(_) => return bad(),
        }
    }
    resp.body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| bad())
}

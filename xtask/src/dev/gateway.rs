//! The local HTTP API: API Gateway v2 (HTTP API) behaviour for the routes of
//! the stack model. JWT-authorized routes answer 401 themselves; the function
//! gets a payload-2.0 event with the claims in
//! `requestContext.authorizer.jwt.claims`, and its answer is mapped back.
//!
//! Two extra paths, outside the API's routes: `GET /.well-known/jwks.json`
//! (the local pool's keys) and `GET /_dev/stats` (invocations, restarts,
//! 401s and the pids of the run, for tests and curious users).
use super::jwt::{claims_for_event, Authorizer};
use super::runtime_api::{Outcome, Runtime};
use super::util;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
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
}

pub struct Gateway {
    pub routes: Vec<GwRoute>,
    pub runtimes: Vec<Arc<Runtime>>,
    pub jwks: Value,
    pub moto_pid: u32,
    pub access_log: bool,
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

fn percent_decode(s: &str) -> String {
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

    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let gw = self.clone();
                    conns.spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let gw = gw.clone();
                            async move { Ok::<_, std::convert::Infallible>(gw.handle(req, peer).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                    while conns.try_join_next().is_some() {}
                }
                _ = super::stopped(&mut shutdown) => break,
            }
        }
        conns.shutdown().await;
    }

    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let request_id = util::uuid();
        let mut resp = self.dispatch(req, peer, &request_id).await;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("apigw-requestid", v);
        }
        if self.access_log && path != "/_dev/stats" {
            eprintln!(
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
                eprintln!("{} {request_id}: 502 ({why})", route.route_key);
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
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(v));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let mut query = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let now = util::now_millis();
    let user_agent = headers
        .get("user-agent")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_string();
    let mut ctx = json!({
        "accountId": super::model::ACCOUNT_ID,
        "apiId": "local",
        "domainName": host,
        "domainPrefix": host.split('.').next().unwrap_or("local"),
        "http": {
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "protocol": format!("{:?}", parts.version),
            "sourceIp": peer.ip().to_string(),
            "userAgent": user_agent,
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": util::apigw_time(now),
        "timeEpoch": now,
    });
    if let Some(c) = claims {
        let scopes = c
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| Value::from(s.split_whitespace().collect::<Vec<_>>()))
            .unwrap_or(Value::Null);
        ctx["authorizer"] = json!({"jwt": {"claims": claims_for_event(c), "scopes": scopes}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": ctx,
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::from(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(s) => event["body"] = Value::from(s),
            Err(_) => {
                event["body"] = Value::from(STANDARD.encode(body));
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
    }
    event
}

/// Maps a payload-2.0 function response to HTTP, as API Gateway does: a JSON
/// object with `statusCode` is a structured response; any other valid JSON
/// is a 200 with that JSON as the body; anything else is a 502.
pub fn map_response(payload: &[u8]) -> Response<Full<Bytes>> {
    let bad = || message(StatusCode::BAD_GATEWAY, "Internal Server Error");
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        return bad();
    };
    let Some(obj) = v.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(payload)))
            .expect("valid response");
    };
    let status = match &obj["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let Some(status) = status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
    else {
        return bad();
    };
    let mut resp = Response::builder().status(status);
    if let Some(Value::Object(h)) = obj.get("headers") {
        for (k, v) in h {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                (Ok(n), Ok(v)) => resp = resp.header(n, v),
                _ => return bad(),
            }
        }
    }
    if let Some(Value::Array(cookies)) = obj.get("cookies") {
        for c in cookies.iter().filter_map(Value::as_str) {
            match HeaderValue::from_str(c) {
                Ok(v) => resp = resp.header(hyper::header::SET_COOKIE, v),
                Err(_) => return bad(),
            }
        }
    }
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if obj.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            match STANDARD.decode(s) {
                Ok(b) => Bytes::from(b),
                Err(_) => return bad(),
            }
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    resp.body(Full::new(body)).unwrap_or_else(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response<Full<Bytes>>) -> (u16, String, hyper::HeaderMap) {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let b = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(b.to_vec()).unwrap(), headers)
    }

    #[tokio::test]
    async fn responses_map_like_api_gateway() {
        let (s, b, h) = body(map_response(
            br#"{"statusCode":201,"headers":{"content-type":"application/json","x-a":"1"},"body":"{\"ok\":true}","cookies":["a=b"]}"#,
        ))
        .await;
        assert_eq!((s, b.as_str()), (201, r#"{"ok":true}"#));
        assert_eq!(h["x-a"], "1");
        assert_eq!(h["set-cookie"], "a=b");
        let (s, b, _) = body(map_response(
            br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
        ))
        .await;
        assert_eq!((s, b.as_str()), (200, "hi"));
        let (s, b, h) = body(map_response(br#"{"hello":"world"}"#)).await;
        assert_eq!((s, b.as_str()), (200, r#"{"hello":"world"}"#));
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(body(map_response(b"not json")).await.0, 502);
        assert_eq!(body(map_response(br#"{"statusCode":"abc"}"#)).await.0, 502);
    }

    #[test]
    fn query_strings_decode() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_decode("%E2%9C%93"), "✓");
    }
}

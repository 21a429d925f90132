//! A stand-in Lambda function for the local runtime API's tests (a binary of
//! this crate that only tests run). It speaks the Runtime API with plain
//! blocking HTTP, like any custom runtime, and does what the request body asks:
//!
//! - `{"fixture":"panic"}`: panics mid-request (the process dies);
//! - `{"fixture":"sleep","ms":N}`: answers after N ms;
//! - `{"fixture":"error"}`: reports a function error (`…/error`);
//! - anything else: 200 with what it received (claims, route, body, headers
//!   of the invocation, its environment's table and key names).
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn call(
    api: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<(u16, HashMap<String, String>, Vec<u8>)> {
    let mut s = TcpStream::connect(api)
        .map_err(|e| format!("connecting to the runtime API at {api}: {e}"))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut buf = vec![];
    s.read_to_end(&mut buf)?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, headers, buf[split + 4..].to_vec()))
}

fn main() -> Result<()> {
    let api =
        std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set")?;
    let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    loop {
        let (status, headers, body) =
            call(&api, "GET", "/2018-06-01/runtime/invocation/next", b"")?;
        if status != 200 {
            return Err(format!("next returned {status}").into());
        }
        let id = headers
            .get("lambda-runtime-aws-request-id")
            .ok_or("no request id header")?
            .clone();
        let event: Value = serde_json::from_slice(&body)?;
        let req: Value = event["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        match req["fixture"].as_str() {
            Some("panic") => panic!("fixture function: panicking mid-request as asked"),
            Some("sleep") => std::thread::sleep(std::time::Duration::from_millis(
                req["ms"].as_u64().unwrap_or(0),
            )),
            Some("error") => {
                let err = json!({"errorMessage": "failing as asked", "errorType": "FixtureError"});
                call(
                    &api,
                    "POST",
                    &format!("/2018-06-01/runtime/invocation/{id}/error"),
                    err.to_string().as_bytes(),
                )?;
                continue;
            }
            _ => {}
        }
        let env = |k: &str| std::env::var(k).unwrap_or_default();
        let answer = json!({
            "function": name,
            "routeKey": event["routeKey"],
            "claims": event["requestContext"]["authorizer"]["jwt"]["claims"],
            "body": req,
            "invocation": {
                "requestId": id,
                "deadlineMs": headers.get("lambda-runtime-deadline-ms"),
                "functionArn": headers.get("lambda-runtime-invoked-function-arn"),
                "traceId": headers.get("lambda-runtime-trace-id"),
            },
            "env": {
                "SESSIONS_TABLE": env("SESSIONS_TABLE"),
                "USER_PROFILES_TABLE": env("USER_PROFILES_TABLE"),
                "KMS_KEY_ID": env("KMS_KEY_ID"),
                "AWS_ENDPOINT_URL": env("AWS_ENDPOINT_URL"),
            },
        });
        let resp = json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": answer.to_string(),
        });
        call(
            &api,
            "POST",
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            resp.to_string().as_bytes(),
        )?;
    }
}

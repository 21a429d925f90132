//! The Lambda entry point both binaries share: `lambda_http`'s adapter behind
//! one guard.
//!
//! `lambda_http` decodes a base64 body with `expect`: an event that claims a
//! base64 body but carries something else would panic, and with
//! `panic = "abort"` take the whole container down. API Gateway never sends
//! such an event, but a bad input must still get a clear 400, so the raw
//! event is checked first and answered here without touching any table.

use crate::error::ApiError;
use crate::{App, Function};
use base64::Engine;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{service_fn, Adapter, Error, Request, Service};
use serde_json::{json, Value};
use std::time::Instant;

/// What a binary's `main` does: builds the runtime and the [`App`], logs
/// where the init time went (one `init` line per container), then serves.
pub fn main(function: Function) -> Result<(), Error> {
    let mut init = InitTimes::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    init.tokio_us = init.lap();
    crate::telemetry::init();
    init.tracing_us = init.lap();
    rt.block_on(async move {
        // Built once per container; every request reuses the clients and key cache.
        let app = App::from_env(function, &mut init).await?;
        init.log();
        run(app).await
    })
}

/// The `init` line's phase fields, in the order the phases run (the bench
/// reads them by these names).
pub const INIT_PHASES: [&str; 6] = [
    "tokio_us",
    "tracing_us",
    "settings_us",
    "http_client_us",
    "aws_config_us",
    "clients_us",
];

/// Microseconds each init phase took, from `main` to the runtime loop.
/// Logged as one line so a deployed function's cold starts can be read in
/// CloudWatch Logs (the time before `main` and the first Runtime API request
/// are outside it: `cargo xtask bench functions` reports them).
#[derive(Debug)]
pub struct InitTimes {
    last: Instant,
    started: Instant,
    /// The current-thread tokio runtime.
    pub tokio_us: u64,
    /// The JSON log subscriber.
    pub tracing_us: u64,
    /// [`crate::Settings::from_env`].
    pub settings_us: u64,
    /// The HTTPS client (TLS trust store).
    pub http_client_us: u64,
    /// `aws_config`'s region and credentials chain.
    pub aws_config_us: u64,
    /// The DynamoDB and KMS clients and the [`App`].
    pub clients_us: u64,
}

impl InitTimes {
    pub fn start() -> Self {
        let now = Instant::now();
        InitTimes {
            last: now,
            started: now,
            tokio_us: 0,
            tracing_us: 0,
            settings_us: 0,
            http_client_us: 0,
            aws_config_us: 0,
            clients_us: 0,
        }
    }

    /// Microseconds since the last lap (or the start).
    pub fn lap(&mut self) -> u64 {
        let now = Instant::now();
        let us = now.duration_since(self.last).as_micros() as u64;
        self.last = now;
        us
    }

    pub fn log(&self) {
        tracing::info!(
            tokio_us = self.tokio_us,
            tracing_us = self.tracing_us,
            settings_us = self.settings_us,
            http_client_us = self.http_client_us,
            aws_config_us = self.aws_config_us,
            clients_us = self.clients_us,
            total_us = self.started.elapsed().as_micros() as u64,
            "init"
        );
    }
}

/// Serves `app` on the Lambda Runtime API until the runtime stops.
pub async fn run(app: App) -> Result<(), Error> {
    let handler = service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, Error>(app.handle(req).await) }
    });
    let adapter = Adapter::from(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let mut adapter = adapter.clone();
        async move { handle_event(&mut adapter, event).await }
    }))
    .await
}

/// One invocation: the guard, then `lambda_http`'s conversion and `adapter`.
pub async fn handle_event<S>(adapter: &mut S, event: LambdaEvent<Value>) -> Result<Value, Error>
where
    S: Service<LambdaEvent<LambdaRequest>>,
    S::Response: serde::Serialize,
    S::Error: Into<Error>,
{
    let LambdaEvent { payload, context } = event;
    if let Some(rejection) = undecodable_body(&payload) {
        return Ok(rejection);
    }
    let request: LambdaRequest = serde_json::from_value(payload)?;
    let response = adapter
        .call(LambdaEvent {
            payload: request,
            context,
        })
        .await
        .map_err(Into::into)?;
    Ok(serde_json::to_value(response)?)
}

/// A payload-2.0 response with the API's error body when the event says its
/// body is base64 but it does not decode; `None` for every other event.
pub fn undecodable_body(event: &Value) -> Option<Value> {
    if event.get("isBase64Encoded") != Some(&Value::Bool(true)) {
        return None;
    }
    let body = event.get("body")?.as_str()?;
    if base64::engine::general_purpose::STANDARD
        .decode(body)
        .is_ok()
    {
        return None;
    }
    let request_id = event
        .pointer("/requestContext/requestId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let error = ApiError::bad("invalid_encoding", "body", "is not valid base64");
    tracing::info!(
        request_id,
        outcome = error.code(),
        status = error.status().as_u16(),
        field = "body",
        "request"
    );
    Some(json!({
        "statusCode": error.status().as_u16(),
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": error.to_json(request_id).to_string(),
        "isBase64Encoded": false,
    }))
}

//! The Lambda entry point both binaries share: `lambda_http`'s adapter behind
//! one guard.
//!
//! `lambda_http` decodes a base64 body with `expect`: an event that claims a
//! base64 body but carries something else would panic, and with
//! `panic = "abort"` take the whole container down. API Gateway never sends
//! such an event, but a bad input must still get a clear 400, so the raw
//! event is checked first and answered here without touching any table.

use crate::error::ApiError;
use crate::App;
use base64::Engine;
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{service_fn, Adapter, Error, Request, Service};
use serde_json::{json, Value};

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

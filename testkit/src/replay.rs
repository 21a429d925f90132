//! An SDK HTTP client that answers with recorded API responses (e.g.
//! `deploy/tests/fixtures/verify/*.json`), so checks run through the real
//! SDK deserializers, error codes and pagination without an account.
//!
//! A fixture is `{"responses": [{"operation", "status", "headers"?, "body"}]}`.
//! `operation` is what the request names: the `X-Amz-Target` operation
//! (DynamoDB, KMS), the query `Action` (CloudFormation), or `METHOD /path`
//! (API Gateway, Lambda). Responses of one operation are served in order;
//! a request with none left gets a 599, which fails the test loudly.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Recorded {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Debug, Default)]
struct State {
    queued: HashMap<String, VecDeque<Recorded>>,
    /// (operation, "METHOD uri\nbody") in order.
    requests: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Replay {
    state: Arc<Mutex<State>>,
}

impl Replay {
    /// A fixture at `path` from the workspace root.
    pub fn from_fixture(path: &str) -> Self {
        Self::from_json(&crate::fixture::json(path))
    }

    pub fn from_json(fixture: &Value) -> Self {
        let replay = Replay::default();
        for r in fixture["responses"].as_array().expect("responses") {
            let body = match &r["body"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let headers = r["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            replay.push(
                r["operation"].as_str().expect("operation"),
                r["status"].as_u64().unwrap_or(200) as u16,
                headers,
                body,
            );
        }
        replay
    }

    fn push(&self, operation: &str, status: u16, headers: Vec<(String, String)>, body: String) {
        self.state
            .lock()
            .unwrap()
            .queued
            .entry(operation.to_string())
            .or_default()
            .push_back(Recorded {
                status,
                headers,
                body,
            });
    }

    /// A configuration whose every client talks to this replay (no retries,
    /// so one recorded error is one answer).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "AKIDREPLAY",
                "replay",
                None,
                None,
                "replay",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .http_client(self.clone())
            .load()
            .await
    }

    /// The requests made for `operation`, as "METHOD uri\nbody".
    pub fn requests(&self, operation: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

/// The operation a request names (see the module doc).
fn operation_of(req: &HttpRequest, body: &str) -> String {
    if let Some(target) = req.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_string();
    }
    let path = req.uri().split('?').next().unwrap_or_default();
    let path = path
        .find("://")
        .and_then(|i| path[i + 3..].find('/').map(|j| &path[i + 3 + j..]))
        .unwrap_or(path);
    format!("{} {path}", req.method())
}

impl HttpConnector for Replay {
    fn call(&self, req: HttpRequest) -> HttpConnectorFuture {
        let body = req
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let op = operation_of(&req, &body);
        let mut state = self.state.lock().unwrap();
        state.requests.push((
            op.clone(),
            format!("{} {}\n{body}", req.method(), req.uri()),
        ));
        let recorded = state.queued.get_mut(&op).and_then(VecDeque::pop_front);
        drop(state);
        let recorded = recorded.unwrap_or_else(|| Recorded {
            status: 599,
            headers: vec![],
            body: format!("no recorded response left for {op}"),
        });
        let mut resp = HttpResponse::new(
            recorded.status.try_into().expect("status"),
            SdkBody::from(recorded.body),
        );
        for (k, v) in recorded.headers {
            resp.headers_mut().insert(k, v);
        }
        HttpConnectorFuture::ready(Ok(resp))
    }
}

impl HttpClient for Replay {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

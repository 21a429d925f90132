//! The event for one request, after the JWT authorizer (when the route has
//! one) accepted its token.

use crate::time::request_time;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

/// Where the request came in.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub account_id: String,
    pub api_id: String,
    pub domain_name: String,
    pub protocol: String,
    pub source_ip: String,
    pub request_id: String,
    pub time_epoch_ms: u64,
}

/// One request to a route.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// e.g. `POST /sessions`
    pub route_key: String,
    pub raw_query: String,
    /// Lower-case names; repeated headers joined with `,`.
    pub headers: Map<String, Value>,
    pub cookies: Vec<String>,
    /// Decoded; repeated parameters joined with `,`.
    pub query: Map<String, Value>,
    pub body: Vec<u8>,
    /// The token's claims, every value a string (see [`claims_for_event`]).
    pub claims: Option<Map<String, Value>>,
    pub context: RequestContext,
}

/// Claims as API Gateway hands them to the function: every value a string
/// (arrays as `[a b]`, numbers and booleans as their text).
pub fn claims_for_event(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => format!(
                    "[{}]",
                    a.iter()
                        .map(|i| i
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k.clone(), Value::String(s))
        })
        .collect()
}

impl Request {
    /// The payload-2.0 event.
    pub fn to_event(&self) -> Value {
        let c = &self.context;
        let user_agent = self
            .headers
            .get("user-agent")
            .cloned()
            .unwrap_or(Value::String(String::new()));
        let mut ctx = json!({
            "accountId": c.account_id,
            "apiId": c.api_id,
            "domainName": c.domain_name,
            "domainPrefix": c.domain_name.split('.').next().unwrap_or(""),
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": c.protocol,
                "sourceIp": c.source_ip,
                "userAgent": user_agent,
            },
            "requestId": c.request_id,
            "routeKey": self.route_key,
            "stage": "$default",
            "time": request_time(c.time_epoch_ms),
            "timeEpoch": c.time_epoch_ms,
        });
        if let Some(claims) = &self.claims {
            let scopes = claims
                .get("scope")
                .and_then(Value::as_str)
                .map(|s| Value::from(s.split_whitespace().collect::<Vec<_>>()))
                .unwrap_or(Value::Null);
            ctx["authorizer"] = json!({"jwt": {"claims": claims, "scopes": scopes}});
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": self.raw_query,
            "headers": self.headers,
            "requestContext": ctx,
            "isBase64Encoded": false,
        });
        if !self.cookies.is_empty() {
            event["cookies"] = Value::from(self.cookies.clone());
        }
        if !self.query.is_empty() {
            event["queryStringParameters"] = Value::Object(self.query.clone());
        }
        if !self.body.is_empty() {
            match std::str::from_utf8(&self.body) {
                Ok(s) => event["body"] = Value::from(s),
                Err(_) => {
                    event["body"] = Value::from(STANDARD.encode(&self.body));
                    event["isBase64Encoded"] = Value::Bool(true);
                }
            }
        }
        event
    }
}

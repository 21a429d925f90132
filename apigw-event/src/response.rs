//! What a function's answer means to API Gateway: a JSON object with
//! `statusCode` is a structured response; any other valid JSON is a 200
//! with that JSON as the body; anything else is an error (502).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// A structured response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Structured(Response),
    /// Valid JSON without `statusCode`: API Gateway answers 200 with it.
    Json,
    /// Not JSON, or a `statusCode`, header or base64 body that is not valid.
    Invalid,
}

pub fn parse_response(payload: &[u8]) -> Parsed {
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        return Parsed::Invalid;
    };
    let Some(obj) = v.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Parsed::Json;
    };
    let status = match &obj["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let Some(status) = status
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..1000).contains(s))
    else {
        return Parsed::Invalid;
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let headers = match obj.get("headers") {
        Some(Value::Object(h)) => h.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => vec![],
    };
    let cookies = match obj.get("cookies") {
        Some(Value::Array(c)) => c
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![],
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) if obj.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            match STANDARD.decode(s) {
                Ok(b) => b,
                Err(_) => return Parsed::Invalid,
            }
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    Parsed::Structured(Response {
        status,
        headers,
        cookies,
        body,
    })
}

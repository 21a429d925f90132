//! The caller's identity: the `sub` claim the HTTP API JWT authorizer put in
//! the payload-2.0 request context. Never taken from the body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::ApiError;

/// The authenticated user id (`sub`), or 401.
pub fn user_id(req: &Request) -> Result<String, ApiError> {
    let sub = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|j| j.claims.get("sub"))
            .cloned(),
        _ => None,
    };
    match sub {
        Some(s) if valid_sub(&s) => Ok(s),
        _ => Err(ApiError::Unauthorized),
    }
}

/// Cognito subs are UUIDs; accept any printable id up to 128 bytes without
/// the separator characters the store and cursors use.
fn valid_sub(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_graphic() && c != '|' && c != '#')
}

/// The request id to echo in errors and logs: API Gateway's, else Lambda's.
pub fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = &ctx.request_id {
            return id.clone();
        }
    }
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_else(|| "unknown".to_string())
}

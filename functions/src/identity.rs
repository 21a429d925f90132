//! The caller's identity: the claims the HTTP API JWT authorizer put in the
//! payload-2.0 request context. Never taken from the body.

use lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizerJwtDescription;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::error::ApiError;

/// Who is calling and what the token lets them write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated user id (`sub`).
    pub user_id: String,
    /// The token carries the configured assistant-writer group, so it may
    /// write `assistant`/`system` turns and the summary.
    pub writer: bool,
}

impl Caller {
    /// 403 `forbidden_role` unless the token is an assistant writer.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        if self.writer {
            Ok(())
        } else {
            Err(ApiError::ForbiddenRole)
        }
    }

    /// Whose session the request acts on: the caller's own, or with `owner`
    /// (the body's `userId`) another user's, which only a writer may name
    /// (the assistant backend acting on a student's session), else 403
    /// `forbidden_role`. The second value says whether it acts for another.
    pub fn acting_for<'a>(&'a self, owner: Option<&'a str>) -> Result<(&'a str, bool), ApiError> {
        match owner {
            Some(o) if o != self.user_id => {
                self.require_writer()?;
                Ok((o, true))
            }
            _ => Ok((&self.user_id, false)),
        }
    }
}

/// A user's pseudonym in audit log lines: HMAC-SHA256 of the user id under
/// `key`, its first 8 bytes in hex. The same user gets the same pseudonym in
/// every container of the stack, so an operator can follow one writer or
/// one student without the logs holding raw ids; finding whose pseudonym it
/// is takes the key (the stack id) and the user id.
pub fn audit_id(key: &str, user_id: &str) -> String {
    use aws_lc_rs::hmac;
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        user_id.as_bytes(),
    );
    tag.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn jwt(req: &Request) -> Option<&ApiGatewayRequestAuthorizerJwtDescription> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.authorizer.as_ref().and_then(|a| a.jwt.as_ref())
        }
        _ => None,
    }
}

/// The caller, or 401 without a usable `sub`. `writer_group` is the Cognito
/// group (claim `cognito:groups`) that makes a token an assistant writer.
///
/// Only the group: an OAuth scope is not writer proof. A Cognito app client
/// serving users (code or implicit grant) cannot use client credentials, so
/// a writer scope would have to be allowed on the students' own client, and
/// any student could then ask `/oauth2/authorize` for it
/// (<https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-define-resource-servers.html>).
/// Group membership is set by administrators only.
pub fn caller(req: &Request, writer_group: &str) -> Result<Caller, ApiError> {
    let jwt = jwt(req);
    let user_id = match jwt.and_then(|j| j.claims.get("sub")) {
        Some(s) if valid_sub(s) => s.clone(),
        _ => return Err(ApiError::Unauthorized),
    };
    let writer = jwt.is_some_and(|j| {
        !writer_group.is_empty()
            && j.claims
                .get("cognito:groups")
                .is_some_and(|g| claim_values(g).any(|v| v == writer_group))
    });
    Ok(Caller { user_id, writer })
}

/// The values of a list claim as the HTTP API hands it over: every claim is
/// a string there, an array one rendered as `[a b]`
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html);
/// a JSON array text or a single value is read too. Exact matches only.
fn claim_values(raw: &str) -> impl Iterator<Item = &str> {
    let t = raw.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    inner
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|v| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The authenticated user id (`sub`), or 401.
pub fn user_id(req: &Request) -> Result<String, ApiError> {
    caller(req, "").map(|c| c.user_id)
}

/// Cognito subs are UUIDs; accept any printable id up to 128 bytes without
/// the separator characters the store and cursors use.
pub(crate) fn valid_sub(s: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::{audit_id, claim_values};

    /// A pseudonym is stable for a key and user (operators compare them
    /// across log lines) and differs per key and per user; the expected
    /// value is Python's `hmac.new(b"stack-1", b"user-a", sha256)`.
    #[test]
    fn audit_ids_are_stable_keyed_pseudonyms() {
        let a = audit_id("stack-1", "user-a");
        assert_eq!(a.len(), 16);
        assert_eq!(a, audit_id("stack-1", "user-a"));
        assert_ne!(a, audit_id("stack-2", "user-a"));
        assert_ne!(a, audit_id("stack-1", "user-b"));
        // HMAC-SHA256("stack-1", "user-a"), first 8 bytes (RFC 2104).
        assert_eq!(a, "e4881a595612e45d");
    }

    #[test]
    fn list_claims_in_every_rendering() {
        let v = |s| claim_values(s).collect::<Vec<_>>();
        assert_eq!(
            v("[assistant-writers admins]"),
            ["assistant-writers", "admins"]
        );
        assert_eq!(v(r#"["a","b"]"#), ["a", "b"]);
        assert_eq!(v("solo"), ["solo"]);
        assert!(v("[]").is_empty());
    }
}

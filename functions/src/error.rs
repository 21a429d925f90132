//! The error model: every failure a caller can see, with a stable `code`, an
//! HTTP status and a message that never carries AWS error text.

use lambda_http::http::StatusCode;
use serde_json::json;

/// An error answered to the caller as
/// `{"error":{"code":"…","message":"…","requestId":"…"}}` (plus `field` for
/// validation errors and `retryable` for 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: a request field is missing, of the wrong type or out of range.
    #[error("{field}: {message}")]
    BadRequest {
        code: &'static str,
        field: String,
        message: String,
    },
    /// 401: no `sub` claim from the JWT authorizer.
    #[error("no authenticated identity")]
    Unauthorized,
    /// 404: no such session, or it belongs to someone else (same answer).
    #[error("session not found")]
    NotFound,
    /// 403: the token may not write this role or the summary.
    #[error("this token may not write that: assistant and system turns and summaries need a token in the assistant-writer group (cognito:groups), and a writer acting for another user (userId) writes no user turns in that user's name")]
    ForbiddenRole,
    /// 409: the session changed since the caller read it.
    #[error("{0}")]
    Conflict(String),
    /// 409: a `turnId` already stored with another role or content.
    #[error("turn.turnId is already stored with a different role or content; use a new turnId for a new turn")]
    TurnIdConflict,
    /// 409: the session holds the most turns it may.
    #[error("the session holds {0} turns, the most it may; start a new session or clear this one")]
    SessionFull(u64),
    /// 413: the body or a field is larger than allowed.
    #[error("{field}: {message}")]
    TooLarge { field: String, message: String },
    /// 503: a dependency failed or was throttled; safe to retry.
    #[error("a dependency is unavailable; retry")]
    Unavailable,
    /// 500: stored data failed its integrity check (e.g. a ciphertext moved
    /// to another session or item).
    #[error("stored data failed its integrity check")]
    Integrity,
    /// 500: anything else.
    #[error("internal error")]
    Internal,
}

/// Every 400 code: the OpenAPI document lists these, so a new one must be
/// added here (checked on every debug-build use).
pub const BAD_REQUEST_CODES: &[&str] = &[
    "invalid_json",
    "missing_body",
    "invalid_encoding",
    "missing_field",
    "invalid_field",
    "unknown_field",
    "unknown_action",
];

impl ApiError {
    pub fn bad(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        debug_assert!(
            BAD_REQUEST_CODES.contains(&code),
            "undocumented code {code}"
        );
        ApiError::BadRequest {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 400 `invalid_field` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad("invalid_field", field, message)
    }

    pub fn too_large(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::TooLarge {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::ForbiddenRole => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) | ApiError::TurnIdConflict | ApiError::SessionFull(_) => {
                StatusCode::CONFLICT
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Integrity | ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, documented error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound => "not_found",
            ApiError::ForbiddenRole => "forbidden_role",
            ApiError::Conflict(_) => "version_conflict",
            ApiError::TurnIdConflict => "turn_id_conflict",
            ApiError::SessionFull(_) => "session_full",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Integrity => "integrity_error",
            ApiError::Internal => "internal_error",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::TooLarge { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The field to log: never one that echoes a name the client chose
    /// (`unknown_field`), so request content stays out of the logs.
    pub fn log_field(&self) -> &str {
        match self {
            ApiError::BadRequest { code, .. } if *code == "unknown_field" => "",
            _ => self.field().unwrap_or(""),
        }
    }

    /// The JSON body of the error response.
    pub fn to_json(&self, request_id: &str) -> serde_json::Value {
        let mut e = json!({
            "code": self.code(),
            "message": self.to_string(),
            "requestId": request_id,
        });
        if let Some(f) = self.field() {
            e["field"] = json!(f);
        }
        if matches!(self, ApiError::Unavailable) {
            e["retryable"] = json!(true);
        }
        json!({ "error": e })
    }
}

/// How a call to DynamoDB or KMS failed, after classification. The AWS error
/// code is kept for the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyError {
    /// Throttling, a 5xx, a timeout or a connection failure: retryable.
    Transient {
        operation: &'static str,
        code: String,
    },
    /// Anything else (validation, access denied, missing resource...).
    Permanent {
        operation: &'static str,
        code: String,
    },
}

impl DependencyError {
    pub fn code(&self) -> &str {
        match self {
            DependencyError::Transient { code, .. } | DependencyError::Permanent { code, .. } => {
                code
            }
        }
    }
}

impl From<DependencyError> for ApiError {
    fn from(e: DependencyError) -> Self {
        match &e {
            DependencyError::Transient { operation, code } => {
                tracing::warn!(operation, aws_error = %code, "dependency failed (retryable)");
                ApiError::Unavailable
            }
            DependencyError::Permanent { operation, code } if code == UNTRUSTED_CERTIFICATE => {
                tracing::error!(
                    operation,
                    aws_error = %code,
                    hint = "the endpoint's TLS certificate does not chain to a root the function trusts (Amazon Trust Services' by default); deploy with the stack parameter TlsTrustStore=public for the public roots, or TlsTrustStore=system (TLS_TRUST_STORE=system on the function) if it reaches AWS through a TLS-inspecting proxy or a private CA",
                    "dependency failed"
                );
                // Every call fails while Lambda's Errors metric stays 0 (the
                // function answers): the stack's alarm counts this metric.
                let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
                println!(
                    "{}",
                    untrusted_certificate_metric(&function, crate::time::now_ms())
                );
                ApiError::Internal
            }
            DependencyError::Permanent { operation, code } => {
                tracing::error!(operation, aws_error = %code, "dependency failed");
                ApiError::Internal
            }
        }
    }
}

const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "KMSInternalException",
    "DependencyTimeoutException",
    "LimitExceededException",
    "TransactionConflictException",
];

/// The code of a dispatch failure whose TLS handshake refused the endpoint's
/// certificate: not retryable (the trust store will not change by itself).
pub const UNTRUSTED_CERTIFICATE: &str = "UntrustedCertificate";

/// The namespace of the metrics the functions publish.
pub const METRIC_NAMESPACE: &str = "VoiceLearningAssistant";

/// One untrusted-certificate event as a CloudWatch embedded-metric-format
/// log line: CloudWatch Logs turns it into the metric `UntrustedCertificate`
/// (dimension `FunctionName`) with no API call and no extra permission
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
pub fn untrusted_certificate_metric(function: &str, timestamp_ms: u64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": UNTRUSTED_CERTIFICATE, "Unit": "Count"}],
            }],
        },
        "FunctionName": function,
        UNTRUSTED_CERTIFICATE: 1,
    })
    .to_string()
}

/// Whether rustls refused the peer's certificate somewhere in `err`'s chain
/// (rustls words it "invalid peer certificate: …"; the chain's types are the
/// HTTP client's private ones, so the text is what there is to match).
fn refused_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.to_string().contains("invalid peer certificate") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Classifies an SDK error. Only the error code (never the message) is kept.
pub fn classify<E>(
    operation: &'static str,
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> DependencyError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown").to_string();
            let status = se.raw().status().as_u16();
            if status >= 500 || TRANSIENT_CODES.contains(&code.as_str()) {
                DependencyError::Transient { operation, code }
            } else {
                DependencyError::Permanent { operation, code }
            }
        }
        SdkError::TimeoutError(_) => DependencyError::Transient {
            operation,
            code: "Timeout".into(),
        },
        SdkError::DispatchFailure(f)
            if f.as_connector_error()
                .is_some_and(|c| refused_certificate(c)) =>
        {
            DependencyError::Permanent {
                operation,
                code: UNTRUSTED_CERTIFICATE.into(),
            }
        }
        SdkError::DispatchFailure(_) => DependencyError::Transient {
            operation,
            code: "DispatchFailure".into(),
        },
        SdkError::ResponseError(_) => DependencyError::Transient {
            operation,
            code: "ResponseError".into(),
        },
        _ => DependencyError::Permanent {
            operation,
            code: "ConstructionFailure".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_shape() {
        let v =
            ApiError::invalid("turn.role", "must be one of user, assistant, system").to_json("r-1");
        assert_eq!(v["error"]["code"], "invalid_field");
        assert_eq!(v["error"]["field"], "turn.role");
        assert_eq!(v["error"]["requestId"], "r-1");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("turn.role"));
        assert_eq!(
            ApiError::Unavailable.to_json("x")["error"]["retryable"],
            true
        );
        assert_eq!(ApiError::NotFound.status().as_u16(), 404);
        assert_eq!(ApiError::Conflict("stale".into()).status().as_u16(), 409);
        assert_eq!(ApiError::too_large("body", "big").status().as_u16(), 413);
        assert_eq!(ApiError::ForbiddenRole.status().as_u16(), 403);
        assert_eq!(ApiError::ForbiddenRole.code(), "forbidden_role");
        assert_eq!(ApiError::TurnIdConflict.code(), "turn_id_conflict");
        let full = ApiError::SessionFull(5000);
        assert_eq!((full.status().as_u16(), full.code()), (409, "session_full"));
        assert!(full.to_string().contains("start a new session or clear"));
    }

    /// The embedded-metric-format line names the namespace, metric, unit
    /// and dimension the way the specification reads them.
    #[test]
    fn the_untrusted_certificate_metric_is_embedded_metric_format() {
        let line: serde_json::Value = serde_json::from_str(&untrusted_certificate_metric(
            "voice-learning-context-manager",
            1_700_000_000_000,
        ))
        .unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(directive["Namespace"], METRIC_NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["FunctionName"]])
        );
        assert_eq!(directive["Metrics"][0]["Name"], UNTRUSTED_CERTIFICATE);
        assert_eq!(line["FunctionName"], "voice-learning-context-manager");
        assert_eq!(line[UNTRUSTED_CERTIFICATE], 1);
    }
}

//! One check and its outcome (ok, FAIL, pending, cannot check), and what a
//! list of them adds up to.

use crate::aws::error_chain;
use crate::text::short;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;

/// What one check found.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    Fail,
    /// AWS reports the setting as being turned on (e.g. TTL `ENABLING`): not
    /// wrong, not verified yet.
    Pending,
    /// The caller was denied the describe call, so nothing is known.
    CannotCheck,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "FAIL",
            Outcome::Pending => "pending",
            Outcome::CannotCheck => "cannot check",
        }
    }
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, outcome: Outcome, detail: impl Into<String>) -> Self {
        let mut detail = detail.into();
        // A failure always says why, even when a check forgot to.
        if detail.is_empty() && outcome != Outcome::Ok {
            detail = format!("{} without a reason from the check", outcome.label());
        }
        Check {
            name: name.into(),
            outcome,
            detail,
        }
    }
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Ok, detail)
    }
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Fail, detail)
    }
    pub fn pending(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Outcome::Pending, detail)
    }
    /// Ok when `ok`, else FAIL.
    pub fn ok_if(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Self {
        Self::new(name, if ok { Outcome::Ok } else { Outcome::Fail }, detail)
    }
    pub fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// True when the service refused the call for lack of permission. The codes
/// differ by protocol: `AccessDeniedException` (DynamoDB, KMS, Lambda, API
/// Gateway), `AccessDenied` (CloudFormation and other query APIs).
pub fn is_access_denied<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(
        e.code(),
        Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation")
    )
}

/// The check for a describe call that failed: "cannot check: <action>
/// denied" when access was denied (nothing is known, so it is not "off"),
/// else a FAIL naming the call and the error code.
pub fn call_failed<E>(name: impl Into<String>, action: &str, e: &SdkError<E, HttpResponse>) -> Check
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if is_access_denied(e) {
        return Check::new(
            name,
            Outcome::CannotCheck,
            format!(
                "cannot check: {action} denied ({}); grant it to the identity running verify",
                short(e.message().unwrap_or("no message"), 160)
            ),
        );
    }
    let status = e.raw_response().map(|r| r.status().as_u16());
    let why = match (e.code(), e.message(), status) {
        (Some(code), Some(msg), _) => format!("{code}: {}", short(msg, 200)),
        (Some(code), None, _) => code.to_string(),
        // An answer that is not an AWS error (e.g. an emulator's crash page).
        (None, _, Some(s)) => format!("HTTP {s} without an AWS error code"),
        _ => short(&error_chain(e), 200),
    };
    Check::fail(name, format!("{action} failed: {why}"))
}

/// Counts by outcome, and what they mean.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub checks: usize,
    pub ok: usize,
    pub failed: usize,
    pub pending: usize,
    pub cannot_check: usize,
}

impl Summary {
    pub fn of(checks: &[Check]) -> Self {
        let n = |o: Outcome| checks.iter().filter(|c| c.outcome == o).count();
        Summary {
            checks: checks.len(),
            ok: n(Outcome::Ok),
            failed: n(Outcome::Fail),
            pending: n(Outcome::Pending),
            cannot_check: n(Outcome::CannotCheck),
        }
    }

    /// Exit 0: nothing failed and everything could be looked at. Pending
    /// alone passes (the setting is on its way), but is said.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.cannot_check == 0
    }

    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} check{}: {} ok, {} failed, {} pending, {} cannot be checked",
            self.checks,
            if self.checks == 1 { "" } else { "s" },
            self.ok,
            self.failed,
            self.pending,
            self.cannot_check
        )];
        if self.pending > 0 {
            out.push(
                "pending: AWS is still turning these settings on (TTL can take up to an hour after it is enabled); \
                 nothing is wrong yet, but they are not verified: re-run `cargo xtask verify` later."
                    .into(),
            );
        }
        if self.cannot_check > 0 {
            out.push(
                "cannot check: the identity running verify was denied these read-only describe calls, so those \
                 settings are unknown (not off): grant the actions named above, or run verify with a role that has them."
                    .into(),
            );
        }
        out
    }
}

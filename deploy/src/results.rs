//! What the engine's commands report when they end (`--json` prints it as
//! the one document): one typed value per outcome, so a field a script reads
//! is declared once, here.

use serde::Serialize;
use serde_json::Value;

/// `deploy`'s result, by outcome (`result`).
#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "result",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum DeployResult {
    /// The change set ran.
    Deployed {
        stack: String,
        final_status: String,
        change_set: String,
        /// The zips uploaded (a zip already in the bucket is not).
        uploaded: Vec<String>,
        plan: Value,
        outputs: Value,
        elapsed_seconds: f64,
        phases: Value,
    },
    /// The stack already matched (`outputs` and `elapsedSeconds` when it
    /// was read to tell).
    NoChanges {
        stack: String,
        uploaded: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        outputs: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        elapsed_seconds: Option<f64>,
        phases: Value,
    },
    /// The change needed an approval that was not given.
    Refused { stack: String, plan: Value },
    /// The change set failed and CloudFormation rolled back.
    Failed {
        stack: String,
        final_status: String,
        first_failure: Option<FirstFailure>,
    },
    /// The stack deployed, but the smoke request did not pass.
    SmokeFailed {
        stack: String,
        smoke: Vec<crate::check::Check>,
    },
}

/// The resource whose failure the others followed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstFailure {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub reason: Option<String>,
}

/// `deploy --hotswap`'s result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HotswapResult {
    pub result: Hotswapped,
    pub stack: String,
    /// The functions whose code changed.
    pub functions: Vec<String>,
    /// The stack's code parameters still name the previous zips.
    pub drifted: bool,
    pub elapsed_seconds: f64,
}

/// Whether `deploy --hotswap` changed any code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hotswapped {
    NoChanges,
    Hotswapped,
}

/// `destroy`'s result.
#[derive(Debug, Clone, Serialize)]
#[serde(
    tag = "result",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum DestroyResult {
    /// There was no stack to delete.
    Absent { stack: String },
    Deleted {
        stack: String,
        deleted: Vec<Resource>,
        /// What the stack keeps on deletion (tables, the key, the bucket).
        retained: Vec<Resource>,
        elapsed_seconds: f64,
    },
}

/// A resource of the stack, as `destroy` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub physical_id: String,
}

/// A result as the report's JSON document.
pub fn to_json(result: &impl Serialize) -> Value {
    // Plain structs of strings, numbers and JSON values: serializing cannot fail.
    serde_json::to_value(result).expect("a command result serializes")
}

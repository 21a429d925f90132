//! Template parameter values: given, else kept from the deployed stack, else
//! the template default; and which of them change.

use crate::error::PlanError;
use serde::Serialize;
use serde_json::Value;
use stack::module::ids;
use std::collections::BTreeMap;

/// Marker for a parameter that has no value yet (diff only).
pub const UNSET: &str = "(not set)";

/// A parameter whose value changes (old `None`: new stack or new parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamChange {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

/// Parameter changes as JSON: `{"name", "old", "new"}`, a value that does
/// not exist (yet) as `null`, never the human marker [`UNSET`].
pub fn changes_json(changes: &[ParamChange]) -> serde_json::Value {
    let value = |v: Option<&str>| match v {
        Some(v) if v != UNSET => serde_json::Value::from(v),
        _ => serde_json::Value::Null,
    };
    changes
        .iter()
        .map(|c| serde_json::json!({"name": c.name, "old": value(c.old.as_deref()), "new": value(Some(&c.new))}))
        .collect()
}

pub fn param_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<ParamChange> {
    new.iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| ParamChange {
            name: k.clone(),
            old: old.get(k).cloned(),
            new: v.clone(),
        })
        .collect()
}

/// The value of every template parameter: explicit (flags, bucket, code keys),
/// else kept from the deployed stack, else the template default. A required
/// parameter with none of these is an error (or [`UNSET`] when `lenient`).
pub fn resolve(
    template: &Value,
    explicit: &BTreeMap<String, String>,
    deployed: Option<&BTreeMap<String, String>>,
    lenient: bool,
) -> Result<BTreeMap<String, String>, PlanError> {
    let mut out = BTreeMap::new();
    let Some(Value::Object(params)) = template.get("Parameters") else {
        return Ok(out);
    };
    for (name, p) in params {
        let value = explicit
            .get(name)
            .cloned()
            .or_else(|| deployed.and_then(|d| d.get(name).cloned()))
            .or_else(|| {
                p.get("Default").map(|d| match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            });
        match value {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None if lenient => {
                out.insert(name.clone(), UNSET.to_string());
            }
            None => return Err(PlanError::MissingParameter(missing(name))),
        }
    }
    Ok(out)
}

fn missing(name: &str) -> String {
    let (flag, what) = match name {
        ids::P_USER_POOL_ID => ("--user-pool-id (e.g. us-east-1_AbC123xyz)", "user pool"),
        ids::P_USER_POOL_CLIENT_ID => ("--user-pool-client-id", "app client"),
        _ => return format!("the template parameter {name} has no value and no default"),
    };
    format!(
        "{flag} is required on the first deploy: it is the Cognito {what} the API accepts tokens from; later deploys keep the deployed value."
    )
}

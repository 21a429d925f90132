//! What `diff` found between the deployed stack and the local template,
//! parameters and code: IAM statements, resources, the rest of the
//! template, parameters, code keys.

use crate::iam;
use crate::params::{param_changes, ParamChange};
use crate::template_diff::{
    other_changes, resource_diffs, PathChange, ResourceAction, ResourceDiff,
};
use serde_json::{json, Value};
use stack::module::ids;
use std::collections::BTreeMap;

/// Everything the diff found.
pub struct DiffReport {
    pub stack: String,
    pub exists: bool,
    pub iam: Vec<iam::IamChange>,
    pub resources: Vec<ResourceDiff>,
    pub other: Vec<PathChange>,
    pub params: Vec<ParamChange>,
    pub code: Vec<ParamChange>,
    pub code_note: Option<String>,
    /// The compared zips are older than the functions' sources.
    pub code_stale: bool,
    /// Functions whose `live` alias runs another version than the stack
    /// published (a rollback or a hotswap moved it): said, not a
    /// difference, since a deploy that changes nothing leaves it there.
    pub moved_aliases: Vec<MovedAlias>,
}

/// A function's `live` alias on another version than the stack's.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedAlias {
    pub function: String,
    pub live: String,
    pub stack: String,
}

impl DiffReport {
    pub fn has_differences(&self) -> bool {
        !(self.iam.is_empty()
            && self.resources.is_empty()
            && self.other.is_empty()
            && self.params.is_empty()
            && self.code.is_empty())
    }

    pub fn to_json(&self) -> Value {
        let pc = |c: &PathChange| json!({"path": c.path, "old": c.old, "new": c.new});
        json!({
            "stack": self.stack,
            "deployed": self.exists,
            "differences": self.has_differences(),
            "iamWidening": iam::widens(&self.iam),
            "iam": self.iam.iter().map(iam::IamChange::to_json).collect::<Vec<_>>(),
            "resources": self.resources.iter().map(|r| json!({
                "logicalId": r.logical_id, "type": r.resource_type,
                "action": match r.action { ResourceAction::Added => "added", ResourceAction::Removed => "removed", ResourceAction::Modified => "modified" },
                "replacement": !r.replaced_by.is_empty(), "replacedBy": r.replaced_by,
                "changes": r.changes.iter().map(pc).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "other": self.other.iter().map(pc).collect::<Vec<_>>(),
            "parameters": crate::params::changes_json(&self.params),
            "code": crate::params::changes_json(&self.code),
            "codeNote": self.code_note,
            "codeStale": self.code_stale,
            "movedAliases": self.moved_aliases.iter().map(|m| json!({
                "function": m.function, "live": m.live, "stack": m.stack,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Builds the report from the two templates and parameter sets.
pub fn report(
    stack: &str,
    old_template: &Value,
    new_template: &Value,
    old_params: &BTreeMap<String, String>,
    new_params: &BTreeMap<String, String>,
    exists: bool,
) -> DiffReport {
    let code_params = [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ];
    let all = param_changes(old_params, new_params);
    let (code, params): (Vec<ParamChange>, Vec<ParamChange>) = all
        .into_iter()
        .partition(|p| code_params.contains(&p.name.as_str()));
    DiffReport {
        stack: stack.to_string(),
        exists,
        iam: iam::diff(old_template, new_template),
        resources: resource_diffs(old_template, new_template),
        other: other_changes(old_template, new_template),
        params,
        code,
        code_note: None,
        code_stale: false,
        moved_aliases: vec![],
    }
}

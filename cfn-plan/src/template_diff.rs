//! Property-level differences between two templates: each changed leaf
//! with its path and old and new values, per resource, with the properties
//! that force a replacement.

use crate::replacement::replacing_properties;
use crate::template::{properties, resources, type_of};
use serde_json::Value;

/// One changed leaf: a property path and its old and new values.
#[derive(Debug, Clone, PartialEq)]
pub struct PathChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The leaves that differ between `old` and `new`, with paths like
/// `.KeySchema[0].AttributeName`. Arrays of different length list the
/// elements removed (`path[-]`) and added (`path[+]`).
pub fn path_changes(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &str,
    out: &mut Vec<PathChange>,
) {
    match (old, new) {
        (Some(a), Some(b)) if a == b => {}
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().collect();
            for k in b.keys() {
                if !a.contains_key(k) {
                    keys.push(k);
                }
            }
            for k in keys {
                path_changes(a.get(k), b.get(k), &format!("{path}.{k}"), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path_changes(Some(x), Some(y), &format!("{path}[{i}]"), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            // Different lengths: list the elements removed and added.
            for x in a.iter().filter(|x| !b.contains(x)) {
                out.push(PathChange {
                    path: format!("{path}[-]"),
                    old: Some(x.clone()),
                    new: None,
                });
            }
            for y in b.iter().filter(|y| !a.contains(y)) {
                out.push(PathChange {
                    path: format!("{path}[+]"),
                    old: None,
                    new: Some(y.clone()),
                });
            }
        }
        (None, None) => {}
        (a, b) => out.push(PathChange {
            path: path.to_string(),
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceAction {
    Added,
    Removed,
    Modified,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDiff {
    pub logical_id: String,
    pub resource_type: String,
    pub action: ResourceAction,
    pub changes: Vec<PathChange>,
    /// Properties that force a replacement.
    pub replaced_by: Vec<String>,
}

/// Resource differences in template order (new template first, then removals).
pub fn resource_diffs(old: &Value, new: &Value) -> Vec<ResourceDiff> {
    let old_r = resources(old);
    let new_r = resources(new);
    let ty = |r: &Value| type_of(r).to_string();
    let mut out = vec![];
    for (id, n) in new_r {
        match old_r.get(id) {
            None => out.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: ty(n),
                action: ResourceAction::Added,
                changes: vec![],
                replaced_by: vec![],
            }),
            Some(o) if o != n => {
                let mut changes = vec![];
                path_changes(Some(o), Some(n), "", &mut changes);
                let replaced_by = if ty(o) != ty(n) {
                    vec!["Type".to_string()]
                } else {
                    replacing_properties(&ty(n), properties(o), properties(n))
                };
                out.push(ResourceDiff {
                    logical_id: id.clone(),
                    resource_type: ty(n),
                    action: ResourceAction::Modified,
                    changes,
                    replaced_by,
                });
            }
            Some(_) => {}
        }
    }
    for (id, o) in old_r {
        if !new_r.contains_key(id) {
            out.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: ty(o),
                action: ResourceAction::Removed,
                changes: vec![],
                replaced_by: vec![],
            });
        }
    }
    out
}

/// Changes outside `Resources` (parameters, conditions, outputs, description).
pub fn other_changes(old: &Value, new: &Value) -> Vec<PathChange> {
    let mut out = vec![];
    if old.is_null() {
        return out;
    }
    for section in [
        "Description",
        "Metadata",
        "Parameters",
        "Conditions",
        "Outputs",
    ] {
        path_changes(old.get(section), new.get(section), section, &mut out);
    }
    out
}

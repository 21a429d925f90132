//! A change set as DescribeChangeSet describes it: our own serde types,
//! shaped like the API's JSON, so recorded responses load directly; the
//! deploy engine fills them from the SDK's typed answer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeSet {
    #[serde(default)]
    pub change_set_name: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    #[serde(default)]
    pub resource_change: Option<ResourceChange>,
}

/// `ResourceChange.Action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ChangeAction {
    Add,
    #[default]
    Modify,
    Remove,
    Import,
    Dynamic,
    #[serde(other)]
    Unknown,
}

impl ChangeAction {
    /// The word `diff --json` uses for the same change: `added`, `modified`, `removed`.
    pub fn word(self) -> &'static str {
        match self {
            ChangeAction::Add => "added",
            ChangeAction::Modify => "modified",
            ChangeAction::Remove => "removed",
            ChangeAction::Import => "imported",
            ChangeAction::Dynamic => "dynamic",
            ChangeAction::Unknown => "unknown",
        }
    }
}

/// `ResourceChange.Replacement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Replacement {
    True,
    False,
    Conditional,
    #[serde(other)]
    Unknown,
}

/// `ResourceTargetDefinition.RequiresRecreation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum RequiresRecreation {
    Never,
    Conditionally,
    Always,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceChange {
    #[serde(default)]
    pub action: ChangeAction,
    #[serde(default)]
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub replacement: Option<Replacement>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub details: Vec<Detail>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Detail {
    #[serde(default)]
    pub target: Option<DetailTarget>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetailTarget {
    #[serde(default)]
    pub attribute: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub requires_recreation: Option<RequiresRecreation>,
}

impl ChangeSet {
    pub fn resource_changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes
            .iter()
            .filter_map(|c| c.resource_change.as_ref())
    }
}

impl ResourceChange {
    /// The properties and attributes the details name, sorted, deduplicated.
    pub fn targets(&self) -> Vec<String> {
        let mut targets: Vec<String> = self
            .details
            .iter()
            .filter_map(|d| d.target.as_ref())
            .map(|t| {
                t.name
                    .clone()
                    .unwrap_or_else(|| t.attribute.clone().unwrap_or_default())
            })
            .filter(|s| !s.is_empty())
            .collect();
        targets.sort();
        targets.dedup();
        targets
    }
}

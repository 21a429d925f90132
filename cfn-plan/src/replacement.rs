//! Which changes replace a resource, and the data-safety guard: a plan that
//! would replace or delete a table or the KMS key is refused unless
//! `--allow-replacement`.
//!
//! Two independent sources, because not every endpoint reports replacement
//! (moto reports no `Replacement` field at all):
//! - the change set: `ResourceChange.Action == Remove`, `Replacement == True | Conditional`;
//! - the templates themselves: a data resource removed, its type changed, or a
//!   property changed that CloudFormation can only apply by replacement
//!   (a table's `KeySchema` or `TableName`, a key's `KeySpec`, ...).

use crate::change_set::{ChangeAction, ChangeSet, Replacement, RequiresRecreation};
use crate::error::PlanError;
use crate::template::{properties, resources, type_of};
use serde_json::Value;
use stack::resources::{
    Alarm, ApiStage, Authorizer, Dashboard, Function, Integration, KmsAlias, KmsKey, LogGroup,
    Permission, Role, Route, Subscription, Table, Topic,
};
use std::fmt;

/// A global table holds data too; the stack has none, so no model type names it.
const GLOBAL_TABLE: &str = "AWS::DynamoDB::GlobalTable";

/// Resource types that hold data which must never be replaced or deleted silently.
pub const DATA_TYPES: &[&str] = &[Table::TYPE, GLOBAL_TABLE, KmsKey::TYPE];

/// Properties whose change makes CloudFormation replace the resource
/// (from the CloudFormation resource reference, "Update requires: Replacement").
const REPLACE_ON: &[(&str, &[&str])] = &[
    (
        Table::TYPE,
        &["TableName", "KeySchema", "LocalSecondaryIndexes"],
    ),
    (
        GLOBAL_TABLE,
        &["TableName", "KeySchema", "LocalSecondaryIndexes"],
    ),
    (
        KmsKey::TYPE,
        &["KeySpec", "KeyUsage", "MultiRegion", "Origin"],
    ),
    (KmsAlias::TYPE, &["AliasName"]),
    (Function::TYPE, &["FunctionName", "PackageType"]),
    (
        Permission::TYPE,
        &[
            "Action",
            "EventSourceToken",
            "FunctionName",
            "Principal",
            "SourceAccount",
            "SourceArn",
        ],
    ),
    (Role::TYPE, &["RoleName", "Path"]),
    (LogGroup::TYPE, &["LogGroupName"]),
    (Authorizer::TYPE, &["ApiId"]),
    (Integration::TYPE, &["ApiId"]),
    (Route::TYPE, &["ApiId"]),
    (ApiStage::TYPE, &["ApiId", "StageName"]),
    (Alarm::TYPE, &["AlarmName"]),
    (Dashboard::TYPE, &["DashboardName"]),
    (Topic::TYPE, &["TopicName", "FifoTopic"]),
    (Subscription::TYPE, &["Endpoint", "Protocol", "TopicArn"]),
];

/// The properties of `resource_type` that differ between `old` and `new`
/// properties and force a replacement.
pub fn replacing_properties(resource_type: &str, old: &Value, new: &Value) -> Vec<String> {
    let Some((_, props)) = REPLACE_ON.iter().find(|(t, _)| *t == resource_type) else {
        return vec![];
    };
    props
        .iter()
        .filter(|p| old.get(**p) != new.get(**p))
        .map(|p| p.to_string())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    Delete,
    Replace,
    MayReplace,
}

/// One data resource the plan would replace or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRisk {
    pub logical_id: String,
    pub resource_type: String,
    /// Table name or key id, when known.
    pub physical_name: Option<String>,
    pub risk: Risk,
    pub why: String,
}

impl fmt::Display for DataRisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.risk {
            Risk::Delete => "delete",
            Risk::Replace => "replace",
            Risk::MayReplace => "possibly replace",
        };
        write!(f, "{verb} {} ({}", self.logical_id, self.resource_type)?;
        if let Some(n) = &self.physical_name {
            write!(f, " {n}")?;
        }
        write!(f, "): {}", self.why)
    }
}

fn physical_name(r: &Value) -> Option<String> {
    properties(r)
        .get("TableName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Data risks seen by comparing the deployed template with the new one.
pub fn from_templates(old: &Value, new: &Value) -> Vec<DataRisk> {
    let new_res = resources(new);
    let mut out = vec![];
    for (id, r) in resources(old) {
        let ty = type_of(r);
        if !DATA_TYPES.contains(&ty) {
            continue;
        }
        let risk = |risk, why| DataRisk {
            logical_id: id.clone(),
            resource_type: ty.to_string(),
            physical_name: physical_name(r),
            risk,
            why,
        };
        match new_res.get(id.as_str()) {
            None => out.push(risk(Risk::Delete, "removed from the template".into())),
            Some(n) if type_of(n) != ty => out.push(risk(
                Risk::Replace,
                format!("its type changes to {}", type_of(n)),
            )),
            Some(n) => {
                let changed = replacing_properties(ty, properties(r), properties(n));
                if !changed.is_empty() {
                    out.push(risk(
                        Risk::Replace,
                        format!(
                            "{} changes, which CloudFormation applies by replacement",
                            changed.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// Data risks the change set reports.
pub fn from_change_set(cs: &ChangeSet) -> Vec<DataRisk> {
    let mut out = vec![];
    for rc in cs.resource_changes() {
        if !DATA_TYPES.contains(&rc.resource_type.as_str()) {
            continue;
        }
        let why_targets = || {
            let t: Vec<String> = rc
                .details
                .iter()
                .filter_map(|d| d.target.as_ref())
                .filter(|t| {
                    t.requires_recreation
                        .is_some_and(|r| r != RequiresRecreation::Never)
                })
                .filter_map(|t| t.name.clone())
                .collect();
            if t.is_empty() {
                String::new()
            } else {
                format!(" ({} requires recreation)", t.join(", "))
            }
        };
        let risk = match (rc.action, rc.replacement) {
            (ChangeAction::Remove, _) => {
                Some((Risk::Delete, "the change set removes it".to_string()))
            }
            (_, Some(Replacement::True)) => Some((
                Risk::Replace,
                format!("the change set replaces it{}", why_targets()),
            )),
            (_, Some(Replacement::Conditional)) => Some((
                Risk::MayReplace,
                format!("the change set may replace it{}", why_targets()),
            )),
            _ => None,
        };
        if let Some((risk, why)) = risk {
            out.push(DataRisk {
                logical_id: rc.logical_resource_id.clone(),
                resource_type: rc.resource_type.clone(),
                physical_name: rc.physical_resource_id.clone(),
                risk,
                why,
            });
        }
    }
    out
}

/// Both sources, one entry per resource (the change set's wording first).
pub fn merge(mut a: Vec<DataRisk>, b: Vec<DataRisk>) -> Vec<DataRisk> {
    for r in b {
        if let Some(existing) = a.iter_mut().find(|x| x.logical_id == r.logical_id) {
            if existing.risk == Risk::MayReplace && r.risk != Risk::MayReplace {
                existing.risk = r.risk;
            }
            if !existing.why.contains(&r.why) {
                existing.why = format!("{}; {}", existing.why, r.why);
            }
            if existing.physical_name.is_none() {
                existing.physical_name = r.physical_name;
            }
        } else {
            a.push(r);
        }
    }
    a
}

/// The guard: refused, with the full explanation, unless `allow_replacement`.
pub fn guard(risks: &[DataRisk], allow_replacement: bool) -> Result<(), PlanError> {
    if risks.is_empty() || allow_replacement {
        return Ok(());
    }
    let list: Vec<String> = risks.iter().map(|r| format!("  - {r}")).collect();
    Err(PlanError::Refused(format!(
        "refusing to deploy: this plan would\n{}\nReplacing or deleting a table or the KMS key loses (or orphans) stored data. \
         Back the data up first (see the deployment guide), then rerun with --allow-replacement if this is really intended.",
        list.join("\n")
    )))
}

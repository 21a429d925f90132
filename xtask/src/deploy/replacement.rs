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

use crate::deploy::plan::ChangeSetDescription;
use serde_json::Value;
use std::fmt;

/// Resource types that hold data which must never be replaced or deleted silently.
pub const DATA_TYPES: &[&str] = &[
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::KMS::Key",
];

/// Properties whose change makes CloudFormation replace the resource
/// (from the CloudFormation resource reference, "Update requires: Replacement").
const REPLACE_ON: &[(&str, &[&str])] = &[
    (
        "AWS::DynamoDB::Table",
        &["TableName", "KeySchema", "LocalSecondaryIndexes"],
    ),
    (
        "AWS::DynamoDB::GlobalTable",
        &["TableName", "KeySchema", "LocalSecondaryIndexes"],
    ),
    (
        "AWS::KMS::Key",
        &["KeySpec", "KeyUsage", "MultiRegion", "Origin"],
    ),
    ("AWS::KMS::Alias", &["AliasName"]),
    ("AWS::Lambda::Function", &["FunctionName", "PackageType"]),
    (
        "AWS::Lambda::Permission",
        &[
            "Action",
            "EventSourceToken",
            "FunctionName",
            "Principal",
            "SourceAccount",
            "SourceArn",
        ],
    ),
    ("AWS::IAM::Role", &["RoleName", "Path"]),
    ("AWS::Logs::LogGroup", &["LogGroupName"]),
    ("AWS::ApiGatewayV2::Authorizer", &["ApiId"]),
    ("AWS::ApiGatewayV2::Integration", &["ApiId"]),
    ("AWS::ApiGatewayV2::Route", &["ApiId"]),
    ("AWS::ApiGatewayV2::Stage", &["ApiId", "StageName"]),
    ("AWS::CloudWatch::Alarm", &["AlarmName"]),
    ("AWS::CloudWatch::Dashboard", &["DashboardName"]),
    ("AWS::SNS::Topic", &["TopicName", "FifoTopic"]),
    (
        "AWS::SNS::Subscription",
        &["Endpoint", "Protocol", "TopicArn"],
    ),
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

fn resources(t: &Value) -> Vec<(&String, &Value)> {
    match t.get("Resources") {
        Some(Value::Object(m)) => m.iter().collect(),
        _ => vec![],
    }
}

fn type_of(r: &Value) -> &str {
    r.get("Type").and_then(Value::as_str).unwrap_or_default()
}

fn props(r: &Value) -> Value {
    r.get("Properties")
        .cloned()
        .unwrap_or(Value::Object(Default::default()))
}

fn physical_name(r: &Value) -> Option<String> {
    let p = props(r);
    p.get("TableName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Data risks seen by comparing the deployed template with the new one.
pub fn from_templates(old: &Value, new: &Value) -> Vec<DataRisk> {
    let new_res = new.get("Resources");
    let mut out = vec![];
    for (id, r) in resources(old) {
        let ty = type_of(r);
        if !DATA_TYPES.contains(&ty) {
            continue;
        }
        match new_res.and_then(|m| m.get(id.as_str())) {
            None => out.push(DataRisk {
                logical_id: id.clone(),
                resource_type: ty.to_string(),
                physical_name: physical_name(r),
                risk: Risk::Delete,
                why: "removed from the template".into(),
            }),
            Some(n) if type_of(n) != ty => out.push(DataRisk {
                logical_id: id.clone(),
                resource_type: ty.to_string(),
                physical_name: physical_name(r),
                risk: Risk::Replace,
                why: format!("its type changes to {}", type_of(n)),
            }),
            Some(n) => {
                let changed = replacing_properties(ty, &props(r), &props(n));
                if !changed.is_empty() {
                    out.push(DataRisk {
                        logical_id: id.clone(),
                        resource_type: ty.to_string(),
                        physical_name: physical_name(r),
                        risk: Risk::Replace,
                        why: format!(
                            "{} changes, which CloudFormation applies by replacement",
                            changed.join(", ")
                        ),
                    });
                }
            }
        }
    }
    out
}

/// Data risks the change set reports.
pub fn from_change_set(cs: &ChangeSetDescription) -> Vec<DataRisk> {
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
                        .as_deref()
                        .is_some_and(|r| r != "Never")
                })
                .filter_map(|t| t.name.clone())
                .collect();
            if t.is_empty() {
                String::new()
            } else {
                format!(" ({} requires recreation)", t.join(", "))
            }
        };
        let risk = match (rc.action.as_str(), rc.replacement.as_deref()) {
            ("Remove", _) => Some((Risk::Delete, "the change set removes it".to_string())),
            (_, Some("True")) => Some((
                Risk::Replace,
                format!("the change set replaces it{}", why_targets()),
            )),
            (_, Some("Conditional")) => Some((
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

/// The guard: `Err` with the full explanation unless `allow_replacement`.
pub fn guard(risks: &[DataRisk], allow_replacement: bool) -> anyhow::Result<()> {
    if risks.is_empty() || allow_replacement {
        return Ok(());
    }
    let list: Vec<String> = risks.iter().map(|r| format!("  - {r}")).collect();
    anyhow::bail!(
        "refusing to deploy: this plan would\n{}\nReplacing or deleting a table or the KMS key loses (or orphans) stored data. \
         Back the data up first (see the deployment guide), then rerun with --allow-replacement if this is really intended.",
        list.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        stack::synth(&stack::StackOptions::default())
            .unwrap()
            .to_json_value()
    }

    fn fixture(name: &str) -> ChangeSetDescription {
        let path = format!(
            "{}/../cfn-plan/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn same_template_has_no_risk() {
        assert!(from_templates(&template(), &template()).is_empty());
        assert!(guard(&from_templates(&template(), &template()), false).is_ok());
    }

    #[test]
    fn sessions_table_key_schema_change_is_refused_without_the_flag() {
        let old = template();
        let mut new = old.clone();
        new["Resources"]["SessionsTable"]["Properties"]["KeySchema"] = json!([{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]);
        let risks = from_templates(&old, &new);
        assert_eq!(risks.len(), 1, "{risks:#?}");
        assert_eq!(risks[0].logical_id, "SessionsTable");
        assert_eq!(risks[0].risk, Risk::Replace);
        assert_eq!(
            risks[0].physical_name.as_deref(),
            Some("voice-learning-sessions")
        );
        let err = guard(&risks, false).unwrap_err().to_string();
        assert!(err.contains("refusing to deploy"), "{err}");
        assert!(
            err.contains("SessionsTable") && err.contains("KeySchema"),
            "{err}"
        );
        assert!(err.contains("--allow-replacement"), "{err}");
        assert!(guard(&risks, true).is_ok());
    }

    #[test]
    fn table_rename_key_change_and_removal_are_risks() {
        let old = template();
        let mut renamed = old.clone();
        renamed["Resources"]["UserProfilesTable"]["Properties"]["TableName"] = json!("profiles-v2");
        assert_eq!(
            from_templates(&old, &renamed)[0].logical_id,
            "UserProfilesTable"
        );

        let mut key = old.clone();
        key["Resources"]["DataKey"]["Properties"]["KeySpec"] = json!("RSA_2048");
        let r = from_templates(&old, &key);
        assert_eq!(
            (r[0].logical_id.as_str(), r[0].risk),
            ("DataKey", Risk::Replace)
        );

        let mut removed = old.clone();
        removed["Resources"]
            .as_object_mut()
            .unwrap()
            .remove("SessionsTable");
        let r = from_templates(&old, &removed);
        assert_eq!(
            (r[0].logical_id.as_str(), r[0].risk),
            ("SessionsTable", Risk::Delete)
        );
    }

    #[test]
    fn in_place_table_changes_are_not_risks() {
        let old = template();
        let mut new = old.clone();
        new["Resources"]["SessionsTable"]["Properties"]["DeletionProtectionEnabled"] = json!(false);
        new["Resources"]["SessionsTable"]["Properties"]["GlobalSecondaryIndexes"][0]
            ["Projection"] = json!({"ProjectionType": "ALL"});
        new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] = json!(512);
        assert!(from_templates(&old, &new).is_empty());
    }

    #[test]
    fn change_set_replacement_of_the_table_is_detected() {
        let cs = fixture("changeset-table-replacement.json");
        let risks = from_change_set(&cs);
        let t = risks
            .iter()
            .find(|r| r.logical_id == "SessionsTable")
            .expect("table risk");
        assert_eq!(t.risk, Risk::Replace);
        assert!(t.why.contains("KeySchema"), "{}", t.why);
        // The Lambda function is modified in place: not a data risk.
        assert!(risks
            .iter()
            .all(|r| r.resource_type != "AWS::Lambda::Function"));
        assert!(guard(&risks, false).is_err());
    }

    #[test]
    fn change_set_key_removal_and_conditional_replacement_are_detected() {
        let cs = fixture("changeset-key-removed-conditional-table.json");
        let risks = from_change_set(&cs);
        let key = risks
            .iter()
            .find(|r| r.logical_id == "DataKey")
            .expect("key");
        assert_eq!(key.risk, Risk::Delete);
        let table = risks
            .iter()
            .find(|r| r.logical_id == "UserProfilesTable")
            .expect("table");
        assert_eq!(table.risk, Risk::MayReplace);
    }

    #[test]
    fn change_set_in_place_update_is_safe() {
        let cs = fixture("changeset-code-update.json");
        assert!(from_change_set(&cs).is_empty());
    }

    #[test]
    fn merge_keeps_one_entry_per_resource() {
        let old = template();
        let mut new = old.clone();
        new["Resources"]["SessionsTable"]["Properties"]["KeySchema"] =
            json!([{"AttributeName": "id", "KeyType": "HASH"}]);
        let merged = merge(
            from_change_set(&fixture("changeset-table-replacement.json")),
            from_templates(&old, &new),
        );
        assert_eq!(
            merged
                .iter()
                .filter(|r| r.logical_id == "SessionsTable")
                .count(),
            1
        );
    }
}

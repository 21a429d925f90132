//! The plan: IAM, resources, parameters and data risks from a recorded
//! change set and two templates.

use crate::{change_set, template};
use cfn_plan::params::{param_changes, resolve, ParamChange, UNSET};
use cfn_plan::{ChangeSet, Plan};
use serde_json::json;
use stack::module::ids;
use std::collections::BTreeMap;

fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// A widening, a key schema change (replacement), a code change.
fn widening_and_replacement() -> Plan {
    let key = |v: &str| BTreeMap::from([("SessionPersistenceCodeKey".to_string(), v.to_string())]);
    Plan::new(
        "VoiceLearningAssistantStack",
        change_set("changeset-table-replacement.json"),
        &template(),
        &testkit::templates::widened_and_rekeyed(),
        &key("code/a.zip"),
        &key("code/b.zip"),
    )
}

#[test]
fn the_plan_has_iam_widening_replacements_parameters_and_data_risks() {
    let plan = widening_and_replacement();
    assert!(plan.widens_iam());
    assert!(plan.iam.iter().any(|c| c.widening
        && c.label() == "+ (widening)"
        && c.stmt.actions.contains(&"dynamodb:Scan".to_string())));
    assert_eq!(plan.risks.len(), 1);
    assert!(plan.risks[0]
        .to_string()
        .starts_with("replace SessionsTable"));
    let replaced = |id: &str| {
        let rc = plan
            .change_set
            .resource_changes()
            .find(|r| r.logical_resource_id == id)
            .unwrap();
        (rc.targets(), plan.replaced(rc))
    };
    assert_eq!(replaced("SessionsTable").1.as_deref(), Some("replace"));
    assert_eq!(
        replaced("SessionPersistenceFunction"),
        (vec!["Code".to_string()], None)
    );
    assert_eq!(
        plan.params,
        vec![ParamChange {
            name: "SessionPersistenceCodeKey".into(),
            old: Some("code/a.zip".into()),
            new: "code/b.zip".into()
        }]
    );
    let j = plan.to_json();
    assert_eq!(j["iamWidening"], true);
    // The words and types of `diff --json`: "modified", a boolean replacement.
    let resource = |id: &str| {
        j["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["logicalId"] == id)
            .unwrap()
            .clone()
    };
    let table = resource("SessionsTable");
    assert_eq!(table["action"], "modified");
    assert_eq!(table["replacement"], true);
    let function = resource("SessionPersistenceFunction");
    assert_eq!(function["replacement"], false);
    assert_eq!(function["replacedBy"], json!([]));
    assert_eq!(
        j["parameters"][0],
        json!({"name": "SessionPersistenceCodeKey", "old": "code/a.zip", "new": "code/b.zip"})
    );
}

#[test]
fn without_resource_changes_in_the_change_set_the_template_comparison_is_kept() {
    let old = template();
    let mut new = old.clone();
    new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] = json!(512);
    let plan = Plan::new("S", ChangeSet::default(), &old, &new, &none(), &none());
    assert_eq!(plan.template_changes.len(), 1);
    assert_eq!(
        plan.template_changes[0].changes[0].path,
        ".Properties.MemorySize"
    );
    let same = Plan::new("S", ChangeSet::default(), &old, &old, &none(), &none());
    assert!(same.template_changes.is_empty());
}

#[test]
fn param_changes_lists_only_differences() {
    let old = BTreeMap::from([
        ("A".to_string(), "1".to_string()),
        ("B".to_string(), "2".to_string()),
    ]);
    let new = BTreeMap::from([
        ("A".to_string(), "1".to_string()),
        ("B".to_string(), "3".to_string()),
        ("C".to_string(), "x".to_string()),
    ]);
    let c = param_changes(&old, &new);
    assert_eq!(c.len(), 2);
    assert_eq!(
        c[0],
        ParamChange {
            name: "B".into(),
            old: Some("2".into()),
            new: "3".into()
        }
    );
    assert_eq!(c[1].old, None);
}

#[test]
fn params_come_from_flags_then_the_stack_then_defaults() {
    let t = template();
    let mut explicit = BTreeMap::from([
        (ids::P_CODE_BUCKET.to_string(), "b".to_string()),
        (
            ids::P_SESSION_PERSISTENCE_CODE_KEY.to_string(),
            "code/a.zip".to_string(),
        ),
        (
            ids::P_CONTEXT_MANAGER_CODE_KEY.to_string(),
            "code/b.zip".to_string(),
        ),
    ]);
    let err = resolve(&t, &explicit, None, false).unwrap_err().to_string();
    assert!(
        err.contains("--user-pool-id") && err.contains("first deploy"),
        "{err}"
    );
    let lenient = resolve(&t, &explicit, None, true).unwrap();
    assert_eq!(lenient[ids::P_USER_POOL_ID], UNSET);

    explicit.insert(ids::P_USER_POOL_ID.into(), "us-east-1_New".into());
    let deployed = BTreeMap::from([
        (ids::P_USER_POOL_ID.to_string(), "us-east-1_Old".to_string()),
        (ids::P_USER_POOL_CLIENT_ID.to_string(), "client".to_string()),
        (ids::P_RESERVED_CONCURRENCY.to_string(), "7".to_string()),
    ]);
    let p = resolve(&t, &explicit, Some(&deployed), false).unwrap();
    assert_eq!(p[ids::P_USER_POOL_ID], "us-east-1_New");
    assert_eq!(p[ids::P_USER_POOL_CLIENT_ID], "client");
    assert_eq!(p[ids::P_RESERVED_CONCURRENCY], "7");
    assert_eq!(p[ids::P_ARCHITECTURE], "arm64");
    assert_eq!(p[ids::P_ALARM_EMAIL], "");
}

#[test]
fn a_new_stack_plan_leaves_out_what_its_conditions_turn_off_and_json_names_them() {
    // The change set lists every resource (as an emulator's does); the plan
    // keeps only what these parameter values create.
    let t = template();
    let changes: Vec<serde_json::Value> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, r)| json!({"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": id, "ResourceType": r["Type"]}}))
        .collect();
    let cs: ChangeSet = serde_json::from_value(json!({"Changes": changes})).unwrap();
    let plan = Plan::new("S", cs.clone(), &json!({}), &t, &none(), &none());
    assert!(plan.new_stack);
    let listed: Vec<&str> = plan
        .resource_changes()
        .map(|rc| rc.logical_resource_id.as_str())
        .collect();
    assert!(!listed.contains(&"BackupVault") && listed.contains(&"SessionsTable"));
    assert!(!plan
        .iam
        .iter()
        .any(|c| c.stmt.source == "BackupRole"
            || c.stmt.principals.iter().any(|p| p.contains("backup"))));
    let j = plan.to_json();
    assert_eq!(j["newStack"], true);
    let not_created = j["notCreated"].as_array().unwrap();
    assert!(not_created.iter().any(|r| r["logicalId"] == "BackupVault"
        && r["type"] == "AWS::Backup::BackupVault"
        && r["condition"] == "BackupEnabled"));
    // Turned on: the backup resources and the role's statements are in.
    let on = BTreeMap::from([(ids::P_BACKUP_RETENTION_DAYS.to_string(), "35".to_string())]);
    let plan = Plan::new("S", cs, &json!({}), &t, &none(), &on);
    let j = plan.to_json();
    let vault = j["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logicalId"] == "BackupVault")
        .expect("the vault is added");
    assert_eq!(vault["condition"], "BackupEnabled");
    assert!(j["iam"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["condition"] == "BackupEnabled"));
}

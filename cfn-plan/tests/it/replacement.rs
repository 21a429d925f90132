//! Replacement and data risk, from templates and from recorded change sets.

use crate::{change_set as fixture, template};
use cfn_plan::replacement::{from_change_set, from_templates, guard, merge, Risk};
use serde_json::json;

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
    new["Resources"]["SessionsTable"]["Properties"]["GlobalSecondaryIndexes"][0]["Projection"] =
        json!({"ProjectionType": "ALL"});
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

//! What `diff` finds between two templates and parameter sets.

use crate::template;
use cfn_plan::diff_report::report;
use cfn_plan::template_diff::ResourceAction;
use serde_json::{json, Value};
use stack::module::ids;
use std::collections::BTreeMap;
use testkit::templates::{many_changes, params};

#[test]
fn same_template_and_params_have_no_differences() {
    let p = BTreeMap::from([("A".to_string(), "1".to_string())]);
    let rep = report("S", &template(), &template(), &p, &p, true);
    assert!(!rep.has_differences());
    assert_eq!(rep.to_json()["differences"], json!(false));
}

#[test]
fn no_stack_shows_everything_added() {
    let rep = report(
        "S",
        &Value::Null,
        &template(),
        &BTreeMap::new(),
        &BTreeMap::new(),
        false,
    );
    assert!(rep
        .resources
        .iter()
        .all(|r| r.action == ResourceAction::Added));
    assert_eq!(
        rep.resources.len(),
        template()["Resources"].as_object().unwrap().len()
    );
    assert!(rep
        .resources
        .iter()
        .any(|r| r.logical_id == "SessionsTable" && r.resource_type == "AWS::DynamoDB::Table"));
}

#[test]
fn changes_have_paths_old_new_replacement_and_iam() {
    let (old_p, new_p) = (
        params("code/a.zip", "us-east-1_A"),
        params("code/b.zip", "us-east-1_B"),
    );
    let rep = report("S", &template(), &many_changes(), &old_p, &new_p, true);
    let table = rep
        .resources
        .iter()
        .find(|r| r.logical_id == "SessionsTable")
        .unwrap();
    assert_eq!(table.action, ResourceAction::Modified);
    assert_eq!(table.replaced_by, vec!["KeySchema"]);
    let key = &table.changes[0];
    assert_eq!(key.path, ".Properties.KeySchema[0].AttributeName");
    assert_eq!(
        (key.old.clone(), key.new.clone()),
        (Some(json!("sessionId")), Some(json!("userId")))
    );
    let function = rep
        .resources
        .iter()
        .find(|r| r.logical_id == "SessionPersistenceFunction")
        .unwrap();
    assert_eq!(function.changes[0].path, ".Properties.MemorySize");
    assert!(function.replaced_by.is_empty());
    let role = rep
        .resources
        .iter()
        .find(|r| r.logical_id == "ContextManagerRole")
        .unwrap();
    assert!(role.changes.iter().any(|c| c.path
        == ".Properties.Policies[0].PolicyDocument.Statement[0].Action[+]"
        && c.new == Some(json!("dynamodb:Scan"))));
    assert!(rep
        .resources
        .iter()
        .any(|r| r.logical_id == "Dashboard" && r.action == ResourceAction::Removed));
    assert_eq!(rep.params.len(), 1);
    assert_eq!(rep.params[0].name, ids::P_USER_POOL_ID);
    assert_eq!(rep.code.len(), 1);
    assert_eq!(rep.code[0].new, "code/b.zip");
    assert!(cfn_plan::iam::widens(&rep.iam));
    assert_eq!(rep.to_json()["differences"], json!(true));
}

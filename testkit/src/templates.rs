//! The synthesized template and the changes the plan and diff tests show
//! (a widening, a key schema change, a code change, ...).

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The synthesized template of the default stage, as deployed.
pub fn template() -> Value {
    stack::synth(&stack::StackOptions::default())
        .unwrap()
        .to_json_value()
}

/// One parameter set: the session persistence code key and the user pool.
pub fn params(code: &str, pool: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("SessionPersistenceCodeKey".to_string(), code.to_string()),
        ("UserPoolId".to_string(), pool.to_string()),
    ])
}

/// The template with `dynamodb:Scan` added to the session persistence
/// role (a widening) and the sessions table keyed on `userId` alone (a
/// replacement).
pub fn widened_and_rekeyed() -> Value {
    let mut new = template();
    new["Resources"]["SessionPersistenceRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap()
        .push("dynamodb:Scan".into());
    new["Resources"]["SessionsTable"]["Properties"]["KeySchema"] =
        json!([{"AttributeName": "userId", "KeyType": "HASH"}]);
    new
}

/// The template with the sessions table's hash key renamed (a replacement),
/// a memory size, `dynamodb:Scan` for the context manager role (a
/// widening), and the dashboard removed.
pub fn many_changes() -> Value {
    let mut new = template();
    new["Resources"]["SessionsTable"]["Properties"]["KeySchema"][0]["AttributeName"] =
        json!("userId");
    new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] = json!(512);
    new["Resources"]["ContextManagerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"][0]["Action"]
        .as_array_mut()
        .unwrap()
        .push(json!("dynamodb:Scan"));
    new["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("Dashboard");
    new
}

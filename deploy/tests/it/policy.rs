//! The deployer policy is scoped to the stage's names.

use deploy::deployer_policy::policy;
use serde_json::Value;

fn actions(doc: &Value) -> Vec<String> {
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scoped_to_the_stage_names_with_no_wildcard_action() {
    let doc = policy(Some("qa"), "111122223333", "eu-west-1").unwrap();
    let text = doc.to_string();
    assert!(text.contains("table/voice-learning-sessions-qa"), "{text}");
    assert!(
        text.contains("role/voice-learning-session-persistence-role-qa") || text.contains("-qa")
    );
    assert!(
        !text.contains("table/voice-learning-sessions\""),
        "unstaged table in {text}"
    );
    for a in actions(&doc) {
        assert!(!a.contains('*'), "wildcard action {a}");
    }
    // Wildcard resources only where IAM cannot scope.
    for st in doc["Statement"].as_array().unwrap() {
        if st["Resource"] == "*" {
            assert!(
                ["WhoAmIAndAccountSettings", "ApiAccessLogDelivery"]
                    .contains(&st["Sid"].as_str().unwrap()),
                "{st}"
            );
        }
    }
}

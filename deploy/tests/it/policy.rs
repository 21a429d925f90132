//! The deployer policy is scoped to the stage's names.

use deploy::deployer_policy::policy;
use serde_json::Value;

fn actions(doc: &Value) -> Vec<String> {
    testkit::policy_actions(doc)
}

#[test]
fn scoped_to_the_stage_names_with_no_wildcard_action() {
    let doc = policy(Some("qa"), "111122223333", "eu-west-1").unwrap();
    let text = doc.to_string();
    assert!(text.contains("table/voice-learning-sessions-qa"), "{text}");
    assert!(
        text.contains("role/voice-learning-session-persistence-role-qa"),
        "{text}"
    );
    assert!(
        !text.contains("role/voice-learning-session-persistence-role\""),
        "unstaged role in {text}"
    );
    assert!(
        !text.contains("table/voice-learning-sessions\""),
        "unstaged table in {text}"
    );
    for a in actions(&doc) {
        assert!(!a.contains('*'), "wildcard action {a}");
    }
    // `stages`, `outputs` and `deploy --hotswap` are covered too.
    for a in [
        "cloudformation:ListStacks",
        "lambda:UpdateFunctionCode",
        "lambda:GetFunctionConfiguration",
    ] {
        assert!(actions(&doc).iter().any(|x| x == a), "{a} missing");
    }
    // Wildcard resources only where IAM cannot scope.
    for st in doc["Statement"].as_array().unwrap() {
        if st["Resource"] == "*" {
            assert!(
                [
                    "WhoAmIAndAccountSettings",
                    "ApiAccessLogDelivery",
                    "BackupStorageForTheVault"
                ]
                .contains(&st["Sid"].as_str().unwrap()),
                "{st}"
            );
        }
    }
    // Each role is passed only to the service that assumes it.
    let passes: Vec<(String, String)> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"] == serde_json::json!(["iam:PassRole"]))
        .flat_map(|s| {
            let to = s["Condition"]["StringEquals"]["iam:PassedToService"]
                .as_str()
                .unwrap()
                .to_string();
            s["Resource"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| (r.as_str().unwrap().to_string(), to.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    for (role, to) in &passes {
        let expected = if role.contains("backup") {
            "backup.amazonaws.com"
        } else {
            "lambda.amazonaws.com"
        };
        assert_eq!(to, expected, "{role}");
    }
    assert_eq!(passes.len(), 3, "{passes:?}");
    assert!(text.contains("budgets:ModifyBudget"), "{text}");
}

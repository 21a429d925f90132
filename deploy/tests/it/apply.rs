//! The deploy flow's decisions: what the stack's state allows, and the outputs.

use aws_sdk_cloudformation::types::StackStatus;
use deploy::outputs::finish_outputs;
use deploy::report::Captured;
use deploy::stack_state::ordered_outputs;
use deploy::stack_state::{stack_action, StackAction};
use serde_json::Value;

#[test]
fn stack_state_decides_the_action() {
    let act = |s: Option<StackStatus>| stack_action("S", s.as_ref(), "us-east-1");
    assert_eq!(act(None).unwrap(), StackAction::Create);
    assert_eq!(
        act(Some(StackStatus::ReviewInProgress)).unwrap(),
        StackAction::Create
    );
    assert_eq!(
        act(Some(StackStatus::UpdateRollbackComplete)).unwrap(),
        StackAction::Update
    );
    assert_eq!(
        act(Some(StackStatus::RollbackComplete)).unwrap(),
        StackAction::RecreateAfterRollback
    );
    let e = act(Some(StackStatus::UpdateRollbackFailed))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("aws cloudformation continue-update-rollback --stack-name S --region us-east-1"),
        "{e}"
    );
    let e = act(Some(StackStatus::UpdateInProgress))
        .unwrap_err()
        .to_string();
    assert!(e.contains("busy"), "{e}");
}

#[test]
fn outputs_are_printed_http_api_url_first_and_written_as_json() {
    let mut report = Captured::default();
    let path = std::env::temp_dir().join(format!("xtask-outputs-test-{}.json", std::process::id()));
    let outputs = vec![
        (
            "SessionsTableName".to_string(),
            "voice-learning-sessions".to_string(),
        ),
        (
            "HttpApiUrl".to_string(),
            "https://abc.execute-api.eu-west-1.amazonaws.com".to_string(),
        ),
    ];
    finish_outputs(&mut report, Some(&path), "S", &outputs).unwrap();
    let text = report.text();
    assert!(
        text.find("HttpApiUrl =").unwrap() < text.find("SessionsTableName =").unwrap(),
        "{text}"
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        written["S"]["HttpApiUrl"],
        "https://abc.execute-api.eu-west-1.amazonaws.com"
    );
    let keys: Vec<&String> = written["S"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["HttpApiUrl", "SessionsTableName"]);
    // No outputs: a warning, still a (empty) file, no error.
    finish_outputs(&mut report, Some(&path), "S", &[]).unwrap();
    assert!(
        report.text().contains("warning: S reports no outputs"),
        "{}",
        report.text()
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        "{\n  \"S\": {}\n}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn http_api_url_is_the_first_output() {
    let o = ordered_outputs(&[
        ("A".into(), "1".into()),
        ("HttpApiUrl".into(), "u".into()),
        ("B".into(), "2".into()),
    ]);
    assert_eq!(o[0].0, "HttpApiUrl");
    assert_eq!(o[1].0, "A");
}

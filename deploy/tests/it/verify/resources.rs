//! The stack's resources, every page.

use deploy::verify::check::Outcome;
use deploy::verify::resources::read;

#[tokio::test]
async fn every_page_is_read_and_resources_without_an_id_are_absent() {
    let replay = crate::support::verify_replay("stack-resources-two-pages.json");
    let cfn = aws_sdk_cloudformation::Client::new(&replay.sdk_config().await);
    let r = read(&cfn, "VoiceLearningAssistantStack").await.unwrap();
    // SessionsTable is on the first page, HttpApi on the second.
    assert_eq!(
        r.physical_id("SessionsTable"),
        Some("voice-learning-sessions")
    );
    assert_eq!(r.physical_id("HttpApi"), Some("a1b2c3d4e5"));
    assert_eq!(
        r.physical_id("AlarmTopic"),
        None,
        "not created: no physical id"
    );
    let calls = replay.requests("ListStackResources");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1].contains("NextToken=page-2"), "{calls:?}");
}

#[tokio::test]
async fn a_missing_stack_says_deploy_and_a_denied_call_cannot_check() {
    let replay = crate::support::verify_replay("stack-missing.json");
    let cfn = aws_sdk_cloudformation::Client::new(&replay.sdk_config().await);
    let c = read(&cfn, "VoiceLearningAssistantStack").await.unwrap_err();
    assert_eq!(c.outcome, Outcome::Fail);
    assert!(c.detail.contains("cargo xtask deploy"), "{c:?}");

    let replay = crate::support::verify_replay("stack-denied.json");
    let cfn = aws_sdk_cloudformation::Client::new(&replay.sdk_config().await);
    let c = read(&cfn, "VoiceLearningAssistantStack").await.unwrap_err();
    assert_eq!(c.outcome, Outcome::CannotCheck, "{c:?}");
    assert!(
        c.detail
            .starts_with("cannot check: cloudformation:ListStackResources denied"),
        "{c:?}"
    );
}

//! The stack's key: found by id, described, its rotation.

use deploy::verify::check::Outcome;
use deploy::verify::key::{key_id_of_arn, verify_key, StackKey};
use testkit::replay::Replay;

const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn a_key_matches_its_arn_and_nothing_else() {
    let by_id = StackKey::from_physical_id("1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_eq!(by_id.arn, None);
    assert!(by_id.matches(ARN));
    assert!(!by_id
        .matches("arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab"));
    assert!(!by_id.matches(""));
    let by_arn = StackKey::from_physical_id(ARN);
    assert_eq!(by_arn.id, "1234abcd-12ab-34cd-56ef-1234567890ab");
    assert!(by_arn.matches(ARN));
    // Same id in another account is another key once the ARN is known.
    assert!(!by_arn
        .matches("arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
    assert_eq!(key_id_of_arn("alias/aws/dynamodb"), None);
}

#[tokio::test]
async fn the_key_arn_comes_from_describe_key_and_odd_answers_fail_by_status() {
    let json = serde_json::json!({"content-type": "application/x-amz-json-1.1"});
    let replay = Replay::from_json(&serde_json::json!({"responses": [
        {"operation": "DescribeKey", "headers": json, "body": {"KeyMetadata": {
            "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": ARN,
            "KeyManager": "CUSTOMER", "KeyState": "Enabled", "Enabled": true}}},
        {"operation": "GetKeyRotationStatus", "headers": json, "body": {"KeyRotationEnabled": false}},
    ]}));
    let kms = aws_sdk_kms::Client::new(&replay.sdk_config().await);
    let (key, checks) = verify_key(&kms, "1234abcd-12ab-34cd-56ef-1234567890ab").await;
    assert_eq!(key.unwrap().arn.as_deref(), Some(ARN));
    assert_eq!(checks[0].outcome, Outcome::Ok, "{checks:?}");
    assert_eq!(checks[1].outcome, Outcome::Fail, "rotation off: {checks:?}");

    // An answer that is not an AWS error (moto's crash page) is a FAIL
    // with the HTTP status, not "denied".
    let replay = Replay::from_json(&serde_json::json!({"responses": [
        {"operation": "DescribeKey", "status": 500, "headers": {"content-type": "text/html"},
         "body": "<!doctype html><title>500 Internal Server Error</title>"},
    ]}));
    let kms = aws_sdk_kms::Client::new(&replay.sdk_config().await);
    let (key, checks) = verify_key(&kms, "1234abcd-12ab-34cd-56ef-1234567890ab").await;
    assert_eq!(key.unwrap().arn, None, "compared by id from here on");
    assert_eq!(checks[0].outcome, Outcome::Fail);
    assert!(
        checks[0]
            .detail
            .contains("kms:DescribeKey failed: HTTP 500 without an AWS error code"),
        "{checks:?}"
    );
}

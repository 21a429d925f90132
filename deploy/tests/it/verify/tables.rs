//! Tables: key schema, SSE with the stack's key, TTL, PITR, on recorded answers.

use aws_sdk_dynamodb::types::{
    ContinuousBackupsDescription, ContinuousBackupsStatus, PointInTimeRecoveryStatus,
    SseDescription, SseStatus, SseType, TimeToLiveDescription, TimeToLiveStatus,
};
use deploy::verify::check::{Check, Outcome};
use deploy::verify::key::StackKey;
use deploy::verify::tables::{modelled, pitr_check, sse_check, ttl_check, verify_table};
use stack::resources::Table;
use testkit::replay::Replay;

const STACK_KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn sessions_model() -> Table {
    let template = stack::synth(&stack::StackOptions::default()).unwrap();
    let (_, model) = modelled(&template)
        .find(|(_, t)| t.table_name == "voice-learning-sessions")
        .unwrap();
    model.clone()
}

/// Runs every table check against a recorded account.
async fn checks(fixture: &str, key: &StackKey) -> (Vec<Check>, Replay) {
    let replay = crate::support::verify_replay(fixture);
    let conf = replay.sdk_config().await;
    let out = verify_table(
        &aws_sdk_dynamodb::Client::new(&conf),
        &aws_sdk_kms::Client::new(&conf),
        "voice-learning-sessions",
        &sessions_model(),
        Some(key),
    )
    .await;
    (out, replay)
}

fn find<'a>(checks: &'a [Check], suffix: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name.ends_with(suffix))
        .unwrap_or_else(|| panic!("no check ending {suffix:?} in {checks:#?}"))
}

fn stack_key() -> StackKey {
    StackKey {
        id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        arn: Some(STACK_KEY.into()),
    }
}

#[tokio::test]
async fn sse_with_the_stack_key_is_ok() {
    let (c, replay) = checks("table-sse-stack-key.json", &stack_key()).await;
    assert!(c.iter().all(Check::is_ok), "{c:#?}");
    assert_eq!(c.len(), 6, "{c:#?}");
    assert_eq!(find(&c, "SSE with the stack's key").detail, STACK_KEY);
    // The key is the stack's: nobody asked KMS who manages it.
    assert!(replay.requests("DescribeKey").is_empty());
    // Also when the stack key is known by id only (DescribeKey denied).
    let by_id = StackKey {
        id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        arn: None,
    };
    let (c, _) = checks("table-sse-stack-key.json", &by_id).await;
    assert!(find(&c, "SSE with the stack's key").is_ok(), "{c:#?}");
}

#[tokio::test]
async fn sse_with_the_aws_managed_key_fails() {
    let (c, replay) = checks("table-sse-aws-managed-key.json", &stack_key()).await;
    let sse = find(&c, "SSE with the stack's key");
    assert_eq!(sse.outcome, Outcome::Fail, "{sse:?}");
    assert!(
        sse.detail.contains("the AWS managed key (aws/dynamodb)") && sse.detail.contains(STACK_KEY),
        "{sse:?}"
    );
    assert_eq!(replay.requests("DescribeKey").len(), 1);
    // Exactly that check fails.
    let not_ok: Vec<&str> = c
        .iter()
        .filter(|c| !c.is_ok())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        not_ok,
        vec!["table voice-learning-sessions SSE with the stack's key"]
    );
}

#[tokio::test]
async fn sse_with_another_key_fails_even_when_kms_cannot_say_whose() {
    let (c, _) = checks("table-sse-other-key.json", &stack_key()).await;
    let sse = find(&c, "SSE with the stack's key");
    assert_eq!(sse.outcome, Outcome::Fail, "{sse:?}");
    assert!(
        sse.detail
            .contains("another key arn:aws:kms:us-east-1:111122223333:key/99999999"),
        "{sse:?}"
    );
}

#[tokio::test]
async fn ttl_enabling_is_pending_not_failed_or_ok() {
    let (c, _) = checks("table-ttl-enabling.json", &stack_key()).await;
    let ttl = find(&c, "TTL on expiresAt");
    assert_eq!(ttl.outcome, Outcome::Pending, "{ttl:?}");
    assert!(ttl.detail.contains("ENABLING"), "{ttl:?}");
    assert_eq!(c.iter().filter(|c| !c.is_ok()).count(), 1, "{c:#?}");
}

#[tokio::test]
async fn access_denied_is_cannot_check_not_off() {
    let (c, _) = checks("table-ttl-pitr-denied.json", &stack_key()).await;
    let ttl = find(&c, "TTL on expiresAt");
    assert_eq!(ttl.outcome, Outcome::CannotCheck, "{ttl:?}");
    assert!(
        ttl.detail
            .starts_with("cannot check: dynamodb:DescribeTimeToLive denied"),
        "{ttl:?}"
    );
    let pitr = find(&c, "point-in-time recovery");
    assert_eq!(pitr.outcome, Outcome::CannotCheck, "{pitr:?}");
    assert!(
        pitr.detail
            .starts_with("cannot check: dynamodb:DescribeContinuousBackups denied"),
        "{pitr:?}"
    );
    // The table itself could be read: SSE is still judged.
    assert!(find(&c, "SSE with the stack's key").is_ok(), "{c:#?}");
}

#[tokio::test]
async fn describe_table_denied_leaves_its_checks_unknown_and_still_reads_ttl() {
    let (c, _) = checks("table-describe-denied.json", &stack_key()).await;
    let unknown: Vec<&str> = c
        .iter()
        .filter(|c| c.outcome == Outcome::CannotCheck)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        unknown,
        vec![
            "table voice-learning-sessions exists",
            "table voice-learning-sessions key schema",
            "table voice-learning-sessions SSE with the stack's key"
        ]
    );
    assert!(find(&c, "TTL on expiresAt").is_ok());
    assert!(find(&c, "point-in-time recovery").is_ok());
}

#[test]
fn statuses_are_judged_from_the_typed_enums() {
    let ttl = |s: TimeToLiveStatus, a: &str| {
        ttl_check(
            "t",
            Some(
                &TimeToLiveDescription::builder()
                    .time_to_live_status(s)
                    .attribute_name(a)
                    .build(),
            ),
            "expiresAt",
        )
        .outcome
    };
    assert_eq!(ttl(TimeToLiveStatus::Enabled, "expiresAt"), Outcome::Ok);
    assert_eq!(
        ttl(TimeToLiveStatus::Enabling, "expiresAt"),
        Outcome::Pending
    );
    assert_eq!(ttl(TimeToLiveStatus::Enabled, "ttl"), Outcome::Fail);
    assert_eq!(ttl(TimeToLiveStatus::Enabling, "ttl"), Outcome::Fail);
    assert_eq!(ttl(TimeToLiveStatus::Disabling, "expiresAt"), Outcome::Fail);
    assert_eq!(ttl(TimeToLiveStatus::Disabled, "expiresAt"), Outcome::Fail);
    assert_eq!(ttl_check("t", None, "expiresAt").outcome, Outcome::Fail);

    let sse = |s: SseStatus, t: SseType| {
        sse_check(
            "t",
            Some(
                &SseDescription::builder()
                    .status(s)
                    .sse_type(t)
                    .kms_master_key_arn(STACK_KEY)
                    .build(),
            ),
            Some(&stack_key()),
            None,
        )
        .outcome
    };
    assert_eq!(sse(SseStatus::Enabled, SseType::Kms), Outcome::Ok);
    assert_eq!(sse(SseStatus::Updating, SseType::Kms), Outcome::Pending);
    assert_eq!(sse(SseStatus::Enabling, SseType::Kms), Outcome::Pending);
    assert_eq!(sse(SseStatus::Disabled, SseType::Kms), Outcome::Fail);
    assert_eq!(sse(SseStatus::Enabled, SseType::Aes256), Outcome::Fail);
    let owned = sse_check("t", None, Some(&stack_key()), None);
    assert_eq!(owned.outcome, Outcome::Fail);
    assert!(owned.detail.contains("AWS owned key"), "{owned:?}");

    let pitr = |s: PointInTimeRecoveryStatus| {
        pitr_check(
            "t",
            Some(
                &ContinuousBackupsDescription::builder()
                    .continuous_backups_status(ContinuousBackupsStatus::Enabled)
                    .point_in_time_recovery_description(
                        aws_sdk_dynamodb::types::PointInTimeRecoveryDescription::builder()
                            .point_in_time_recovery_status(s)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ),
        )
        .outcome
    };
    assert_eq!(pitr(PointInTimeRecoveryStatus::Enabled), Outcome::Ok);
    assert_eq!(pitr(PointInTimeRecoveryStatus::Disabled), Outcome::Fail);
    assert_eq!(
        pitr(PointInTimeRecoveryStatus::from("ENABLING")),
        Outcome::Pending
    );
    assert_eq!(pitr_check("t", None).outcome, Outcome::Fail);
}

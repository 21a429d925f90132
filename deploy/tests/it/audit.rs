//! `audit` on recorded CloudTrail answers through the real SDK (no emulator
//! serves LookupEvents): each flagged pattern, what is expected and not
//! flagged, pagination and one event found under two names, and the empty
//! case.

use deploy::audit::{audit_at, FindingKind};
use serde_json::{json, Value};
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const NOW: i64 = 1_796_000_000;
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const ROLE: &str = "arn:aws:iam::123456789012:role/voice-learning-context-manager-role";

/// ListStackResources as CloudFormation answers it (XML).
fn stack_resources() -> Value {
    let rows = [
        ("DataKey", KEY_ID, "AWS::KMS::Key"),
        (
            "SessionsTable",
            "voice-learning-sessions",
            "AWS::DynamoDB::Table",
        ),
        (
            "UserProfilesTable",
            "voice-learning-user-profiles",
            "AWS::DynamoDB::Table",
        ),
        (
            "SessionPersistenceFunction",
            "voice-learning-session-persistence",
            "AWS::Lambda::Function",
        ),
        (
            "ContextManagerFunction",
            "voice-learning-context-manager",
            "AWS::Lambda::Function",
        ),
        (
            "SessionPersistenceRole",
            "voice-learning-session-persistence-role",
            "AWS::IAM::Role",
        ),
        (
            "ContextManagerRole",
            "voice-learning-context-manager-role",
            "AWS::IAM::Role",
        ),
    ];
    let members: String = rows
        .iter()
        .map(|(l, p, t)| format!("<member><LogicalResourceId>{l}</LogicalResourceId><PhysicalResourceId>{p}</PhysicalResourceId><ResourceType>{t}</ResourceType><LastUpdatedTimestamp>2026-01-01T00:00:00.000Z</LastUpdatedTimestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>"))
        .collect();
    json!({"operation": "ListStackResources", "headers": {"content-type": "text/xml"},
        "body": format!("<ListStackResourcesResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><ListStackResourcesResult><StackResourceSummaries>{members}</StackResourceSummaries></ListStackResourcesResult></ListStackResourcesResponse>")})
}

/// One LookupEvents event: `identity` is the record's userIdentity.
fn event(
    id: &str,
    source: &str,
    name: &str,
    at: i64,
    identity: Value,
    error: Option<&str>,
) -> Value {
    let mut record = json!({"eventVersion": "1.09", "userIdentity": identity, "eventTime": "", "eventSource": source, "eventName": name, "awsRegion": "us-east-1"});
    if let Some(e) = error {
        record["errorCode"] = json!(e);
    }
    json!({"EventId": id, "EventName": name, "ReadOnly": "false", "EventTime": at as f64, "EventSource": source,
        "Resources": [], "CloudTrailEvent": record.to_string()})
}

fn page(events: Vec<Value>, next: Option<&str>) -> Value {
    let mut body = json!({"Events": events});
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    json!({"operation": "LookupEvents", "headers": {"content-type": "application/x-amz-json-1.1"}, "body": body})
}

fn role_session(role: &str, via: Option<&str>) -> Value {
    let mut id = json!({"type": "AssumedRole", "arn": format!("{role}/session"),
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role}}});
    if let Some(v) = via {
        id["invokedBy"] = json!(v);
    }
    id
}

fn user(name: &str) -> Value {
    json!({"type": "IAMUser", "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}")})
}

fn run(responses: Vec<Value>) -> (deploy::audit::Audit, testkit::replay::Replay) {
    let replay = testkit::replay::Replay::from_json(&json!({ "responses": responses }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let aws = deploy::aws::Aws::from_conf(rt.block_on(replay.sdk_config()), ACCOUNT);
    let a = rt
        .block_on(audit_at(&aws, None, Duration::from_secs(86_400), NOW))
        .expect("audit");
    (a, replay)
}

/// The stack has 9 names to look up (key, 2 tables by name and ARN, 2
/// functions, 2 roles): `first` answers the first, the rest are empty.
fn lookups(first: Vec<Value>) -> Vec<Value> {
    let mut out = vec![stack_resources()];
    let n = first.len();
    out.extend(first);
    out.extend((n..10).map(|_| page(vec![], None)));
    out
}

#[test]
fn each_pattern_is_flagged_and_the_expected_calls_are_not() {
    let t = NOW - 3600;
    let dynamodb_use = event(
        "e1",
        "kms.amazonaws.com",
        "Decrypt",
        t,
        role_session(ROLE, Some("dynamodb.amazonaws.com")),
        None,
    );
    let mut first = vec![
        dynamodb_use.clone(),
        event(
            "e2",
            "kms.amazonaws.com",
            "Decrypt",
            t + 1,
            json!({"type": "AWSService", "invokedBy": "logs.amazonaws.com"}),
            None,
        ),
        event(
            "e3",
            "kms.amazonaws.com",
            "Decrypt",
            t + 2,
            user("mallory"),
            None,
        ),
        event(
            "e4",
            "kms.amazonaws.com",
            "PutKeyPolicy",
            t + 3,
            user("alice"),
            None,
        ),
        event(
            "e5",
            "iam.amazonaws.com",
            "PutRolePolicy",
            t + 4,
            role_session(
                "arn:aws:iam::123456789012:role/deployer",
                Some("cloudformation.amazonaws.com"),
            ),
            None,
        ),
    ];
    for i in 0..5 {
        first.push(event(
            &format!("d{i}"),
            "dynamodb.amazonaws.com",
            "DescribeTable",
            t + 10 + i,
            user("eve"),
            Some("AccessDenied"),
        ));
    }
    for i in 0..4 {
        first.push(event(
            &format!("f{i}"),
            "kms.amazonaws.com",
            "Decrypt",
            t + 20 + i,
            user("frank"),
            Some("AccessDeniedException"),
        ));
    }
    // Two pages for the key, then the same event again under a table's name.
    let responses = {
        let mut r = vec![
            stack_resources(),
            page(first[..7].to_vec(), Some("next")),
            page(first[7..].to_vec(), None),
        ];
        r.push(page(vec![dynamodb_use], None));
        r.extend((0..8).map(|_| page(vec![], None)));
        r
    };
    let (a, replay) = run(responses);
    assert_eq!(a.events, 14, "each event once: {:#?}", a.principals);
    let kinds: Vec<(FindingKind, &str)> = a
        .findings
        .iter()
        .map(|f| (f.kind, f.principal.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                FindingKind::KeyUsedByOtherPrincipal,
                "arn:aws:iam::123456789012:user/mallory"
            ),
            (
                FindingKind::ChangedOutsideTheStack,
                "arn:aws:iam::123456789012:user/alice"
            ),
            (
                FindingKind::AccessDeniedBurst,
                "arn:aws:iam::123456789012:user/eve"
            ),
        ],
        "{:#?}",
        a.findings
    );
    assert!(
        a.findings[1].detail.contains("cargo xtask deploy"),
        "{:#?}",
        a.findings[1]
    );
    let role = a
        .principals
        .iter()
        .find(|p| p.principal == ROLE)
        .expect("the role's calls");
    assert_eq!(role.actions["kms:Decrypt"], 1);
    let frank = a
        .principals
        .iter()
        .find(|p| p.principal.ends_with("user/frank"))
        .unwrap();
    assert_eq!(frank.denied, 4, "below the burst: summarised, not flagged");
    assert!(a.not_covered[0].contains("data events"));
    // The lookups: the key by ARN first, each within the window.
    let calls = replay.requests("LookupEvents");
    assert_eq!(calls.len(), 10, "9 names, the key's in two pages");
    assert!(
        calls[0].contains(&format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}")),
        "{}",
        calls[0]
    );
    assert!(
        calls[0].contains(&format!("\"StartTime\":{}", NOW - 86_400)),
        "{}",
        calls[0]
    );
    assert!(calls[1].contains("\"NextToken\":\"next\""), "{}", calls[1]);
    assert!(calls
        .iter()
        .any(|c| c.contains("\"AttributeValue\":\"voice-learning-context-manager-role\"")));
}

#[test]
fn no_events_is_an_empty_report_that_still_names_what_it_cannot_see() {
    let (a, _) = run(lookups(vec![]));
    assert_eq!(a.events, 0);
    assert!(a.principals.is_empty() && a.findings.is_empty());
    assert_eq!(a.not_covered.len(), 1);
    assert_eq!(a.stack, "VoiceLearningAssistantStack");
}

#[test]
fn more_than_ninety_days_is_refused_before_aws_is_asked() {
    let replay = testkit::replay::Replay::from_json(&json!({ "responses": [] }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let aws = deploy::aws::Aws::from_conf(rt.block_on(replay.sdk_config()), ACCOUNT);
    let e = rt
        .block_on(audit_at(&aws, None, Duration::from_secs(91 * 86_400), NOW))
        .unwrap_err()
        .to_string();
    assert!(e.contains("90 days"), "{e}");
    assert!(replay.requests("ListStackResources").is_empty());
}

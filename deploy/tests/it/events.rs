//! Progress from recorded stack events, and polling through outages.

use crate::support::{recording, Replay};
use aws_sdk_cloudformation::types::StackStatus;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use deploy::events::{explain_status, is_settled, Operation, Outcome, Poll, Progress};
use deploy::report::Captured;
use deploy::watch::{watch, watch_with, Clock, Pacing, PollError, StackSource};
use std::future::Future;
use std::time::{Duration, Instant};

fn run(name: &str, op: Operation) -> (Outcome, String) {
    let (rec, mut replay) = recording(name);
    let since = DateTime::from_str(&rec.started_at, Format::DateTime)
        .unwrap()
        .as_secs_f64();
    let mut progress = Progress::new(&rec.before.stack_events, since, Some(3));
    progress.changed_before = rec.changed_before.clone();
    let mut report = Captured::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt
        .block_on(watch(
            &mut replay,
            &mut report,
            &mut progress,
            op,
            Duration::ZERO,
        ))
        .unwrap();
    let text = report.text();
    (outcome, text)
}

#[test]
fn successful_create_shows_each_new_event_once_with_elapsed_time() {
    let (out, text) = run("events-create-success.json", Operation::Create);
    assert!(out.success, "{out:?}");
    assert_eq!(out.final_status, StackStatus::CreateComplete);
    assert!(out.root_cause.is_none());
    // Old events (a previous REVIEW_IN_PROGRESS) are not shown.
    assert!(!text.contains("REVIEW_IN_PROGRESS"), "{text}");
    // Every event once, even though each poll repeats the earlier ones.
    let lines = |a: &str, b: &str| {
        text.lines()
            .filter(|l| l.contains(a) && l.contains(b))
            .count()
    };
    assert_eq!(lines("CREATE_COMPLETE", "SessionsTable"), 1, "{text}");
    assert_eq!(lines("CREATE_IN_PROGRESS", "SessionsTable"), 1, "{text}");
    // Elapsed time since the operation started, oldest first.
    assert_eq!(lines(" 0.6s", "CREATE_IN_PROGRESS"), 1, "{text}");
    assert_eq!(lines("21.4s", "AWS::CloudFormation::Stack"), 1, "{text}");
    let pos = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap();
    assert!(
        pos("0.6s") < pos("12.0s") && pos("12.0s") < pos("21.4s"),
        "{text}"
    );
    assert!(text.contains("[ 3/3]"), "{text}");
}

#[test]
fn failed_create_names_the_root_cause_and_waits_for_the_rollback() {
    let (out, text) = run("events-create-failed-rollback.json", Operation::Create);
    assert!(!out.success);
    assert_eq!(out.final_status, StackStatus::RollbackComplete);
    let cause = out.root_cause.expect("root cause");
    assert_eq!(cause.logical_resource_id, "SessionPersistenceFunction");
    assert!(cause.resource_status_reason.unwrap().contains("NoSuchKey"));
    // The cause is announced before the rollback events, once.
    let announce = text
        .find("✗ SessionPersistenceFunction (AWS::Lambda::Function) failed")
        .expect(&text);
    assert_eq!(text.matches("✗ ").count(), 1, "{text}");
    assert!(
        text.contains("waiting for CloudFormation to roll back"),
        "{text}"
    );
    let rollback = text.find("ROLLBACK_COMPLETE").unwrap();
    assert!(announce < rollback, "{text}");
    // The cancelled sibling is shown but is not the cause.
    assert!(text.contains("Resource creation cancelled"), "{text}");
    let msg = explain_status(
        "VoiceLearningAssistantStack",
        &out.final_status,
        "us-east-1",
    );
    assert!(msg.contains("deletes the rolled-back stack first"), "{msg}");
}

#[test]
fn update_rollback_failed_is_explained_with_the_continue_command() {
    let (out, text) = run("events-update-rollback-failed.json", Operation::Update);
    assert!(!out.success);
    assert_eq!(out.final_status, StackStatus::UpdateRollbackFailed);
    let cause = out.root_cause.expect("cause");
    assert_eq!(cause.logical_resource_id, "ContextManagerFunction");
    assert!(text.contains("UPDATE_ROLLBACK_IN_PROGRESS"), "{text}");
    let msg = explain_status(
        "VoiceLearningAssistantStack",
        &out.final_status,
        "eu-west-1",
    );
    assert!(
        msg.contains("aws cloudformation continue-update-rollback --stack-name VoiceLearningAssistantStack --region eu-west-1"),
        "{msg}"
    );
}

#[test]
fn the_previous_settled_status_right_after_execute_is_not_the_end() {
    // The first poll still shows the old UPDATE_COMPLETE and no new event.
    let (out, text) = run("events-update-stale-status.json", Operation::Update);
    assert!(out.success);
    assert!(
        text.contains("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        "{text}"
    );
    let lines = |a: &str, b: &str| {
        text.lines()
            .filter(|l| l.contains(a) && l.contains(b))
            .count()
    };
    assert_eq!(
        lines("UPDATE_COMPLETE", "SessionPersistenceFunction"),
        1,
        "{text}"
    );
    assert_eq!(lines(" 6.0s", "AWS::CloudFormation::Stack"), 1, "{text}");
}

/// CloudFormation can take several polls to start an update; until the
/// stack's change time moves, its old UPDATE_COMPLETE is not this update's.
#[test]
fn a_stale_settled_status_is_not_taken_for_the_updates_outcome() {
    let (out, text) = run("events-update-slow-start.json", Operation::Update);
    assert!(out.success, "{out:?}");
    assert_eq!(
        lines_with(&text, "UPDATE_COMPLETE", "SessionPersistenceFunction"),
        1,
        "the update's own events were watched to the end: {text}"
    );
}

fn lines_with(text: &str, a: &str, b: &str) -> usize {
    text.lines()
        .filter(|l| l.contains(a) && l.contains(b))
        .count()
}

#[test]
fn delete_that_makes_the_stack_disappear_is_success() {
    let (out, text) = run("events-delete.json", Operation::Delete);
    assert!(out.success, "{out:?}");
    assert!(text.contains("DELETE_SKIPPED"), "{text}");
    assert!(text.contains("SessionsTable"), "{text}");
}

// ------------------------------------------------ polling through outages

use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsError;
use aws_smithy_types::body::SdkBody;
use std::collections::VecDeque;

/// Never waits: sleeping only moves its time on, and is recorded.
struct FakeClock {
    start: Instant,
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl FakeClock {
    fn new() -> Self {
        FakeClock {
            start: Instant::now(),
            elapsed: Duration::ZERO,
            sleeps: vec![],
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed
    }
    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()> {
        self.elapsed += d;
        if !d.is_zero() {
            self.sleeps.push(d);
        }
        std::future::ready(())
    }
}

type MakeError = fn() -> PollError;

/// A recording with failed polls injected: each `Some` in the script is
/// a failed poll, each `None` the next recorded page; after the script,
/// `then` (an endless outage) or the recording.
struct Flaky {
    replay: Replay,
    script: VecDeque<Option<MakeError>>,
    then: Option<MakeError>,
    polls: usize,
}

impl StackSource for Flaky {
    async fn poll(&mut self) -> Result<Poll, PollError> {
        self.polls += 1;
        match self.script.pop_front() {
            Some(Some(fail)) => Err(fail()),
            Some(None) => self.replay.poll().await,
            None => match self.then {
                Some(fail) => Err(fail()),
                None => self.replay.poll().await,
            },
        }
    }
    fn cli_args(&self) -> String {
        self.replay.cli_args()
    }
}

fn target() -> deploy::aws::Target {
    deploy::aws::Target {
        region: "eu-west-1".into(),
        endpoint_url: None,
    }
}

/// A service error as the SDK returns it, classified as the live source does.
fn service(code: &str, status: u16) -> PollError {
    let meta = ErrorMetadata::builder()
        .code(code)
        .message("from the service")
        .build();
    let e = SdkError::service_error(
        DescribeStackEventsError::generic(meta),
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty()),
    );
    PollError::from_sdk(e, "reading stack events", &target())
}
fn throttled() -> PollError {
    service("Throttling", 400)
}
fn unavailable() -> PollError {
    service("ServiceUnavailable", 503)
}
fn timed_out() -> PollError {
    let e: SdkError<DescribeStackEventsError, HttpResponse> =
        SdkError::timeout_error("operation attempt timed out");
    PollError::from_sdk(e, "reading stack events", &target())
}
fn connection_reset() -> PollError {
    let e: SdkError<DescribeStackEventsError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::io("connection reset by peer".into()));
    PollError::from_sdk(e, "reading stack events", &target())
}
fn access_denied() -> PollError {
    service("AccessDenied", 403)
}
fn validation() -> PollError {
    service("ValidationError", 400)
}

fn run_flaky(
    name: &str,
    op: Operation,
    script: Vec<Option<MakeError>>,
    then: Option<MakeError>,
) -> (deploy::Result<Outcome>, String, FakeClock, usize) {
    let (rec, replay) = recording(name);
    let since = DateTime::from_str(&rec.started_at, Format::DateTime)
        .unwrap()
        .as_secs_f64();
    let mut progress = Progress::new(&rec.before.stack_events, since, Some(3));
    let mut report = Captured::default();
    let mut src = Flaky {
        replay,
        script: script.into(),
        then,
        polls: 0,
    };
    let mut clock = FakeClock::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome = rt.block_on(watch_with(
        &mut src,
        &mut report,
        &mut progress,
        op,
        Pacing::new(Duration::from_secs(2)),
        &mut clock,
    ));
    let text = report.text();
    (outcome, text, clock, src.polls)
}

#[test]
fn transient_errors_between_pages_do_not_change_the_recorded_outcome() {
    let (plain, plain_text) = run("events-create-failed-rollback.json", Operation::Create);
    let s = Some(throttled as MakeError);
    let (out, text, clock, _) = run_flaky(
        "events-create-failed-rollback.json",
        Operation::Create,
        vec![
            s,
            None,
            Some(unavailable),
            Some(timed_out),
            Some(connection_reset),
            None,
            s,
            s,
            None,
        ],
        None,
    );
    let out = out.expect("transient errors are waited out");
    assert_eq!(out.final_status, plain.final_status);
    assert_eq!(out.final_status, StackStatus::RollbackComplete);
    assert!(!out.success);
    assert_eq!(
        out.root_cause.map(|c| c.logical_resource_id),
        plain.root_cause.map(|c| c.logical_resource_id)
    );
    // Told once that the operation goes on, with the command to watch it.
    assert_eq!(
        text.matches("still running in CloudFormation").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("aws cloudformation describe-stack-events --stack-name S --region eu-west-1"),
        "{text}"
    );
    // Apart from the outage notes, exactly the plain replay's output.
    let without_notes: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.starts_with("warning: ")
                && !l.contains("still running in CloudFormation")
                && !l.contains("CloudFormation answers again")
        })
        .collect();
    assert_eq!(
        without_notes,
        plain_text.lines().collect::<Vec<_>>(),
        "{text}"
    );
    // Backoff doubles while failing and starts over after a success; the
    // regular 2 s interval follows each successful poll but the last
    // (the recording has four pages).
    let secs: Vec<u64> = clock.sleeps.iter().map(|d| d.as_secs()).collect();
    assert_eq!(secs, vec![1, 2, 1, 2, 4, 2, 1, 2, 2], "{secs:?}");
    assert!(!text.contains("Stopped watching"), "{text}");
}

#[test]
fn throttling_during_a_successful_create_still_ends_in_success() {
    let t = Some(throttled as MakeError);
    let (out, text, _, _) = run_flaky(
        "events-create-success.json",
        Operation::Create,
        vec![t, t, t, None, t, None, t],
        None,
    );
    let out = out.unwrap();
    assert!(out.success, "{out:?}");
    assert_eq!(out.final_status, StackStatus::CreateComplete);
    assert!(text.contains("CloudFormation answers again"), "{text}");
}

#[test]
fn a_long_outage_stops_with_how_to_check_and_claims_no_failure() {
    let (out, text, clock, polls) = run_flaky(
        "events-create-success.json",
        Operation::Create,
        vec![None],
        Some(throttled),
    );
    let err = format!("{:#}", out.unwrap_err());
    assert!(err.contains("has not answered for 10 minutes"), "{err}");
    assert!(err.contains("may still be running"), "{err}");
    assert!(
        err.contains("aws cloudformation describe-stacks --stack-name S --region eu-west-1"),
        "{err}"
    );
    assert!(err.contains("Throttling"), "{err}");
    assert!(!err.to_lowercase().contains("deploy failed"), "{err}");
    assert!(!text.contains("✗"), "{text}");
    // Capped at 20 s; at least 10 minutes of (fake) time went by.
    let max = clock.sleeps.iter().max().unwrap();
    assert_eq!(*max, Duration::from_secs(20));
    assert_eq!(
        &clock.sleeps[1..6],
        &[1, 2, 4, 8, 16].map(Duration::from_secs)
    );
    assert!(
        clock.elapsed >= Duration::from_secs(600),
        "{:?}",
        clock.elapsed
    );
    assert!(polls < 40, "{polls}");
}

#[test]
fn a_non_transient_error_stops_at_once_with_its_sentence() {
    for (fail, sentence) in [
        (
            access_denied as MakeError,
            "Access denied while reading stack events",
        ),
        (validation, "reading stack events failed: ValidationError"),
    ] {
        let (out, _, clock, polls) = run_flaky(
            "events-create-success.json",
            Operation::Create,
            vec![None, Some(fail), None, None, None],
            None,
        );
        let err = format!("{:#}", out.unwrap_err());
        assert!(err.starts_with(sentence), "{err}");
        assert!(err.contains("may still be running"), "{err}");
        assert_eq!(polls, 2, "no poll after the error");
        // Only the regular interval after the first poll: no backoff.
        assert_eq!(clock.sleeps, vec![Duration::from_secs(2)]);
    }
}

#[test]
fn settled_statuses() {
    for s in [
        "CREATE_COMPLETE",
        "ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "DELETE_COMPLETE",
    ] {
        assert!(is_settled(&StackStatus::from(s)), "{s}");
    }
    for s in [
        "CREATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "",
    ] {
        assert!(!is_settled(&StackStatus::from(s)), "{s}");
    }
}

/// The recording, with each page answered `repeat` times (nothing new the
/// second time): a long quiet wait.
struct Quiet {
    replay: Replay,
    last: Option<Poll>,
    left: usize,
    repeat: usize,
    polls: usize,
}

impl StackSource for Quiet {
    async fn poll(&mut self) -> Result<Poll, PollError> {
        self.polls += 1;
        if self.left > 0 {
            if let Some(p) = &self.last {
                self.left -= 1;
                return Ok(p.clone());
            }
        }
        let p = self.replay.poll().await?;
        self.last = Some(p.clone());
        self.left = self.repeat;
        Ok(p)
    }
    fn cli_args(&self) -> String {
        self.replay.cli_args()
    }
}

#[test]
fn a_long_wait_without_new_events_says_it_is_still_running() {
    let (rec, replay) = recording("events-create-failed-rollback.json");
    let since = DateTime::from_str(&rec.started_at, Format::DateTime)
        .unwrap()
        .as_secs_f64();
    let mut progress = Progress::new(&rec.before.stack_events, since, Some(3));
    let mut report = Captured::default();
    // 20 quiet polls 2 s apart: 40 s without news after each page.
    let mut src = Quiet {
        replay,
        last: None,
        left: 0,
        repeat: 20,
        polls: 0,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcome = rt
        .block_on(watch_with(
            &mut src,
            &mut report,
            &mut progress,
            Operation::Create,
            Pacing::new(Duration::from_secs(2)),
            &mut FakeClock::new(),
        ))
        .unwrap();
    let text = report.text();
    assert!(!outcome.success);
    let beats: Vec<&str> = text.lines().filter(|l| l.contains("… still")).collect();
    assert!(!beats.is_empty(), "{text}");
    assert!(
        beats[0].contains("_IN_PROGRESS after") && beats[0].contains("no new event for 30 s"),
        "{text}"
    );
    // At most one line per 30 s of silence, not one per poll.
    assert!(beats.len() * 15 <= src.polls, "{text}");
}

/// A change set that pre-deployment validation failed: its validation
/// errors are read with DescribeEvents (through the real SDK, from a
/// recorded answer), one line each; other events are not validation errors.
#[tokio::test]
async fn a_failed_change_sets_validation_errors_are_named() {
    let replay = testkit::replay::Replay::from_fixture(
        "deploy/tests/fixtures/change-sets/describe-events-validation-failed.json",
    );
    let cfn = aws_sdk_cloudformation::Client::new(&replay.sdk_config().await);
    let lines = deploy::change_set::validation_failures(&cfn, "stack-arn", "change-set-arn").await;
    assert_eq!(
        lines,
        vec!["NAME_CONFLICT_VALIDATION BackupVault (AWS::Backup::BackupVault) at /Resources/BackupVault/Properties/BackupVaultName: Resource of type 'AWS::Backup::BackupVault' with identifier 'voice-learning-backups' already exists."]
    );
    let sent = replay.requests("DescribeEvents");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("ChangeSetName=change-set-arn"), "{sent:?}");
    assert!(sent[0].contains("Filters.FailedEvents=true"), "{sent:?}");
}

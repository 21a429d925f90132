//! Live progress from stack events, and what a failure means.
//!
//! A [`StackSource`] gives, per poll, the newest page of DescribeStackEvents
//! and the stack's status; [`watch`] prints each event once (events that
//! existed before the operation are never shown), with the time since the
//! operation started, until the stack reaches a settled status. On a failure
//! it names the first failing resource and its reason (not the "Resource
//! creation cancelled" noise that follows), keeps watching through the
//! rollback, and returns the final status. Events are our own serde types,
//! shaped like the API's JSON, so recorded sequences replay in tests.
//!
//! CloudFormation keeps working whether or not we can reach it, so a poll
//! that fails transiently (throttling, 5xx, timeouts, connection errors: see
//! [`crate::deploy::aws::is_transient`]) is retried with capped exponential
//! backoff, and only a long outage or an error that waiting cannot fix
//! (access denied, validation) stops the watch, with a message that the
//! operation may still be running and how to check it. The clock is a
//! parameter ([`Clock`]) so tests replay outages without waiting.

use crate::deploy::ui::{Colour, Ui};
use anyhow::{anyhow, Result};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackEvent {
    pub event_id: String,
    #[serde(default)]
    pub stack_name: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    /// RFC 3339, as the API's JSON gives it.
    pub timestamp: String,
    pub resource_status: String,
    #[serde(default)]
    pub resource_status_reason: Option<String>,
}

impl StackEvent {
    pub fn from_sdk(e: &aws_sdk_cloudformation::types::StackEvent) -> Self {
        StackEvent {
            event_id: e.event_id().unwrap_or_default().to_string(),
            stack_name: e.stack_name().unwrap_or_default().to_string(),
            logical_resource_id: e.logical_resource_id().unwrap_or_default().to_string(),
            physical_resource_id: e.physical_resource_id().map(str::to_string),
            resource_type: e.resource_type().unwrap_or_default().to_string(),
            timestamp: e
                .timestamp()
                .and_then(|t| t.fmt(Format::DateTime).ok())
                .unwrap_or_default(),
            resource_status: e
                .resource_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            resource_status_reason: e.resource_status_reason().map(str::to_string),
        }
    }

    /// Seconds since the epoch (0 when unparseable).
    pub fn epoch(&self) -> f64 {
        DateTime::from_str(&self.timestamp, Format::DateTime)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }

    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }

    fn is_cancellation(&self) -> bool {
        let r = self
            .resource_status_reason
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        r.contains("cancelled") || r.contains("canceled")
    }
}

/// One poll: the newest events first (as DescribeStackEvents returns them) and the stack status.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Poll {
    #[serde(rename = "DescribeStackEvents")]
    pub events: StackEventsPage,
    #[serde(rename = "DescribeStacks")]
    pub stacks: StacksPage,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackEventsPage {
    #[serde(default)]
    pub stack_events: Vec<StackEvent>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StacksPage {
    #[serde(default)]
    pub stacks: Vec<StackStatusOnly>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackStatusOnly {
    #[serde(default)]
    pub stack_name: String,
    pub stack_status: String,
    #[serde(default)]
    pub stack_status_reason: Option<String>,
}

impl Poll {
    pub fn status(&self) -> &str {
        self.stacks
            .stacks
            .first()
            .map(|s| s.stack_status.as_str())
            .unwrap_or("")
    }
}

/// Where polls come from: CloudFormation, or a recorded sequence in tests.
pub trait StackSource {
    async fn poll(&mut self) -> Result<Poll, PollError>;
    /// `--stack-name … --region …` for the AWS CLI commands the messages suggest.
    fn cli_args(&self) -> String;
}

/// Why a poll failed, and whether waiting may help.
#[derive(Debug)]
pub enum PollError {
    /// Throttling, 5xx, timeouts, connection trouble: ask again later.
    Transient(anyhow::Error),
    /// Access denied, validation, credentials: asking again will not help.
    Fatal(anyhow::Error),
}

impl PollError {
    /// Classifies an SDK error and words it as one sentence.
    pub fn from_sdk<E>(
        e: aws_sdk_cloudformation::error::SdkError<
            E,
            aws_sdk_cloudformation::config::http::HttpResponse,
        >,
        doing: &str,
        target: &crate::deploy::aws::Target,
    ) -> Self
    where
        E: aws_sdk_cloudformation::error::ProvideErrorMetadata
            + aws_smithy_types::retry::ProvideErrorKind
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let transient = crate::deploy::aws::is_transient(&e);
        let err = crate::deploy::aws::explain(e, doing, target);
        if transient {
            PollError::Transient(err)
        } else {
            PollError::Fatal(err)
        }
    }
}

/// How often to poll, how to back off while CloudFormation does not answer,
/// and how long to keep trying.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Between successful polls.
    pub interval: Duration,
    /// The first wait after a failed poll; doubled after each further failure.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// Without a single successful poll for this long, stop watching.
    pub give_up_after: Duration,
}

impl Pacing {
    pub fn new(interval: Duration) -> Self {
        Pacing {
            interval,
            backoff_first: Duration::from_secs(1),
            backoff_max: Duration::from_secs(20),
            give_up_after: Duration::from_secs(600),
        }
    }
}

/// Time for [`watch_with`]: the real one, or a fake that never waits (tests).
pub trait Clock {
    fn now(&self) -> Instant;
    async fn sleep(&mut self, d: Duration);
}

/// The real clock.
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    async fn sleep(&mut self, d: Duration) {
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

/// What the operation was, to judge its final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub fn success_status(self) -> &'static str {
        match self {
            Operation::Create => "CREATE_COMPLETE",
            Operation::Update => "UPDATE_COMPLETE",
            Operation::Delete => "DELETE_COMPLETE",
        }
    }
}

/// A status nothing more will happen to without a new request.
pub fn is_settled(status: &str) -> bool {
    !status.is_empty() && !status.ends_with("_IN_PROGRESS")
}

/// Tracks which events were shown and the first failure.
pub struct Progress {
    seen: HashSet<String>,
    /// Epoch seconds the operation started (elapsed times are relative to it).
    since: f64,
    total: Option<usize>,
    done: BTreeSet<String>,
    pub first_failure: Option<StackEvent>,
    any_failure: Option<StackEvent>,
    /// A new event of the stack itself was seen: the operation has started.
    saw_stack_event: bool,
}

impl Progress {
    /// `existing`: events already there before the operation (never shown).
    pub fn new(existing: &[StackEvent], since: f64, total: Option<usize>) -> Self {
        Progress {
            seen: existing.iter().map(|e| e.event_id.clone()).collect(),
            since,
            total,
            done: BTreeSet::new(),
            first_failure: None,
            any_failure: None,
            saw_stack_event: false,
        }
    }

    /// The new events of one page (newest first), oldest first, each once.
    pub fn new_events(&mut self, page: &[StackEvent]) -> Vec<StackEvent> {
        let mut fresh: Vec<StackEvent> = page
            .iter()
            .filter(|e| !self.seen.contains(&e.event_id))
            .cloned()
            .collect();
        // Oldest first; events in the same millisecond keep their real order
        // (the sort is stable, so undo the page's newest-first order first).
        fresh.reverse();
        fresh.sort_by(|a, b| a.epoch().total_cmp(&b.epoch()));
        for e in &fresh {
            self.seen.insert(e.event_id.clone());
            self.saw_stack_event |= e.is_stack();
            if !e.is_stack()
                && e.resource_status.ends_with("_COMPLETE")
                && !e.resource_status.contains("ROLLBACK")
            {
                self.done.insert(e.logical_resource_id.clone());
            }
            if e.resource_status.ends_with("_FAILED") && !e.is_stack() {
                if self.first_failure.is_none() && !e.is_cancellation() {
                    self.first_failure = Some(e.clone());
                }
                if self.any_failure.is_none() {
                    self.any_failure = Some(e.clone());
                }
            }
        }
        fresh
    }

    /// The root cause: the first failure that is not a cancellation, else the first failure.
    pub fn root_cause(&self) -> Option<&StackEvent> {
        self.first_failure.as_ref().or(self.any_failure.as_ref())
    }

    pub fn render(&self, e: &StackEvent, ui: &Ui) -> String {
        let elapsed = (e.epoch() - self.since).max(0.0);
        let counter = match self.total {
            Some(t) if t > 0 && !e.is_stack() => format!("[{:>2}/{t}] ", self.done.len().min(t)),
            Some(t) if t > 0 => " ".repeat(format!("[{t:>2}/{t}] ").len()),
            _ => String::new(),
        };
        let status = format!("{:<36}", e.resource_status);
        let colour = if e.resource_status.ends_with("_FAILED") {
            Some(Colour::Red)
        } else if e.resource_status.contains("ROLLBACK") {
            Some(Colour::Yellow)
        } else if e.resource_status.ends_with("_COMPLETE") {
            Some(Colour::Green)
        } else {
            None
        };
        let status = colour.map(|c| ui.paint(c, &status)).unwrap_or(status);
        let reason = e
            .resource_status_reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!("  {}", crate::deploy::ui::short(r, 200)))
            .unwrap_or_default();
        format!(
            "  {counter}{:>6.1}s  {status} {:<34} {}{reason}",
            elapsed, e.resource_type, e.logical_resource_id
        )
    }
}

/// The end of a watched operation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub final_status: String,
    pub status_reason: Option<String>,
    pub root_cause: Option<StackEvent>,
    pub success: bool,
}

/// Polls until the stack settles, printing new events as they come.
pub async fn watch<S: StackSource>(
    src: &mut S,
    ui: &mut Ui,
    progress: &mut Progress,
    op: Operation,
    interval: Duration,
) -> Result<Outcome> {
    watch_with(
        src,
        ui,
        progress,
        op,
        Pacing::new(interval),
        &mut TokioClock,
    )
    .await
}

/// [`watch`] with the pacing and the clock given.
pub async fn watch_with<S: StackSource, C: Clock>(
    src: &mut S,
    ui: &mut Ui,
    progress: &mut Progress,
    op: Operation,
    pacing: Pacing,
    clock: &mut C,
) -> Result<Outcome> {
    let mut announced_failure = false;
    let mut polls = 0u32;
    let mut last_ok = clock.now();
    let mut backoff = pacing.backoff_first;
    let mut told_outage = false;
    let mut in_outage = false;
    loop {
        let poll = match src.poll().await {
            Ok(p) => p,
            Err(PollError::Fatal(e)) => {
                return Err(anyhow!(
                    "{e:#}\nStopped watching; the stack operation itself was not stopped and may still be running in CloudFormation. \
                     Check it with `aws cloudformation describe-stacks {args} --query 'Stacks[0].StackStatus'` and deploy again once it has finished.",
                    args = src.cli_args()
                ));
            }
            Err(PollError::Transient(e)) => {
                let silent = clock.now().saturating_duration_since(last_ok);
                if silent >= pacing.give_up_after {
                    return Err(anyhow!(
                        "CloudFormation has not answered for {} minutes (last error: {e:#}). Stopped watching; the stack operation may still be running. \
                         Check it with `aws cloudformation describe-stacks {args} --query 'Stacks[0].StackStatus'` (events: `aws cloudformation describe-stack-events {args}`) \
                         and deploy again once it has finished.",
                        silent.as_secs() / 60,
                        args = src.cli_args()
                    ));
                }
                if !told_outage {
                    told_outage = true;
                    ui.warn(&format!(
                        "could not read the stack's progress ({e:#}).\n  The stack operation is still running in CloudFormation; polling again with backoff. \
                         Watch it yourself with `aws cloudformation describe-stack-events {}`.",
                        src.cli_args()
                    ));
                }
                in_outage = true;
                clock.sleep(backoff).await;
                backoff = (backoff * 2).min(pacing.backoff_max);
                continue;
            }
        };
        last_ok = clock.now();
        backoff = pacing.backoff_first;
        if in_outage {
            in_outage = false;
            ui.line("  (CloudFormation answers again)");
        }
        for e in progress.new_events(&poll.events.stack_events) {
            let l = progress.render(&e, ui);
            ui.line(&l);
        }
        if !announced_failure {
            if let Some(f) = progress.first_failure.clone() {
                announced_failure = true;
                let l = ui.paint(
                    Colour::Red,
                    &format!(
                        "✗ {} ({}) failed: {}",
                        f.logical_resource_id,
                        f.resource_type,
                        f.resource_status_reason
                            .as_deref()
                            .unwrap_or("no reason given")
                    ),
                );
                ui.line(&l);
                if !is_settled(poll.status()) {
                    ui.line("  waiting for CloudFormation to roll back…");
                }
            }
        }
        let status = poll.status().to_string();
        // An empty status means the stack is gone: for a delete, that is success.
        if status.is_empty() && op == Operation::Delete {
            return Ok(Outcome {
                final_status: "DELETE_COMPLETE".into(),
                status_reason: None,
                root_cause: progress.root_cause().cloned(),
                success: true,
            });
        }
        // Right after ExecuteChangeSet the stack may still show its previous
        // settled status: trust a settled status once the operation's own
        // stack events appear (or, for endpoints without events, after a few polls).
        polls += 1;
        let started = progress.saw_stack_event || polls >= 5;
        if is_settled(&status) && status != "REVIEW_IN_PROGRESS" && started {
            let reason = poll
                .stacks
                .stacks
                .first()
                .and_then(|s| s.stack_status_reason.clone());
            return Ok(Outcome {
                success: status == op.success_status(),
                final_status: status,
                status_reason: reason,
                root_cause: progress.root_cause().cloned(),
            });
        }
        clock.sleep(pacing.interval).await;
    }
}

/// What the user should know (and do) about a stack's final status after a failure.
pub fn explain_status(stack_name: &str, status: &str, region: &str) -> String {
    match status {
        "ROLLBACK_COMPLETE" => format!(
            "The create failed and was rolled back: {stack_name} is now ROLLBACK_COMPLETE, which cannot be updated. \
             Fix the cause above and run `cargo xtask deploy` again: it deletes the rolled-back stack first \
             (and offers to remove the empty tables and the key the rollback kept)."
        ),
        "UPDATE_ROLLBACK_COMPLETE" => format!(
            "The update failed and was rolled back: {stack_name} is back to its previous state (UPDATE_ROLLBACK_COMPLETE). \
             Fix the cause above and deploy again."
        ),
        "UPDATE_ROLLBACK_FAILED" => format!(
            "The update failed and so did its rollback: {stack_name} is UPDATE_ROLLBACK_FAILED and cannot be updated until the rollback finishes. \
             Fix what blocked it (often a resource changed or deleted outside CloudFormation), then run\n  \
             aws cloudformation continue-update-rollback --stack-name {stack_name} --region {region}\n\
             (add --resources-to-skip LOGICAL_ID for a resource that cannot be rolled back), wait for UPDATE_ROLLBACK_COMPLETE, and deploy again."
        ),
        "ROLLBACK_FAILED" => format!(
            "The create failed and so did its rollback: {stack_name} is ROLLBACK_FAILED. \
             Delete it with `cargo xtask destroy` (or `aws cloudformation delete-stack --stack-name {stack_name} --region {region}`), then deploy again."
        ),
        "DELETE_FAILED" => format!(
            "Deleting {stack_name} failed (DELETE_FAILED). Fix the cause above (e.g. a non-empty resource), or retain the resource: \
             aws cloudformation delete-stack --stack-name {stack_name} --region {region} --retain-resources LOGICAL_ID"
        ),
        other => format!("{stack_name} ended in {other}."),
    }
}

/// The live source: DescribeStackEvents (newest pages until a known event) + DescribeStacks.
pub struct CfnSource {
    pub cfn: aws_sdk_cloudformation::Client,
    /// The stack id (ARN): still answers after the stack is deleted.
    pub stack_id: String,
    pub target: crate::deploy::aws::Target,
    known: HashSet<String>,
}

impl CfnSource {
    pub fn new(
        cfn: aws_sdk_cloudformation::Client,
        stack_id: &str,
        target: crate::deploy::aws::Target,
    ) -> Self {
        CfnSource {
            cfn,
            stack_id: stack_id.to_string(),
            target,
            known: HashSet::new(),
        }
    }

    /// The events there are now (first page), to mark as already seen.
    pub async fn existing_events(&mut self) -> Result<Vec<StackEvent>> {
        let out = self
            .cfn
            .describe_stack_events()
            .stack_name(&self.stack_id)
            .send()
            .await;
        match out {
            Ok(o) => {
                let ev: Vec<StackEvent> =
                    o.stack_events().iter().map(StackEvent::from_sdk).collect();
                self.known.extend(ev.iter().map(|e| e.event_id.clone()));
                Ok(ev)
            }
            Err(e) if crate::deploy::aws::is_not_found(&e) => Ok(vec![]),
            Err(e) => Err(crate::deploy::aws::explain(
                e,
                "reading stack events",
                &self.target,
            )),
        }
    }
}

impl StackSource for CfnSource {
    fn cli_args(&self) -> String {
        // The stack id, not the name: it still answers once the stack is deleted.
        let mut a = format!(
            "--stack-name {} --region {}",
            self.stack_id, self.target.region
        );
        if let Some(u) = &self.target.endpoint_url {
            a.push_str(&format!(" --endpoint-url {u}"));
        }
        a
    }

    async fn poll(&mut self) -> Result<Poll, PollError> {
        let mut poll = Poll::default();
        let mut token: Option<String> = None;
        // Marked known only once the whole poll succeeded: a poll that fails
        // half-way must not hide its events' pages from the next one.
        let mut fetched: Vec<String> = vec![];
        for _ in 0..5 {
            let r = self
                .cfn
                .describe_stack_events()
                .stack_name(&self.stack_id)
                .set_next_token(token.clone())
                .send()
                .await;
            let page = match r {
                Ok(p) => p,
                Err(e) if crate::deploy::aws::is_not_found(&e) => break,
                Err(e) => return Err(PollError::from_sdk(e, "reading stack events", &self.target)),
            };
            let events: Vec<StackEvent> = page
                .stack_events()
                .iter()
                .map(StackEvent::from_sdk)
                .collect();
            let reached_known = events.iter().any(|e| self.known.contains(&e.event_id));
            fetched.extend(events.iter().map(|e| e.event_id.clone()));
            poll.events.stack_events.extend(events);
            token = page.next_token().map(str::to_string);
            if reached_known || token.is_none() {
                break;
            }
        }
        match self
            .cfn
            .describe_stacks()
            .stack_name(&self.stack_id)
            .send()
            .await
        {
            Ok(o) => {
                if let Some(s) = o.stacks().first() {
                    poll.stacks.stacks.push(StackStatusOnly {
                        stack_name: s.stack_name().unwrap_or_default().to_string(),
                        stack_status: s
                            .stack_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        stack_status_reason: s.stack_status_reason().map(str::to_string),
                    });
                }
            }
            Err(e) if crate::deploy::aws::is_not_found(&e) => {}
            Err(e) => {
                return Err(PollError::from_sdk(
                    e,
                    "reading the stack status",
                    &self.target,
                ))
            }
        }
        self.known.extend(fetched);
        Ok(poll)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A recorded sequence: the events before the operation, then one poll per step.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct Recording {
        pub before: StackEventsPage,
        pub started_at: String,
        pub polls: Vec<Poll>,
    }

    pub struct Replay {
        polls: std::vec::IntoIter<Poll>,
        last: Poll,
    }

    impl StackSource for Replay {
        async fn poll(&mut self) -> Result<Poll, PollError> {
            if let Some(p) = self.polls.next() {
                self.last = p;
            }
            Ok(self.last.clone())
        }
        fn cli_args(&self) -> String {
            "--stack-name S --region eu-west-1".into()
        }
    }

    pub fn load(name: &str) -> (Recording, Replay) {
        let path = format!(
            "{}/tests/fixtures/deploy/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let rec: Recording = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let replay = Replay {
            polls: rec.polls.clone().into_iter(),
            last: Poll::default(),
        };
        (rec, replay)
    }

    fn run(name: &str, op: Operation) -> (Outcome, String) {
        let (rec, mut replay) = load(name);
        let since = DateTime::from_str(&rec.started_at, Format::DateTime)
            .unwrap()
            .as_secs_f64();
        let mut progress = Progress::new(&rec.before.stack_events, since, Some(3));
        let buf = Rc::new(RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = rt
            .block_on(watch(
                &mut replay,
                &mut ui,
                &mut progress,
                op,
                Duration::ZERO,
            ))
            .unwrap();
        let text = String::from_utf8(buf.borrow().clone()).unwrap();
        (outcome, text)
    }

    #[test]
    fn successful_create_shows_each_new_event_once_with_elapsed_time() {
        let (out, text) = run("events-create-success.json", Operation::Create);
        assert!(out.success, "{out:?}");
        assert_eq!(out.final_status, "CREATE_COMPLETE");
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
        assert_eq!(out.final_status, "ROLLBACK_COMPLETE");
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
        assert_eq!(out.final_status, "UPDATE_ROLLBACK_FAILED");
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
        async fn sleep(&mut self, d: Duration) {
            self.elapsed += d;
            if !d.is_zero() {
                self.sleeps.push(d);
            }
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

    fn target() -> crate::deploy::aws::Target {
        crate::deploy::aws::Target {
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
    ) -> (Result<Outcome>, String, FakeClock, usize) {
        let (rec, replay) = load(name);
        let since = DateTime::from_str(&rec.started_at, Format::DateTime)
            .unwrap()
            .as_secs_f64();
        let mut progress = Progress::new(&rec.before.stack_events, since, Some(3));
        let buf = Rc::new(RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
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
            &mut ui,
            &mut progress,
            op,
            Pacing::new(Duration::from_secs(2)),
            &mut clock,
        ));
        let text = String::from_utf8(buf.borrow().clone()).unwrap();
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
        assert_eq!(out.final_status, "ROLLBACK_COMPLETE");
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
            text.contains(
                "aws cloudformation describe-stack-events --stack-name S --region eu-west-1"
            ),
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
        assert_eq!(out.final_status, "CREATE_COMPLETE");
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
            assert!(is_settled(s), "{s}");
        }
        for s in [
            "CREATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "",
        ] {
            assert!(!is_settled(s), "{s}");
        }
    }
}

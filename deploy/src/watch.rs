//! Watching a stack operation: a [`StackSource`] gives, per poll, the
//! newest page of DescribeStackEvents and the stack's status; [`watch`]
//! reports each new event until the stack settles, keeping on through a
//! rollback.
//!
//! CloudFormation keeps working whether or not we can reach it, so a poll
//! that fails transiently (throttling, 5xx, timeouts, connection errors: see
//! [`crate::aws::is_transient`]) is retried with capped exponential
//! backoff, and only a long outage or an error that waiting cannot fix
//! (access denied, validation) stops the watch, with a message that the
//! operation may still be running and how to check it. The clock is a
//! parameter ([`Clock`]) so tests replay outages without waiting.

use crate::aws::{explain, is_not_found, is_transient, Target};
use crate::error::{failed, Error, Result};
use crate::events::{is_settled, Operation, Outcome, Poll, Progress, StackEvent, StackStatusOnly};
use crate::report::{Report, Style, Text};
use aws_sdk_cloudformation::types::StackStatus;
use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

/// Where polls come from: CloudFormation, or a recorded sequence in tests.
pub trait StackSource {
    fn poll(&mut self) -> impl Future<Output = Result<Poll, PollError>>;
    /// `--stack-name … --region …` for the AWS CLI commands the messages suggest.
    fn cli_args(&self) -> String;
}

/// Why a poll failed, and whether waiting may help.
#[derive(Debug)]
pub enum PollError {
    /// Throttling, 5xx, timeouts, connection trouble: ask again later.
    Transient(Error),
    /// Access denied, validation, credentials: asking again will not help.
    Fatal(Error),
}

impl PollError {
    /// Classifies an SDK error and words it as one sentence.
    pub fn from_sdk<E>(
        e: aws_sdk_cloudformation::error::SdkError<
            E,
            aws_sdk_cloudformation::config::http::HttpResponse,
        >,
        doing: &str,
        target: &Target,
    ) -> Self
    where
        E: aws_sdk_cloudformation::error::ProvideErrorMetadata
            + aws_smithy_types::retry::ProvideErrorKind
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let transient = is_transient(&e);
        let err = explain(e, doing, target);
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
    /// Without a new event for this long, say the operation is still running
    /// (a table or a key can take minutes without one).
    pub heartbeat: Duration,
}

impl Pacing {
    pub fn new(interval: Duration) -> Self {
        Pacing {
            interval,
            backoff_first: Duration::from_secs(1),
            backoff_max: Duration::from_secs(20),
            give_up_after: Duration::from_secs(600),
            heartbeat: Duration::from_secs(30),
        }
    }
}

/// Time for [`watch_with`]: the real one, or a fake that never waits (tests).
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()>;
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

/// Polls until the stack settles, printing new events as they come.
pub async fn watch<S: StackSource>(
    src: &mut S,
    report: &mut impl Report,
    progress: &mut Progress,
    op: Operation,
    interval: Duration,
) -> Result<Outcome> {
    watch_with(
        src,
        report,
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
    report: &mut impl Report,
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
    let started_at = clock.now();
    let mut last_news = started_at;
    loop {
        let poll = match src.poll().await {
            Ok(p) => p,
            Err(PollError::Fatal(e)) => {
                return Err(failed!(
                    "{e:#}\nStopped watching; the stack operation itself was not stopped and may still be running in CloudFormation. \
                     Check it with `aws cloudformation describe-stacks {args} --query 'Stacks[0].StackStatus'` and deploy again once it has finished.",
                    args = src.cli_args()
                ));
            }
            Err(PollError::Transient(e)) => {
                let silent = clock.now().saturating_duration_since(last_ok);
                if silent >= pacing.give_up_after {
                    return Err(failed!(
                        "CloudFormation has not answered for {} minutes (last error: {e:#}). Stopped watching; the stack operation may still be running. \
                         Check it with `aws cloudformation describe-stacks {args} --query 'Stacks[0].StackStatus'` (events: `aws cloudformation describe-stack-events {args}`) \
                         and deploy again once it has finished.",
                        silent.as_secs() / 60,
                        args = src.cli_args()
                    ));
                }
                if !told_outage {
                    told_outage = true;
                    report.warn(&format!(
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
            report.say("  (CloudFormation answers again)");
        }
        let fresh = progress.new_events(&poll.events.stack_events);
        if !fresh.is_empty() {
            last_news = clock.now();
        }
        for e in fresh {
            report.line(progress.render(&e));
        }
        if !announced_failure {
            if let Some(f) = progress.first_failure.clone() {
                announced_failure = true;
                report.line(Text::styled(
                    Style::Bad,
                    format!(
                        "✗ {} ({}) failed: {}",
                        f.logical_resource_id,
                        f.resource_type,
                        f.resource_status_reason
                            .as_deref()
                            .unwrap_or("no reason given")
                    ),
                ));
                if !is_settled(&poll.status()) {
                    report.say("  waiting for CloudFormation to roll back…");
                }
            }
        }
        let status = poll.status();
        // An empty status means the stack is gone: for a delete, that is success.
        if status.as_str().is_empty() && op == Operation::Delete {
            return Ok(Outcome {
                final_status: StackStatus::DeleteComplete,
                status_reason: None,
                root_cause: progress.root_cause().cloned(),
                success: true,
            });
        }
        // Right after ExecuteChangeSet the stack may still show its previous
        // settled status: trust a settled status only once the operation's
        // own stack events appear or the stack's change time moved past the
        // one read before it started. A create has no earlier settled status.
        // Only an endpoint that reports neither events nor times (an
        // emulator) is trusted after a few polls.
        polls += 1;
        let changed_at = poll
            .stacks
            .stacks
            .first()
            .and_then(|s| s.changed_at.clone());
        let started = progress.saw_stack_event
            || op == Operation::Create
            || (changed_at.is_some() && changed_at != progress.changed_before)
            || (changed_at.is_none() && progress.changed_before.is_none() && polls >= 5);
        if is_settled(&status) && status != StackStatus::ReviewInProgress && started {
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
        if clock.now().saturating_duration_since(last_news) >= pacing.heartbeat {
            last_news = clock.now();
            report.say(&format!(
                "  … still {} after {} s (no new event for {} s; CloudFormation is working)",
                if status.as_str().is_empty() {
                    "running"
                } else {
                    status.as_str()
                },
                clock.now().saturating_duration_since(started_at).as_secs(),
                pacing.heartbeat.as_secs()
            ));
        }
        clock.sleep(pacing.interval).await;
    }
}

/// The live source: DescribeStackEvents (newest pages until a known event) + DescribeStacks.
pub struct CfnSource {
    pub cfn: aws_sdk_cloudformation::Client,
    /// The stack id (ARN): still answers after the stack is deleted.
    pub stack_id: String,
    pub target: Target,
    known: HashSet<String>,
}

impl CfnSource {
    pub fn new(cfn: aws_sdk_cloudformation::Client, stack_id: &str, target: Target) -> Self {
        CfnSource {
            cfn,
            stack_id: stack_id.to_string(),
            target,
            known: HashSet::new(),
        }
    }

    /// The stack as DescribeStacks gives it; `None` when there is none.
    async fn stack(
        &self,
    ) -> std::result::Result<
        Option<aws_sdk_cloudformation::types::Stack>,
        aws_sdk_cloudformation::error::SdkError<
            aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
            aws_sdk_cloudformation::config::http::HttpResponse,
        >,
    > {
        match self
            .cfn
            .describe_stacks()
            .stack_name(&self.stack_id)
            .send()
            .await
        {
            Ok(o) => Ok(o.stacks().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The stack's `changed_at` now (`None` when there is no stack).
    pub async fn changed_at(&self) -> Result<Option<String>> {
        self.stack()
            .await
            .map(|s| s.as_ref().and_then(changed_at))
            .map_err(|e| explain(e, "reading the stack status", &self.target))
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
            Err(e) if is_not_found(&e) => Ok(vec![]),
            Err(e) => Err(explain(e, "reading stack events", &self.target)),
        }
    }
}

/// `DeletionTime`, else `LastUpdatedTime`, else `CreationTime`, as RFC 3339.
fn changed_at(s: &aws_sdk_cloudformation::types::Stack) -> Option<String> {
    s.deletion_time()
        .or(s.last_updated_time())
        .or(s.creation_time())
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
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
                Err(e) if is_not_found(&e) => break,
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
        match self.stack().await {
            Ok(Some(s)) => {
                poll.stacks.stacks.push(StackStatusOnly {
                    stack_name: s.stack_name().unwrap_or_default().to_string(),
                    stack_status: s
                        .stack_status()
                        .cloned()
                        .unwrap_or_else(|| StackStatus::from("")),
                    stack_status_reason: s.stack_status_reason().map(str::to_string),
                    changed_at: changed_at(&s),
                });
            }
            Ok(None) => {}
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

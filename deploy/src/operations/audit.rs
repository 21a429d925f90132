//! `audit`: the deployment guide's "review CloudTrail logs for unauthorized
//! access" as a command. CloudTrail's LookupEvents (the last 90 days of
//! management events, free; at most 2 requests a second per account and
//! region:
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>)
//! for the stack's key, tables, functions and roles, summarised per
//! principal and action, with what the design says should not happen
//! flagged: a principal other than the stack's roles and AWS services
//! using the key, a key, role, function or table policy or setting changed
//! outside CloudFormation, and bursts of access-denied errors.
//!
//! DynamoDB's item reads and writes are data events, which LookupEvents
//! does not return: the report says so rather than passing them silently.

use crate::aws::{self, explain, Aws};
use crate::error::{failed, Result};
use crate::options::AwsOptions;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde::Serialize;
use serde_json::Value;
use stack::module::ids;
use std::collections::BTreeMap;

/// Access-denied errors by one principal that make a burst.
pub const DENIED_BURST: usize = 5;
/// How far back LookupEvents reaches.
pub const MAX_DAYS: u64 = 90;

/// Key operations that use the key's material.
const KEY_USE: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncrypt",
];

/// Changes to who may do what, or to the data's protection (Lambda's
/// event names carry an API version suffix, hence prefixes).
const CHANGES: &[&str] = &[
    "PutKeyPolicy",
    "ScheduleKeyDeletion",
    "DisableKey",
    "DisableKeyRotation",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "UpdateAssumeRolePolicy",
    "AddPermission",
    "RemovePermission",
    "UpdateFunctionConfiguration",
    "UpdateFunctionCode",
    "UpdateTable",
    "DeleteTable",
    "UpdateContinuousBackups",
    "UpdateTimeToLive",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
];

#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    /// How far back (at most 90 days).
    pub since: std::time::Duration,
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The key used by a principal that is neither a stack role nor an AWS service.
    KeyUsedByOtherPrincipal,
    /// A policy or protection setting changed, not through CloudFormation.
    ChangedOutsideTheStack,
    /// At least [`DENIED_BURST`] access-denied errors by one principal.
    AccessDeniedBurst,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    pub principal: String,
    /// `service:EventName` (for a burst, the first one denied).
    pub action: String,
    pub time: String,
    pub detail: String,
}

/// One principal's calls on the stack's resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalSummary {
    pub principal: String,
    /// `service:EventName` → calls.
    pub actions: BTreeMap<String, usize>,
    pub denied: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub stack: String,
    pub start: String,
    pub end: String,
    pub events: usize,
    pub principals: Vec<PrincipalSummary>,
    pub findings: Vec<Finding>,
    /// What this report cannot see (each a sentence).
    pub not_covered: Vec<String>,
}

/// One CloudTrail event, as far as the audit reads it.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub name: String,
    pub source: String,
    pub time: String,
    /// The event record (`CloudTrailEvent`).
    pub record: Value,
}

/// Who made a call: a role's ARN for its sessions, a user's ARN, or the
/// AWS service that called on its own.
pub fn principal(record: &Value) -> String {
    let id = &record["userIdentity"];
    let s = |v: &Value| v.as_str().map(str::to_string);
    match id["type"].as_str() {
        Some("AssumedRole") => {
            s(&id["sessionContext"]["sessionIssuer"]["arn"]).or_else(|| s(&id["arn"]))
        }
        Some("AWSService") => s(&id["invokedBy"]),
        Some("AWSAccount") => s(&id["accountId"]).map(|a| format!("account {a}")),
        _ => s(&id["arn"]),
    }
    .unwrap_or_else(|| id["type"].as_str().unwrap_or("unknown").to_string())
}

fn denied(record: &Value) -> bool {
    record["errorCode"]
        .as_str()
        .is_some_and(|c| c.contains("AccessDenied") || c.contains("UnauthorizedOperation"))
}

/// The summary and findings of `events` for a stack whose roles are `roles`
/// (ARNs).
pub fn review(events: &[Event], roles: &[String]) -> (Vec<PrincipalSummary>, Vec<Finding>) {
    let mut by: BTreeMap<String, PrincipalSummary> = BTreeMap::new();
    let mut findings = vec![];
    let mut denials: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in events {
        let who = principal(&e.record);
        let service = e.source.trim_end_matches(".amazonaws.com");
        let action = format!("{service}:{}", e.name);
        let entry = by.entry(who.clone()).or_insert_with(|| PrincipalSummary {
            principal: who.clone(),
            actions: BTreeMap::new(),
            denied: 0,
        });
        *entry.actions.entry(action.clone()).or_default() += 1;
        if denied(&e.record) {
            entry.denied += 1;
            denials.entry(who.clone()).or_default().push(e);
        }
        let id = &e.record["userIdentity"];
        let by_service = id["type"] == "AWSService";
        let via = id["invokedBy"].as_str().unwrap_or("");
        if service == "kms"
            && KEY_USE.contains(&e.name.as_str())
            && !by_service
            && !roles.contains(&who)
            && !denied(&e.record)
        {
            findings.push(Finding {
                kind: FindingKind::KeyUsedByOtherPrincipal,
                principal: who.clone(),
                action: action.clone(),
                time: e.time.clone(),
                detail: format!(
                    "{who} used the stack's key{}; only the functions' roles and AWS services on their behalf should (event {})",
                    if via.is_empty() { String::new() } else { format!(" through {via}") },
                    e.id
                ),
            });
        }
        if CHANGES.iter().any(|c| e.name.starts_with(c))
            && via != "cloudformation.amazonaws.com"
            && !denied(&e.record)
        {
            findings.push(Finding {
                kind: FindingKind::ChangedOutsideTheStack,
                principal: who.clone(),
                action: action.clone(),
                time: e.time.clone(),
                detail: format!(
                    "{} by {who}, not through CloudFormation: `cargo xtask diff` shows the drift and `cargo xtask deploy` puts the stack's setting back (event {})",
                    e.name, e.id
                ),
            });
        }
    }
    for (who, list) in denials {
        if list.len() >= DENIED_BURST {
            let first = list
                .iter()
                .min_by(|a, b| a.time.cmp(&b.time))
                .expect("non-empty");
            findings.push(Finding {
                kind: FindingKind::AccessDeniedBurst,
                principal: who.clone(),
                action: format!("{}:{}", first.source.trim_end_matches(".amazonaws.com"), first.name),
                time: first.time.clone(),
                detail: format!(
                    "{} calls by {who} were denied (from {}): a misconfigured client, or someone probing the stack",
                    list.len(),
                    first.time
                ),
            });
        }
    }
    findings.sort_by(|a, b| (a.kind, &a.time).cmp(&(b.kind, &b.time)));
    (by.into_values().collect(), findings)
}

/// The names CloudTrail records the stack's resources under (LookupEvents
/// takes one ResourceName per call).
fn resource_names(
    aws: &Aws,
    resources: &crate::verify::resources::StackResources,
) -> (Vec<String>, Vec<String>) {
    let p = stack::partition::Partition::of(&aws.region).map_or("aws", |p| p.id);
    let arn = |service: &str, rest: &str| {
        format!("arn:{p}:{service}:{}:{}:{rest}", aws.region, aws.account)
    };
    let mut names = vec![];
    let mut roles = vec![];
    if let Some(key) = resources.physical_id(ids::KEY) {
        names.push(arn("kms", &format!("key/{key}")));
    }
    for t in [ids::SESSIONS_TABLE, ids::USER_PROFILES_TABLE] {
        if let Some(name) = resources.physical_id(t) {
            names.push(name.to_string());
            names.push(arn("dynamodb", &format!("table/{name}")));
        }
    }
    for f in [
        ids::SESSION_PERSISTENCE_FUNCTION,
        ids::CONTEXT_MANAGER_FUNCTION,
    ] {
        if let Some(name) = resources.physical_id(f) {
            names.push(name.to_string());
        }
    }
    for r in [
        ids::SESSION_PERSISTENCE_ROLE,
        ids::CONTEXT_MANAGER_ROLE,
        ids::BACKUP_ROLE,
    ] {
        if let Some(name) = resources.physical_id(r) {
            names.push(name.to_string());
            roles.push(format!("arn:{p}:iam::{}:role/{name}", aws.account));
        }
    }
    (names, roles)
}

/// Every event naming one of `names` between `start` and `end` (epoch
/// seconds), each once.
pub async fn lookup(aws: &Aws, names: &[String], start: i64, end: i64) -> Result<Vec<Event>> {
    let ct = crate::record::recorded_client!(aws_sdk_cloudtrail, &aws.conf);
    let mut events: BTreeMap<String, Event> = BTreeMap::new();
    for name in names {
        let attr = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::ResourceName)
            .attribute_value(name)
            .build()
            .map_err(|e| failed!("the CloudTrail lookup: {e}"))?;
        let mut pages = ct
            .lookup_events()
            .lookup_attributes(attr)
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .max_results(50)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                explain(e, "reading CloudTrail events (LookupEvents)", &aws.target())
            })?;
            for e in page.events() {
                let id = e.event_id().unwrap_or_default().to_string();
                let record: Value = e
                    .cloud_trail_event()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or(Value::Null);
                events.entry(id.clone()).or_insert_with(|| Event {
                    id,
                    name: e.event_name().unwrap_or_default().to_string(),
                    source: e.event_source().unwrap_or_default().to_string(),
                    time: e
                        .event_time()
                        .map(|t| crate::logs::rfc3339_ms(t.to_millis().unwrap_or_default()))
                        .unwrap_or_default(),
                    record,
                });
            }
        }
    }
    let mut all: Vec<Event> = events.into_values().collect();
    all.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(all)
}

/// `audit` against `aws`, ending at `now` (epoch seconds).
pub async fn audit_at(
    aws: &Aws,
    stage: Option<&str>,
    span: std::time::Duration,
    now: i64,
) -> Result<Audit> {
    let names = crate::options::names(stage)?;
    if span.as_secs() > MAX_DAYS * 86_400 {
        return Err(failed!(
            "--since reaches further back than CloudTrail's event history ({MAX_DAYS} days): give at most {MAX_DAYS}d, or read older events from a trail's S3 bucket."
        ));
    }
    let cfn = crate::record::recorded_client!(aws_sdk_cloudformation, &aws.conf);
    let resources = crate::verify::resources::read(&cfn, &names.stack)
        .await
        .map_err(|c| failed!("{}: {}", c.name, c.detail))?;
    let (lookups, roles) = resource_names(aws, &resources);
    let start = now - span.as_secs() as i64;
    let events = lookup(aws, &lookups, start, now).await?;
    let (principals, findings) = review(&events, &roles);
    Ok(Audit {
        stack: names.stack,
        start: crate::logs::rfc3339_ms(start * 1000),
        end: crate::logs::rfc3339_ms(now * 1000),
        events: events.len(),
        principals,
        findings,
        not_covered: vec![
            "DynamoDB item reads and writes are CloudTrail data events, which LookupEvents does not return: reading the tables outside the functions shows only in a trail with data events for the two tables (0.10 USD per 100,000 events; see docs/operating.md, \"Auditing access\")".into(),
        ],
    })
}

/// `cargo xtask audit`.
pub async fn run(opts: &AuditOptions) -> Result<Audit> {
    let aws = aws::connect(&opts.aws).await?;
    audit_at(
        &aws,
        opts.stage.as_deref(),
        opts.since,
        crate::events::now_epoch() as i64,
    )
    .await
}

//! Tables: the stack's table (by physical id) has the modelled key schema and
//! index, SSE with the stack's own key, TTL on the modelled attribute, PITR.
//!
//! The comparisons are pure functions of the SDK's types (tested below with
//! recorded responses); [`verify_table`] only fetches.

use super::key::{self, StackKey};
use super::{call_failed, is_access_denied, Check, Outcome};
use aws_sdk_dynamodb::types::{
    ContinuousBackupsDescription, ContinuousBackupsStatus, KeyType as DdbKeyType,
    PointInTimeRecoveryStatus, SseDescription, SseStatus, SseType, TableDescription,
    TimeToLiveDescription, TimeToLiveStatus,
};
use aws_sdk_kms::types::KeyManagerType;
use stack::resources::{KeyType, Properties, Table};

/// The template's tables: (logical id, model).
pub fn modelled(template: &stack::Template) -> impl Iterator<Item = (&str, &Table)> {
    template
        .resources_of_type("AWS::DynamoDB::Table")
        .filter_map(|(id, r)| match &r.properties {
            Properties::Table(t) => Some((id, t)),
            _ => None,
        })
}

/// Every check of one table. `physical_name` is the stack's table.
pub async fn verify_table(
    ddb: &aws_sdk_dynamodb::Client,
    kms: &aws_sdk_kms::Client,
    physical_name: &str,
    model: &Table,
    key: Option<&StackKey>,
) -> Vec<Check> {
    let name = &model.table_name;
    let mut out = vec![];
    let exists = format!("table {name} exists");
    match ddb.describe_table().table_name(physical_name).send().await {
        Ok(d) => match d.table() {
            Some(t) => {
                out.push(Check::ok_if(
                    exists,
                    physical_name == name,
                    if physical_name == name {
                        String::new()
                    } else {
                        format!("the stack's table is {physical_name}, the design names it {name}")
                    },
                ));
                out.push(key_schema_check(name, t, model));
                for gsi in &model.global_secondary_indexes {
                    let found = t
                        .global_secondary_indexes()
                        .iter()
                        .any(|g| g.index_name() == Some(gsi.index_name.as_str()));
                    out.push(Check::ok_if(
                        format!("table {name} index {}", gsi.index_name),
                        found,
                        if found { "" } else { "missing" },
                    ));
                }
                let sse = t.sse_description();
                // Only to word a mismatch ("the AWS managed key"); the
                // verdict never depends on it.
                let manager = match (sse.and_then(|s| s.kms_master_key_arn()), key) {
                    (Some(arn), Some(k)) if !k.matches(arn) => key::manager_of(kms, arn).await,
                    _ => None,
                };
                out.push(sse_check(name, sse, key, manager.as_ref()));
            }
            None => {
                out.push(Check::fail(exists, "DescribeTable returned no table"));
                return out;
            }
        },
        Err(e) if is_access_denied(&e) => {
            // Nothing DescribeTable tells is known; TTL and PITR are other calls.
            let c = call_failed(exists, "dynamodb:DescribeTable", &e);
            for what in ["key schema", "SSE with the stack's key"] {
                out.push(Check::new(
                    format!("table {name} {what}"),
                    Outcome::CannotCheck,
                    "cannot check: dynamodb:DescribeTable denied",
                ));
            }
            out.insert(0, c);
        }
        Err(e) => {
            out.push(call_failed(exists, "dynamodb:DescribeTable", &e));
            return out;
        }
    }

    let attr = &model.time_to_live_specification.attribute_name;
    let ttl_name = format!("table {name} TTL on {attr}");
    match ddb
        .describe_time_to_live()
        .table_name(physical_name)
        .send()
        .await
    {
        Ok(t) => out.push(ttl_check(&ttl_name, t.time_to_live_description(), attr)),
        Err(e) => out.push(call_failed(ttl_name, "dynamodb:DescribeTimeToLive", &e)),
    }

    let pitr_name = format!("table {name} point-in-time recovery");
    match ddb
        .describe_continuous_backups()
        .table_name(physical_name)
        .send()
        .await
    {
        Ok(p) => out.push(pitr_check(&pitr_name, p.continuous_backups_description())),
        Err(e) => out.push(call_failed(
            pitr_name,
            "dynamodb:DescribeContinuousBackups",
            &e,
        )),
    }
    out
}

/// Key schema: the same attributes, HASH and RANGE, in order.
pub fn key_schema_check(name: &str, t: &TableDescription, model: &Table) -> Check {
    let have: Vec<(String, bool)> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type() == &DdbKeyType::Hash,
            )
        })
        .collect();
    let want: Vec<(String, bool)> = model
        .key_schema
        .iter()
        .map(|k| (k.attribute_name.clone(), k.key_type == KeyType::Hash))
        .collect();
    let show = |v: &[(String, bool)]| {
        v.iter()
            .map(|(a, hash)| format!("{a} ({})", if *hash { "HASH" } else { "RANGE" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Check::ok_if(
        format!("table {name} key schema"),
        have == want,
        if have == want {
            show(&have)
        } else {
            format!("{}; the design wants {}", show(&have), show(&want))
        },
    )
}

/// SSE must be ENABLED, type KMS, with the stack's key. No SSEDescription at
/// all means the AWS owned key; an AWS managed (`aws/dynamodb`) or any other
/// key is a FAIL. ENABLING / UPDATING are transitions: pending.
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_SSEDescription.html
pub fn sse_check(
    table: &str,
    sse: Option<&SseDescription>,
    key: Option<&StackKey>,
    table_key_manager: Option<&KeyManagerType>,
) -> Check {
    let name = format!("table {table} SSE with the stack's key");
    let fix = "the table's encryption was changed outside the stack: run `cargo xtask diff`, then redeploy \
               or `aws dynamodb update-table --sse-specification Enabled=true,SSEType=KMS,KMSMasterKeyId=<the stack's key>`";
    let Some(sse) = sse else {
        return Check::fail(
            name,
            format!(
                "no SSEDescription: the table uses the AWS owned key, not the stack's key; {fix}"
            ),
        );
    };
    let arn = sse.kms_master_key_arn().unwrap_or_default();
    match (sse.status(), sse.sse_type()) {
        (Some(SseStatus::Enabled), Some(SseType::Kms)) => {}
        (Some(s @ (SseStatus::Enabling | SseStatus::Updating)), _) => {
            return Check::pending(
                name,
                format!(
                    "SSE is {} (key {arn}): DynamoDB is still applying it",
                    s.as_str()
                ),
            )
        }
        (status, ty) => {
            return Check::fail(
                name,
                format!(
                    "SSE is {} with type {}, the design wants ENABLED with KMS; {fix}",
                    status.map_or("not reported", |s| s.as_str()),
                    ty.map_or("not reported", |t| t.as_str())
                ),
            )
        }
    }
    let Some(key) = key else {
        return Check::fail(
            name,
            format!("{arn}: the stack has no key to compare it with"),
        );
    };
    if arn.is_empty() {
        return Check::fail(name, "SSE with KMS but no KMSMasterKeyArn reported");
    }
    if key.matches(arn) {
        return Check::ok(name, arn);
    }
    let whose = match table_key_manager {
        Some(KeyManagerType::Aws) => "the AWS managed key (aws/dynamodb)",
        Some(KeyManagerType::Customer) => "another customer managed key",
        _ => "another key",
    };
    Check::fail(
        name,
        format!(
            "encrypted with {whose} {arn}, not the stack's key {}; {fix}",
            key.shown()
        ),
    )
}

/// TTL must be ENABLED on the modelled attribute; ENABLING on it is pending
/// (DynamoDB takes up to an hour).
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TimeToLiveDescription.html
pub fn ttl_check(name: &str, d: Option<&TimeToLiveDescription>, want: &str) -> Check {
    let status = d.and_then(|d| d.time_to_live_status());
    let attr = d.and_then(|d| d.attribute_name()).unwrap_or_default();
    match status {
        Some(TimeToLiveStatus::Enabled) if attr == want => Check::ok(name, "ENABLED"),
        Some(TimeToLiveStatus::Enabling) if attr == want => Check::pending(
            name,
            "TTL is ENABLING: DynamoDB can take up to an hour to finish",
        ),
        Some(s @ (TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) => Check::fail(
            name,
            format!(
                "TTL is {} on `{attr}`, the design wants `{want}` (sessions would never expire)",
                s.as_str()
            ),
        ),
        Some(s) => Check::fail(
            name,
            format!(
                "TTL is {}: sessions would never expire; redeploy, or `aws dynamodb update-time-to-live --time-to-live-specification Enabled=true,AttributeName={want}`",
                s.as_str()
            ),
        ),
        None => Check::fail(name, "TTL is not enabled (no status reported)"),
    }
}

/// PITR must be ENABLED. The API reference lists only ENABLED and DISABLED
/// for both statuses; any other value is a state this SDK does not know yet
/// (e.g. a transition while it is being turned on) and is reported as
/// pending rather than guessed either way.
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ContinuousBackupsDescription.html
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PointInTimeRecoveryDescription.html
pub fn pitr_check(name: &str, d: Option<&ContinuousBackupsDescription>) -> Check {
    let Some(d) = d else {
        return Check::fail(name, "no ContinuousBackupsDescription reported");
    };
    let pitr = d.point_in_time_recovery_description();
    match pitr.and_then(|p| p.point_in_time_recovery_status()) {
        Some(PointInTimeRecoveryStatus::Enabled) => Check::ok(
            name,
            match pitr.and_then(|p| p.recovery_period_in_days()) {
                Some(days) => format!("ENABLED, {days} days"),
                None => "ENABLED".into(),
            },
        ),
        Some(PointInTimeRecoveryStatus::Disabled) | None => Check::fail(
            name,
            if d.continuous_backups_status() == &ContinuousBackupsStatus::Disabled {
                "continuous backups and PITR are DISABLED".to_string()
            } else {
                "PITR is DISABLED: redeploy, or `aws dynamodb update-continuous-backups --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`".to_string()
            },
        ),
        Some(other) => Check::pending(name, format!("PITR is {}", other.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::replay::Replay;

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
        let replay = Replay::from_fixture(fixture);
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
            sse.detail.contains("the AWS managed key (aws/dynamodb)")
                && sse.detail.contains(STACK_KEY),
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
}
